import type { Observation } from '../../profile/profile.js';
import { decisionEntry, decisionOf, type AuditEntry, type AuditLog, type AuditQuery, type DecisionLog, type DecisionRecord } from '../ports.js';
import type { SqliteDb, Statement } from './db.js';

/** Audit rows of a batch go in with multi-row INSERTs of up to this many rows. */
const AUDIT_CHUNK = 32;
/** Index of the `learned` column in a pending audit row. */
const LEARNED_COLUMN = 10;

type Row = unknown[];

interface AuditRow {
  seq: number;
  time: number;
  kind: string;
  ref: string | null;
  user_id: string | null;
  ip: string | null;
  action: string | null;
  score: number | null;
  rules: string;
  rules_version: string | null;
  detail: string | null;
}

/** What a decision's row keeps in `detail` (decisionEntry), for the decision log and for unlearning. */
type DecisionDetail = { requestAction: string; reasons: DecisionRecord['reasons']; shadow: string[]; observation: Observation };

/** What a decision taught, as unlearn needs it: its login and the last login it displaced. */
export interface LearnedMark {
  userId: string;
  observation: Observation;
  /** JSON of what learning displaced (profile.ts: LearnedRecord without its observation). */
  mark: string;
}

/**
 * The audit table, which is also where SQLite keeps its decisions: a decision is its audit
 * row (kind "decision"), and what it taught the profile is marked on that row (`learned`), so
 * a decided login costs one insert. This file is the only one that knows.
 *
 * Rows of the open batch are held back and inserted together just before it commits; reads
 * insert them first, since rows of the open batch are visible to this connection once inserted.
 */
export class AuditTable {
  private readonly pending: Row[] = [];
  /** Decision rows of the open batch by decision id, so learning can mark them before they are inserted. */
  private readonly pendingDecisions = new Map<string, Row>();
  private readonly inserts = new Map<number, Statement>();
  private readonly stmt;
  /**
   * Whether the table may hold a decision. Without one (replay and rule tests keep no audit
   * trail), there is nothing to mark, and learning costs no UPDATE and SELECT per login.
   */
  private mayHoldDecisions: boolean;

  constructor(private readonly sql: SqliteDb) {
    this.stmt = sql.prepare({
      markLearned: "UPDATE audit SET learned = ? WHERE ref = ? AND kind = 'decision' AND learned IS NULL",
      getLearned: "SELECT user_id, detail, learned FROM audit WHERE ref = ? AND kind = 'decision'",
      clearLearned: "UPDATE audit SET learned = NULL WHERE ref = ? AND kind = 'decision'",
      getDecision: "SELECT * FROM audit WHERE ref = ? AND kind = 'decision' ORDER BY seq LIMIT 1",
      prune: 'DELETE FROM audit WHERE time < ?',
    });
    this.mayHoldDecisions = sql.db.prepare("SELECT 1 FROM audit WHERE kind = 'decision' LIMIT 1").get() !== undefined;
    sql.onCommit(() => this.flush());
    sql.onRollback(() => {
      this.pending.length = 0;
      this.pendingDecisions.clear();
    });
  }

  /** Adds an entry to the open batch (call inside SqliteDb.write). */
  push(e: AuditEntry, decision: boolean): void {
    const row = [e.time, e.kind, e.ref, e.userId, e.ip, e.action, e.score, JSON.stringify(e.rules), e.rulesVersion, e.detail ? JSON.stringify(e.detail) : null, null];
    this.pending.push(row);
    if (decision) this.mayHoldDecisions = true;
    if (decision && e.ref) this.pendingDecisions.set(e.ref, row);
  }

  /**
   * Marks what the decision taught on its row: "marked", or "taught" when it had already
   * taught, or "none" when there is no such decision (a login taught directly, by
   * Engine.teach; it cannot be unlearned). Call inside SqliteDb.write.
   */
  markLearned(decisionId: string, mark: string): 'marked' | 'taught' | 'none' {
    const pending = this.pendingDecisions.get(decisionId);
    if (pending) {
      if (pending[LEARNED_COLUMN] !== null) return 'taught';
      pending[LEARNED_COLUMN] = mark;
      return 'marked';
    }
    if (!this.mayHoldDecisions) return 'none';
    if (this.stmt.markLearned.run(mark, decisionId).changes === 1) return 'marked';
    return this.stmt.getLearned.get(decisionId) ? 'taught' : 'none';
  }

  /** What the decision taught, or null when it taught nothing (or was unlearned). */
  learned(decisionId: string): LearnedMark | null {
    this.flush();
    const row = this.stmt.getLearned.get(decisionId) as { user_id: string; detail: string; learned: string | null } | undefined;
    if (!row || row.learned === null) return null;
    const { observation } = JSON.parse(row.detail) as DecisionDetail;
    return { userId: row.user_id, observation, mark: row.learned };
  }

  clearLearned(decisionId: string): void {
    this.stmt.clearLearned.run(decisionId);
  }

  decision(id: string): DecisionRecord | null {
    this.flush();
    const row = this.stmt.getDecision.get(id) as AuditRow | undefined;
    return row ? decisionOf(entryFrom(row)) : null;
  }

  query(q: AuditQuery): AuditEntry[] {
    this.flush();
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.userId !== undefined) (where.push('user_id = ?'), args.push(q.userId));
    if (q.kind !== undefined) (where.push('kind = ?'), args.push(q.kind));
    if (q.ref !== undefined) (where.push('ref = ?'), args.push(q.ref));
    if (q.since !== undefined) (where.push('time >= ?'), args.push(q.since));
    if (q.until !== undefined) (where.push('time < ?'), args.push(q.until));
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, seq DESC LIMIT ?`;
    args.push(Math.min(Math.max(q.limit ?? 100, 1), 1000));
    return (this.sql.db.prepare(sql).all(...args) as AuditRow[]).map(entryFrom);
  }

  /** Deletes entries (decisions included) older than `before`; call inside SqliteDb.write. */
  prune(before: number): number {
    this.flush();
    return this.stmt.prune.run(before).changes;
  }

  /** Inserts the held-back rows: one statement per AUDIT_CHUNK rows. */
  private flush(): void {
    const rows = this.pending;
    let i = 0;
    for (; i + AUDIT_CHUNK <= rows.length; i += AUDIT_CHUNK) this.insert(AUDIT_CHUNK).run(rows.slice(i, i + AUDIT_CHUNK).flat());
    if (i < rows.length) this.insert(rows.length - i).run(rows.slice(i).flat());
    rows.length = 0;
    this.pendingDecisions.clear();
  }

  private insert(n: number): Statement {
    let st = this.inserts.get(n);
    if (!st) {
      st = this.sql.db.prepare(`INSERT INTO audit (time, kind, ref, user_id, ip, action, score, rules, rules_version, detail, learned) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
      this.inserts.set(n, st);
    }
    return st;
  }
}

function entryFrom(r: AuditRow): AuditEntry {
  return {
    time: r.time,
    kind: r.kind,
    ref: r.ref,
    userId: r.user_id,
    ip: r.ip,
    action: r.action,
    score: r.score,
    rules: JSON.parse(r.rules) as string[],
    rulesVersion: r.rules_version,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
  };
}

export class SqliteAuditLog implements AuditLog {
  constructor(
    private readonly sql: SqliteDb,
    private readonly table: AuditTable,
  ) {}

  async append(e: AuditEntry): Promise<void> {
    return this.sql.write(() => this.table.push(e, false));
  }

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    return this.table.query(q);
  }
}

/** Decisions are audit rows here (AuditTable): saving one is writing its entry. */
export class SqliteDecisionLog implements DecisionLog {
  constructor(
    private readonly sql: SqliteDb,
    private readonly table: AuditTable,
  ) {}

  async save(r: DecisionRecord): Promise<void> {
    return this.sql.write(() => this.table.push(decisionEntry(r), true));
  }

  async get(id: string): Promise<DecisionRecord | null> {
    return this.table.decision(id);
  }
}
