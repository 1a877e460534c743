import { decisionEntry, decisionOf, type AuditEntry, type AuditLog, type AuditQuery, type DecisionLog, type DecisionRecord } from '../ports.js';
import { jsonb, pgValue, type PgDb } from './db.js';
import type { DayPartitions } from './partitions.js';

/** Rows per INSERT at most (11 arrays of this many values). */
const MAX_BATCH = 1000;

/** An audit entry as it is written: with the Redis stream entry it came from, when it came from one. */
export interface AuditRow {
  entry: string | null;
  e: AuditEntry;
}

/** An audit entry as it is read, with what orders it among entries of the same millisecond. */
export interface StoredEntry extends AuditEntry {
  seq: number;
  entry: string | null;
}

interface Row {
  seq: number;
  entry: string | null;
  time: Date;
  kind: string;
  ref: string | null;
  user_id: string | null;
  ip: string | null;
  action: string | null;
  score: number | null;
  rules: string[];
  rules_version: string | null;
  detail: Record<string, unknown> | null;
}

const COLUMNS = 'seq, entry, time, kind, ref, user_id, ip, action, score, rules, rules_version, detail';

/**
 * The audit trail in PostgreSQL (the `audit` table, by day: partitions.ts), shared by every
 * instance. Rows go in by batches: one INSERT … SELECT FROM unnest(column arrays) per batch,
 * a single prepared statement whatever the batch's size. An entry drained from a Redis stream
 * carries its entry id, and inserting it again (a drain repeated after a crash) does nothing.
 */
export class PgAuditTable {
  private readonly stmt;
  /** Entries waiting for the next batch, with their callers. */
  private waiting: { e: AuditEntry; resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** The batches being written, settled once nothing waits. */
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: PgDb,
    private readonly partitions: DayPartitions,
  ) {
    this.stmt = db.prepare('audit', {
      insert: `INSERT INTO audit (entry, time, kind, ref, user_id, ip, action, score, rules, rules_version, detail)
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::jsonb[], $10::text[], $11::jsonb[])
         ON CONFLICT (entry, time) WHERE entry IS NOT NULL DO NOTHING`,
      decision: `SELECT ${COLUMNS} FROM audit WHERE ref = $1 AND kind = 'decision' ORDER BY seq LIMIT 1`,
    });
  }

  /**
   * Appends an entry with the next batch: entries appended while a batch is being written go
   * together in the one after it (group commit). Resolves once its batch is committed.
   */
  append(e: AuditEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ e, resolve, reject });
      this.flushing ??= new Promise<void>((done) => setImmediate(() => void this.flush().then(done)));
    });
  }

  /** Resolves once every entry appended so far is written (or has failed). */
  async idle(): Promise<void> {
    await this.flushing;
  }

  /** Writes rows in one statement (per MAX_BATCH), their day partitions made first if need be. */
  async insert(rows: readonly AuditRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += MAX_BATCH) {
      const part = rows.slice(i, i + MAX_BATCH);
      const cols: unknown[][] = Array.from({ length: 11 }, () => new Array<unknown>(part.length));
      part.forEach(({ entry, e }, j) => {
        cols[0]![j] = entry;
        cols[1]![j] = new Date(e.time);
        cols[2]![j] = e.kind;
        cols[3]![j] = e.ref;
        cols[4]![j] = e.userId;
        cols[5]![j] = e.ip;
        cols[6]![j] = e.action;
        cols[7]![j] = e.score;
        cols[8]![j] = jsonb(e.rules);
        cols[9]![j] = e.rulesVersion;
        cols[10]![j] = e.detail === null ? null : jsonb(e.detail);
      });
      await this.partitions.insertInto('audit', part.map((r) => r.e.time), () => this.stmt.insert(...cols));
    }
  }

  /** Newest first (time, then the order they were written in); at most `limit` (100 by default, 1 to 1000). */
  async query(q: AuditQuery): Promise<StoredEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(pgValue(v))}`;
    if (q.userId !== undefined) where.push(`user_id = ${arg(q.userId)}`);
    if (q.kind !== undefined) where.push(`kind = ${arg(q.kind)}`);
    if (q.ref !== undefined) where.push(`ref = ${arg(q.ref)}`);
    if (q.since !== undefined) where.push(`time >= ${arg(new Date(q.since))}`);
    if (q.until !== undefined) where.push(`time < ${arg(new Date(q.until))}`);
    const text = `SELECT ${COLUMNS} FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, seq DESC LIMIT ${arg(auditLimit(q))}`;
    // Unnamed: planned with its values, so a time range reads only its days' partitions.
    const { rows } = await this.db.pool.query<Row>({ text, values: args });
    return rows.map(entryFrom);
  }

  async decision(id: string): Promise<DecisionRecord | null> {
    const { rows } = await this.stmt.decision<Row>(id);
    return rows[0] ? decisionOf(entryFrom(rows[0])) : null;
  }

  /** Writes what is waiting, batch after batch, until nothing is. */
  private async flush(): Promise<void> {
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      try {
        await this.insert(batch.map(({ e }) => ({ entry: null, e })));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.flushing = null;
  }
}

/** The number of entries an audit query answers: `limit`, 100 by default, within 1 to 1000. */
export function auditLimit(q: AuditQuery): number {
  return Math.min(Math.max(q.limit ?? 100, 1), 1000);
}

function entryFrom(r: Row): StoredEntry {
  return {
    seq: r.seq,
    entry: r.entry,
    time: r.time.getTime(),
    kind: r.kind,
    ref: r.ref,
    userId: r.user_id,
    ip: r.ip,
    action: r.action,
    score: r.score,
    rules: r.rules,
    rulesVersion: r.rules_version,
    detail: r.detail,
  };
}

/** The audit trail of the PostgreSQL store. */
export class PgAuditLog implements AuditLog {
  constructor(private readonly table: PgAuditTable) {}

  append(e: AuditEntry): Promise<void> {
    return this.table.append(e);
  }

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    return (await this.table.query(q)).map(({ seq: _seq, entry: _entry, ...e }) => e);
  }
}

/** Decisions are audit rows (kind "decision", the record in `detail`): saving one is writing its entry, in the next batch. */
export class PgDecisionLog implements DecisionLog {
  constructor(private readonly table: PgAuditTable) {}

  save(r: DecisionRecord): Promise<void> {
    return this.table.append(decisionEntry(r));
  }

  get(id: string): Promise<DecisionRecord | null> {
    return this.table.decision(id);
  }
}
