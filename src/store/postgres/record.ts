import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChainableCommander } from 'ioredis';
import type { AuditEntry, AuditLog, AuditQuery, DecisionRecord } from '../ports.js';
import type { LocalTrail } from '../redis/backend.js';
import type { RedisContext } from '../redis/keys.js';
import { auditLimit, PgAuditTable, type AuditRow, type StoredEntry } from './audit.js';
import { PgDb, type PgDbOptions } from './db.js';
import { DayPartitions } from './partitions.js';

/** The consumer group every instance drains the stream in. */
const GROUP = 'riskgate';
/** Entries moved into PostgreSQL per round at most. */
const BATCH = 500;
/** Rounds run this often while there is little to move (at once again after a full batch). */
const DRAIN_EVERY_MS = 200;
/**
 * An entry read but not acknowledged for this long belongs to an instance that died between
 * reading and writing it (a round takes milliseconds): any instance claims it.
 */
const CLAIM_IDLE_MS = 30_000;
/** A consumer with nothing pending and idle this long is an instance gone: its name is removed. */
const CONSUMER_GONE_MS = 3_600_000;
/** Rounds retention drains at most before it drops partitions (a backlog beyond waits for the next hour). */
const PRUNE_DRAIN_ROUNDS = 20;
/** Entries still in the stream that an audit query reads at most (newest first). */
const PENDING_SCAN = 10_000;

type StreamEntry = [id: string, fields: string[]];

/**
 * The durable record beside Redis (REDIS_URL and DATABASE_URL): the audit trail, decisions
 * included, in PostgreSQL, shared by every instance, while Redis keeps the hot state.
 *
 * An entry is acknowledged once it is in a Redis stream (`rg:audit`), written in the same
 * MULTI as what it records (a decision and its entry: one round trip), so the request never
 * waits for PostgreSQL. Every instance drains the stream in one consumer group: it reads a
 * batch, writes it with one multi-row INSERT, then acknowledges and deletes it. A batch read
 * by an instance that dies before acknowledging stays pending in the group; after
 * CLAIM_IDLE_MS any instance claims it (XAUTOCLAIM) and writes it again, which the entry's id
 * makes harmless (ON CONFLICT DO NOTHING). What was acknowledged therefore reaches PostgreSQL
 * as long as Redis keeps it (run Redis with persistence for that: docs/postgres.md).
 *
 * Reads see entries not drained yet too: a query merges the stream's entries with the table's.
 */
export class PgRecord {
  readonly table: PgAuditTable;

  private constructor(
    private readonly db: PgDb,
    private readonly partitions: DayPartitions,
  ) {
    this.table = new PgAuditTable(db, partitions);
  }

  static async open(o: PgDbOptions): Promise<PgRecord> {
    const db = await PgDb.open(o);
    return new PgRecord(db, await DayPartitions.load(db));
  }

  /** The trail on `r`'s connection: what RedisBackend keeps as its `local`. */
  beside(r: RedisContext, o: TrailOptions = {}): StreamTrail {
    return new StreamTrail(r, this, o);
  }

  health(timeoutMs: number): Promise<{ ok: boolean; postgres: string }> {
    return this.db.health(timeoutMs);
  }

  /** Drops the day partitions older than `before`; makes the coming days'. */
  async prune(before: number): Promise<number> {
    await this.partitions.ahead(Date.now());
    return this.partitions.dropBefore(before);
  }

  async close(): Promise<void> {
    await this.table.idle();
    await this.db.close();
  }
}

export interface TrailOptions {
  /** How often a round runs while there is little to move; null: only when drain() is called (tests). */
  drainEveryMs?: number | null;
}

/** The audit trail as RedisBackend sees it: appended to the stream, read from both, drained in the background. */
export class StreamTrail implements LocalTrail {
  readonly audit: AuditLog;
  private readonly key: string;
  /** This instance's name in the group: unique per process, so a restarted instance's leftovers are claimed like a dead one's. */
  private readonly consumer = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /** Entries this instance read and has not written yet (a round failed): retried first. */
  private unsaved = new Map<string, AuditEntry | null>();
  private claimCursor = '0-0';
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<unknown> = Promise.resolve();
  private draining: Promise<unknown> = Promise.resolve();
  private stopped = false;

  private readonly every: number | null;

  constructor(
    private readonly r: RedisContext,
    private readonly record: PgRecord,
    o: TrailOptions,
  ) {
    this.key = r.key('audit');
    this.audit = { append: (e) => this.append(e), query: (q) => this.query(q) };
    this.every = o.drainEveryMs === undefined ? DRAIN_EVERY_MS : o.drainEveryMs;
    this.schedule(0);
  }

  addDecision(tx: ChainableCommander, entry: AuditEntry): void {
    tx.xadd(this.key, '*', 'e', JSON.stringify(entry));
  }

  decision(id: string): Promise<DecisionRecord | null> {
    return this.record.table.decision(id);
  }

  /**
   * Moves up to BATCH entries into PostgreSQL: this instance's unsaved ones, entries others
   * left pending longer than `claimIdleMs`, then new ones. Answers how many it moved.
   */
  drain(claimIdleMs = CLAIM_IDLE_MS): Promise<number> {
    // One at a time: a drain called while the timer's is moving a batch waits for it, so what it
    // answers (0: nothing left) is not said while that batch is still on its way.
    const next = this.draining.then(() => this.drainOnce(claimIdleMs));
    this.draining = next.catch(() => 0);
    return next;
  }

  private async drainOnce(claimIdleMs: number): Promise<number> {
    const { client } = this.r;
    const batch = new Map(this.unsaved);
    try {
      await this.read(batch, claimIdleMs);
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('NOGROUP'))) throw e;
      // A new key prefix, or a Redis that restarted empty: no group yet. From the stream's start, so nothing added before is missed.
      await client.xgroup('CREATE', this.key, GROUP, '0', 'MKSTREAM').catch(() => undefined);
      await this.read(batch, claimIdleMs);
    }
    if (!batch.size) return 0;
    this.unsaved = batch;
    const rows: AuditRow[] = [];
    for (const [entry, e] of batch) if (e) rows.push({ entry, e });
    await this.record.table.insert(rows);
    const ids = [...batch.keys()];
    await client.multi().xack(this.key, GROUP, ...ids).xdel(this.key, ...ids).exec();
    this.unsaved = new Map();
    return ids.length;
  }

  /** Adds to `batch` the entries others left pending longer than `claimIdleMs`, then new ones, up to BATCH. */
  private async read(batch: Map<string, AuditEntry | null>, claimIdleMs: number): Promise<void> {
    const { client } = this.r;
    const [cursor, claimed] = (await client.xautoclaim(this.key, GROUP, this.consumer, claimIdleMs, this.claimCursor, 'COUNT', BATCH)) as [string, (StreamEntry | null)[]];
    this.claimCursor = cursor;
    // Redis 6.2 answers nil for a pending entry deleted meanwhile (7.0 leaves it out).
    for (const e of claimed) if (e) batch.set(e[0], entryOf(e[1]));
    if (batch.size >= BATCH) return;
    const read = (await client.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', BATCH - batch.size, 'STREAMS', this.key, '>')) as [string, StreamEntry[]][] | null;
    for (const [id, fields] of read?.[0]?.[1] ?? []) batch.set(id, entryOf(fields));
  }

  /** For /healthz: PostgreSQL's state, and how many entries wait in the stream (when Redis answers). */
  async health(timeoutMs: number): Promise<{ ok: boolean; postgres: string; auditBacklog?: number }> {
    const [h, backlog] = await Promise.all([this.record.health(timeoutMs), this.r.client.xlen(this.key).catch(() => undefined)]);
    return backlog === undefined ? h : { ...h, auditBacklog: backlog };
  }

  /**
   * Drains what waits (so that retention sees it), then drops the day partitions older than
   * `before`. An old entry another instance is writing at that moment lands in a partition made
   * again for it, which the next hour's retention drops.
   */
  async prune(before: number): Promise<number> {
    await this.round;
    try {
      for (let rounds = 0; rounds < PRUNE_DRAIN_ROUNDS && (await this.drain()) >= BATCH; rounds++);
    } catch {
      // Redis is down: what waits is drained once it is back, and dropped by a later retention.
    }
    await this.forgetGoneConsumers().catch(() => undefined);
    return this.record.prune(before);
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round;
    // What is left is drained by the other instances (or the next start) anyway; this only makes it sooner.
    if (this.r.client.status === 'ready') await this.drain().catch(() => undefined);
    await this.record.close();
  }

  /**
   * Adds to the stream, acknowledged once Redis has it. With Redis down, the entry is written
   * to PostgreSQL directly, so what riskgate does in its fail mode is still audited.
   */
  private async append(e: AuditEntry): Promise<void> {
    try {
      await this.r.client.xadd(this.key, '*', 'e', JSON.stringify(e));
    } catch (redisDown) {
      await this.record.table.append(e).catch(() => Promise.reject(redisDown));
    }
  }

  /**
   * PostgreSQL's entries and the stream's not yet drained, newest first; an entry in both
   * (drained, not yet deleted) once. The stream is read first: an entry drained after that read
   * is in PostgreSQL before it leaves the stream, so the query that follows finds it (read
   * together, a drain between the two reads could hide an entry from both).
   */
  private async query(q: AuditQuery): Promise<AuditEntry[]> {
    const waiting = await this.waiting(q).catch((): StoredEntry[] => []);
    const stored = await this.record.table.query(q);
    const drained = new Set(stored.map((e) => e.entry));
    const merged = [...waiting.filter((e) => !drained.has(e.entry)), ...stored].sort((x, y) => y.time - x.time);
    return merged.slice(0, auditLimit(q)).map(({ seq: _seq, entry: _entry, ...e }) => e);
  }

  private async waiting(q: AuditQuery): Promise<StoredEntry[]> {
    const raw = (await this.r.client.xrevrange(this.key, '+', '-', 'COUNT', PENDING_SCAN)) as StreamEntry[];
    const out: StoredEntry[] = [];
    for (const [entry, fields] of raw) {
      const e = entryOf(fields);
      if (e && matches(e, q)) out.push({ ...e, seq: 0, entry });
    }
    return out;
  }

  private schedule(delayMs: number): void {
    const every = this.every;
    if (this.stopped || every === null) return;
    this.timer = setTimeout(() => {
      this.round = this.drain().then(
        (moved) => this.schedule(moved >= BATCH ? 0 : every),
        // Redis or PostgreSQL is down: the entries wait in the stream (/healthz shows how many).
        () => this.schedule(every),
      );
    }, delayMs);
    this.timer.unref();
  }

  /** Every instance start is a new consumer: those with nothing pending that have been idle for an hour are gone. */
  private async forgetGoneConsumers(): Promise<void> {
    const consumers = (await this.r.client.xinfo('CONSUMERS', this.key, GROUP)) as (string | number)[][];
    for (const flat of consumers) {
      const info = new Map<string, string | number>();
      for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]!);
      const name = String(info.get('name'));
      if (name !== this.consumer && Number(info.get('pending')) === 0 && Number(info.get('idle')) > CONSUMER_GONE_MS) await this.r.client.xgroup('DELCONSUMER', this.key, GROUP, name);
    }
  }
}

/** A stream entry's audit entry; null for one that is not (it is dropped). */
function entryOf(fields: string[]): AuditEntry | null {
  const i = fields.indexOf('e');
  if (i < 0 || fields[i + 1] === undefined) return null;
  try {
    return JSON.parse(fields[i + 1]!) as AuditEntry;
  } catch {
    return null;
  }
}

function matches(e: AuditEntry, q: AuditQuery): boolean {
  return (
    (q.userId === undefined || e.userId === q.userId) &&
    (q.kind === undefined || e.kind === q.kind) &&
    (q.ref === undefined || e.ref === q.ref) &&
    (q.since === undefined || e.time >= q.since) &&
    (q.until === undefined || e.time < q.until)
  );
}
