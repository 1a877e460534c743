import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { nextVerifyState } from './verify-attempt.js';
import { FailureMemory } from './failure-memory.js';
import { failureBucket, FAILURE_RETENTION_MS, oldestBucket, subjectKeys, type FailureCounts, type FailureSubjects } from '../signals/attempts.js';
import { learnProfile, unlearnProfile, type LearnedRecord, type Observation, type Profile } from '../profile/profile.js';
import type { VerifyOutcome, VerifyResult, ChallengeDelivery, ChallengeRecord, TotpRecord, TrustedDevice } from '../challenge/model.js';
import type { AuditEntry, AuditQuery, DecisionRecord, Store } from './store.js';

type Db = Database.Database;

const AUDIT_CHUNK = 32;
/** Index of the `learned` column in a pending audit row. */
const LEARNED_COLUMN = 10;
type Statement = Database.Statement;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE profiles (user_id TEXT PRIMARY KEY, doc TEXT NOT NULL, updated INTEGER NOT NULL);
   CREATE TABLE audit (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     time INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT, user_id TEXT, ip TEXT,
     action TEXT, score REAL, rules TEXT NOT NULL, rules_version TEXT, detail TEXT,
     -- decisions only: NULL until the login taught the profile, then {"previousLast":...} to unlearn it
     learned TEXT);
   CREATE INDEX audit_time ON audit(time);
   CREATE INDEX audit_user ON audit(user_id, time);
   CREATE INDEX audit_ref ON audit(ref);
   CREATE TABLE rlf_counters (key TEXT PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0, expire INTEGER);
   CREATE INDEX rlf_counters_expire ON rlf_counters(expire);`,
  // Step-up challenges and second factors. No column holds a code, secret or token in clear.
  `CREATE TABLE challenges (
     id TEXT PRIMARY KEY, decision_id TEXT NOT NULL, user_id TEXT NOT NULL, ip TEXT NOT NULL, device_id TEXT,
     channel TEXT NOT NULL, destination TEXT, phone TEXT, email TEXT, provider TEXT, provider_ref TEXT, code_hash TEXT,
     status TEXT NOT NULL, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, sends INTEGER NOT NULL,
     created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, verified_at INTEGER);
   CREATE INDEX challenges_expires ON challenges(expires_at);
   CREATE INDEX challenges_pending ON challenges(status, expires_at);
   CREATE TABLE totp (user_id TEXT PRIMARY KEY, secret_enc TEXT NOT NULL, confirmed INTEGER NOT NULL, last_step INTEGER NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE recovery_codes (user_id TEXT NOT NULL, hash TEXT NOT NULL, created_at INTEGER NOT NULL, used_at INTEGER, PRIMARY KEY (user_id, hash)) WITHOUT ROWID;
   CREATE TABLE trusted_devices (
     id TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL, label TEXT NOT NULL, ip TEXT NOT NULL,
     created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX trusted_devices_user ON trusted_devices(user_id);
   CREATE INDEX trusted_devices_expires ON trusted_devices(expires_at);`,
  // Failed passwords (src/signals/attempts.ts): per subject and 5-minute bucket, and each
  // user's latest failure per address. Kept a day, on the injected clock.
  `CREATE TABLE failures (subject TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (subject, bucket)) WITHOUT ROWID;
   CREATE INDEX failures_bucket ON failures(bucket);
   CREATE TABLE failure_users (ip TEXT NOT NULL, user_id TEXT NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (ip, user_id)) WITHOUT ROWID;
   CREATE INDEX failure_users_last ON failure_users(last);
   CREATE INDEX failure_users_ip_last ON failure_users(ip, last);`,
];

/** Old failure data is deleted once every this many failures. */
const FAILURE_PRUNE_EVERY = 1024;

export interface SqliteStoreOptions {
  /** A file path, or ":memory:" for tests and rule tests. */
  path: string;
  /** Parsed profiles kept in memory (one process owns a data directory). */
  profileCache?: number;
  /**
   * Throwaway state (replay, rule tests): no crash safety (rollback journal in memory, no
   * fsync, an exclusive lock), and a write does not wait for its commit; transactions commit
   * every EPHEMERAL_BATCH writes instead of every event-loop turn. Changed profiles are
   * written when they leave the cache, and failure counts stay in memory (FailureMemory).
   */
  ephemeral?: boolean;
}

const EPHEMERAL_BATCH = 5000;

/**
 * The embedded default store: one SQLite file in WAL mode through better-sqlite3, owned by
 * one process. Statements are prepared once; each operation that changes a profile is one
 * transaction (a savepoint).
 *
 * Writes are group-committed: the first write of an event-loop turn opens a transaction,
 * every write of that turn joins it, and it commits at the end of the turn. A write's
 * promise resolves only after its commit, so whatever a caller acknowledges is on disk,
 * while a burst of concurrent logins shares one commit instead of paying one each.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly db: Db;
  readonly limiter: (name: string, durationSec: number) => RateLimiterAbstract;
  private readonly stmt: Record<string, Statement>;
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly learnTx: (userId: string, decisionId: string, obs: Observation) => boolean;
  private readonly unlearnTx: (decisionId: string) => boolean;
  private readonly profiles: LRUCache<string, Profile>;
  private batch: { done: Promise<void>; resolve: () => void; reject: (e: unknown) => void; writes: number } | null = null;
  private readonly ephemeral: boolean;
  private failuresSincePrune = 0;
  /** Failure counts are read from memory; a day of failures fits (src/store/failure-memory.ts). */
  private failures = new FailureMemory();
  /** Ephemeral stores: users whose cached profile is newer than the database's. */
  private readonly dirty = new Set<string>();
  private readonly pendingAudit: unknown[][] = [];
  /** Decision rows of the open batch by decision id, so learning can mark them before they are inserted. */
  private readonly pendingDecisions = new Map<string, unknown[]>();
  private readonly auditInserts = new Map<number, Statement>();
  private readonly attemptTx: (id: string, result: VerifyResult, now: number) => VerifyOutcome | null;
  private readonly replaceRecoveryTx: (userId: string, hashes: string[], now: number) => void;
  private readonly expireTx: (now: number, limit: number) => ChallengeRecord[];

  constructor(opts: SqliteStoreOptions) {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    if (opts.ephemeral) {
      this.db.pragma('journal_mode = MEMORY');
      this.db.pragma('synchronous = OFF');
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('cache_size = -65536');
    } else {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('cache_size = -65536'); // 64 MiB: profiles and the recent audit pages stay in memory
    }
    this.db.pragma('busy_timeout = 5000');
    this.ephemeral = opts.ephemeral ?? false;
    migrate(this.db);
    // An ephemeral store writes profiles back only when they leave the cache (or at close):
    // a replay learns millions of logins, most of them users it will see again soon.
    this.profiles = new LRUCache<string, Profile>({
      max: opts.profileCache ?? (opts.ephemeral ? 100_000 : 20_000),
      ...(opts.ephemeral ? { dispose: (p: Profile, userId: string, reason: string) => reason !== 'set' && this.writeBack(userId, p) } : {}),
    });

    const db = this.db;
    this.stmt = {
      getProfile: db.prepare('SELECT doc FROM profiles WHERE user_id = ?'),
      putProfile: db.prepare('INSERT INTO profiles (user_id, doc, updated) VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET doc = excluded.doc, updated = excluded.updated'),
      markLearned: db.prepare("UPDATE audit SET learned = ? WHERE ref = ? AND kind = 'decision' AND learned IS NULL"),
      getLearned: db.prepare("SELECT user_id, detail, learned FROM audit WHERE ref = ? AND kind = 'decision'"),
      clearLearned: db.prepare("UPDATE audit SET learned = NULL WHERE ref = ? AND kind = 'decision'"),
      getDecision: db.prepare("SELECT * FROM audit WHERE ref = ? AND kind = 'decision' ORDER BY seq LIMIT 1"),
      pruneAudit: db.prepare('DELETE FROM audit WHERE time < ?'),
      pruneChallenges: db.prepare('DELETE FROM challenges WHERE expires_at < ?'),
      pruneTrusted: db.prepare('DELETE FROM trusted_devices WHERE expires_at < ?'),
      putChallenge: db.prepare(
        `INSERT INTO challenges (id, decision_id, user_id, ip, device_id, channel, destination, phone, email, provider, provider_ref, code_hash,
           status, attempts, max_attempts, sends, created_at, expires_at, verified_at)
         VALUES (@id, @decisionId, @userId, @ip, @deviceId, @channel, @destination, @phone, @email, @provider, @providerRef, @codeHash,
           @status, @attempts, @maxAttempts, @sends, @createdAt, @expiresAt, @verifiedAt)`,
      ),
      getChallenge: db.prepare('SELECT * FROM challenges WHERE id = ?'),
      setChallengeState: db.prepare('UPDATE challenges SET status = ?, attempts = ?, verified_at = ? WHERE id = ?'),
      setDelivery: db.prepare(
        `UPDATE challenges SET channel = @channel, destination = @destination, provider = @provider, provider_ref = @providerRef,
           code_hash = @codeHash, expires_at = @expiresAt, sends = sends + 1 WHERE id = @id AND status = 'pending'`,
      ),
      dueChallenges: db.prepare("SELECT * FROM challenges WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?"),
      expireChallenge: db.prepare("UPDATE challenges SET status = 'expired' WHERE id = ? AND status = 'pending'"),
      getTotp: db.prepare('SELECT * FROM totp WHERE user_id = ?'),
      putTotp: db.prepare(
        `INSERT INTO totp (user_id, secret_enc, confirmed, last_step, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(user_id) DO UPDATE SET secret_enc = excluded.secret_enc, confirmed = excluded.confirmed, last_step = excluded.last_step, created_at = excluded.created_at`,
      ),
      delTotp: db.prepare('DELETE FROM totp WHERE user_id = ?'),
      useTotpStep: db.prepare('UPDATE totp SET last_step = ? WHERE user_id = ? AND last_step < ?'),
      resealTotp: db.prepare('UPDATE totp SET secret_enc = ? WHERE user_id = ? AND secret_enc = ?'),
      delRecovery: db.prepare('DELETE FROM recovery_codes WHERE user_id = ?'),
      putRecovery: db.prepare('INSERT OR IGNORE INTO recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)'),
      useRecovery: db.prepare('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL'),
      putTrusted: db.prepare('INSERT INTO trusted_devices (id, user_id, device_id, label, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      listTrusted: db.prepare('SELECT * FROM trusted_devices WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC'),
      revokeTrusted: db.prepare('DELETE FROM trusted_devices WHERE user_id = ? AND id = ?'),
      revokeAllTrusted: db.prepare('DELETE FROM trusted_devices WHERE user_id = ?'),
      addFailure: db.prepare('INSERT INTO failures (subject, bucket, count) VALUES (?, ?, 1) ON CONFLICT(subject, bucket) DO UPDATE SET count = count + 1'),
      addFailureUser: db.prepare('INSERT INTO failure_users (ip, user_id, last) VALUES (?, ?, ?) ON CONFLICT(ip, user_id) DO UPDATE SET last = max(last, excluded.last)'),
      allFailures: db.prepare('SELECT subject, bucket, count FROM failures'),
      allFailureUsers: db.prepare('SELECT ip, user_id, last FROM failure_users'),
      pruneFailures: db.prepare('DELETE FROM failures WHERE bucket < ?'),
      pruneFailureUsers: db.prepare('DELETE FROM failure_users WHERE last < ?'),
    };
    this.attemptTx = db.transaction((id: string, result: VerifyResult, now: number) => this.attempt(id, result, now));
    this.expireTx = db.transaction((now: number, limit: number) =>
      (this.stmt.dueChallenges!.all(now, limit) as ChallengeRow[]).filter((r) => this.stmt.expireChallenge!.run(r.id).changes === 1).map((r) => challengeFromRow({ ...r, status: 'expired' })),
    );
    this.replaceRecoveryTx = db.transaction((userId: string, hashes: string[], now: number) => {
      this.stmt.delRecovery!.run(userId);
      for (const h of hashes) this.stmt.putRecovery!.run(userId, h, now);
    });

    // Both run inside the batch transaction (see write()), which makes each of them atomic.
    // What a decision taught is marked on its own audit row: no second write per login.
    this.learnTx = (userId: string, decisionId: string, obs: Observation) => {
      const current = this.readProfile(userId);
      const mark = JSON.stringify({ previousLast: current?.last ?? null });
      const pending = this.pendingDecisions.get(decisionId);
      if (pending) {
        if (pending[LEARNED_COLUMN] !== null) return false;
        pending[LEARNED_COLUMN] = mark;
      } else if (this.stmt.markLearned!.run(mark, decisionId).changes === 0 && this.stmt.getLearned!.get(decisionId)) {
        return false; // that decision already taught the profile
      }
      // (No decision row at all: a login taught directly, by Engine.teach. It cannot be unlearned.)
      this.putProfile(userId, learnProfile(current, obs), obs.time);
      return true;
    };
    this.unlearnTx = (decisionId: string) => {
      this.flushAudit();
      const row = this.stmt.getLearned!.get(decisionId) as { user_id: string; detail: string; learned: string | null } | undefined;
      if (!row || row.learned === null) return false;
      const current = this.readProfile(row.user_id);
      const { observation } = JSON.parse(row.detail) as { observation: Observation };
      const { previousLast } = JSON.parse(row.learned) as Pick<LearnedRecord, 'previousLast'>;
      if (current) this.putProfile(row.user_id, unlearnProfile(current, { observation, previousLast }), current.lastSeen);
      this.stmt.clearLearned!.run(decisionId);
      return true;
    };

    // rate-limiter-flexible prepares its SQL on every call; hand it a client that prepares once.
    const cached = new Map<string, Statement>();
    const client = {
      prepare: (sql: string) => {
        let s = cached.get(sql);
        if (!s) cached.set(sql, (s = db.prepare(sql)));
        return s;
      },
      // A limiter's count joins the current batch: its promise resolves once committed.
      // (Its "transaction" is one upsert statement, atomic on its own, so it runs as is.)
      transaction:
        <A extends unknown[], R>(fn: (...args: A) => R) =>
        (...args: A) =>
          this.write(() => fn(...args)),
    };
    this.restoreFailures();

    this.limiter = (name, durationSec) => {
      const key = `${name}:${durationSec}`;
      let l = this.limiters.get(key);
      if (!l) {
        l = new RateLimiterSQLite({
          storeClient: client,
          storeType: 'better-sqlite3',
          tableName: 'rlf_counters',
          tableCreated: true,
          keyPrefix: name,
          points: Number.MAX_SAFE_INTEGER,
          duration: durationSec,
        });
        this.limiters.set(key, l);
      }
      return l;
    };
  }

  /**
   * Runs `fn` (synchronous SQL) inside the current batch transaction, opening one if needed;
   * the promise settles when the batch commits (or fails to).
   */
  private write<T>(fn: () => T): Promise<T> {
    if (!this.batch) {
      this.db.exec('BEGIN');
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.batch = { done, resolve, reject, writes: 0 };
      done.catch(() => {}); // ephemeral writers do not wait on it; a failure still reaches fail()'s caller
      setImmediate(() => this.commit());
    }
    let result: T;
    try {
      result = fn();
    } catch (e) {
      // A statement failed halfway through an operation: undo the whole batch rather than keep half of it.
      this.fail(e);
      throw e;
    }
    if (!this.ephemeral) return this.batch.done.then(() => result);
    if (++this.batch.writes >= EPHEMERAL_BATCH) this.commit();
    return Promise.resolve(result);
  }

  /** What the failure tables hold (at most a day of failures) is what the counts start from. */
  private restoreFailures(): void {
    this.failures = new FailureMemory();
    for (const r of this.stmt.allFailures!.iterate() as Iterable<{ subject: string; bucket: number; count: number }>) this.failures.restoreBucket(r.subject, r.bucket, r.count);
    for (const r of this.stmt.allFailureUsers!.iterate() as Iterable<{ ip: string; user_id: string; last: number }>) this.failures.restoreUser(r.ip, r.user_id, r.last);
  }

  private fail(e: unknown): void {
    const batch = this.batch;
    this.batch = null;
    this.pendingAudit.length = 0;
    this.pendingDecisions.clear();
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.profiles.clear(); // it may hold profiles that were never committed
    if (!this.ephemeral) this.restoreFailures(); // and the counts, failures that were never committed
    batch?.reject(e);
  }

  private commit(): void {
    const batch = this.batch;
    if (!batch) return;
    try {
      this.flushAudit();
      this.db.exec('COMMIT');
      this.batch = null;
      batch.resolve();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Audit rows of a batch go in with multi-row INSERTs: one statement per AUDIT_CHUNK rows. */
  private flushAudit(): void {
    const rows = this.pendingAudit;
    let i = 0;
    for (; i + AUDIT_CHUNK <= rows.length; i += AUDIT_CHUNK) this.auditInsert(AUDIT_CHUNK).run(rows.slice(i, i + AUDIT_CHUNK).flat());
    if (i < rows.length) this.auditInsert(rows.length - i).run(rows.slice(i).flat());
    rows.length = 0;
    this.pendingDecisions.clear();
  }

  private auditInsert(n: number): Statement {
    let st = this.auditInserts.get(n);
    if (!st) {
      st = this.db.prepare(`INSERT INTO audit (time, kind, ref, user_id, ip, action, score, rules, rules_version, detail, learned) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
      this.auditInserts.set(n, st);
    }
    return st;
  }

  private readProfile(userId: string): Profile | null {
    const hit = this.profiles.get(userId);
    if (hit) return hit;
    const row = this.stmt.getProfile!.get(userId) as { doc: string } | undefined;
    if (!row) return null;
    const p = JSON.parse(row.doc) as Profile;
    this.profiles.set(userId, p);
    return p;
  }

  private putProfile(userId: string, p: Profile, time: number): void {
    if (this.ephemeral) this.dirty.add(userId);
    else this.stmt.putProfile!.run(userId, JSON.stringify(p), time);
    this.profiles.set(userId, p);
  }

  /** Ephemeral stores: a changed profile reaches the database when it leaves the cache. */
  private writeBack(userId: string, p: Profile): void {
    if (!this.dirty.delete(userId) || !this.db.open) return;
    this.stmt.putProfile!.run(userId, JSON.stringify(p), p.lastSeen);
  }

  /** The returned profile is shared with the cache: callers must not modify it. */
  /**
   * Counted in memory (FailureMemory) and, unless the store is ephemeral, written through to
   * the failure tables in the same batch, so the count is durable before it is acknowledged.
   */
  async addFailure(s: FailureSubjects, now: number): Promise<FailureCounts> {
    if (this.ephemeral) return this.failures.add(s, now);
    return this.write(() => {
      const k = subjectKeys(s);
      const bucket = failureBucket(now);
      this.stmt.addFailure!.run(k.user, bucket);
      this.stmt.addFailure!.run(k.ip, bucket);
      if (k.device) this.stmt.addFailure!.run(k.device, bucket);
      this.stmt.addFailureUser!.run(s.ip, s.userId, now);
      if (++this.failuresSincePrune >= FAILURE_PRUNE_EVERY) {
        this.failuresSincePrune = 0;
        this.stmt.pruneFailures!.run(oldestBucket(now));
        this.stmt.pruneFailureUsers!.run(now - FAILURE_RETENTION_MS);
      }
      return this.failures.add(s, now);
    });
  }

  async failureCounts(s: FailureSubjects, now: number): Promise<FailureCounts> {
    return this.failures.counts(s, now);
  }

  async getProfile(userId: string): Promise<Profile | null> {
    return this.readProfile(userId);
  }

  async learn(userId: string, decisionId: string, observation: Observation): Promise<boolean> {
    return this.write(() => this.learnTx(userId, decisionId, observation));
  }

  async unlearn(decisionId: string): Promise<boolean> {
    return this.write(() => this.unlearnTx(decisionId));
  }

  async saveDecision(r: DecisionRecord): Promise<void> {
    return this.write(() => this.writeAudit({
      time: r.time,
      kind: 'decision',
      ref: r.id,
      userId: r.userId,
      ip: r.ip,
      action: r.action,
      score: r.score,
      rules: r.reasons.map((x) => x.rule),
      rulesVersion: r.rulesVersion,
      detail: { requestAction: r.requestAction, reasons: r.reasons, shadow: r.shadow, observation: r.observation },
    }));
  }

  async getDecision(id: string): Promise<DecisionRecord | null> {
    this.flushAudit(); // rows of the open batch are visible to this connection once inserted
    const row = this.stmt.getDecision!.get(id) as AuditRow | undefined;
    if (!row) return null;
    const detail = JSON.parse(row.detail ?? '{}') as { requestAction: string; reasons: DecisionRecord['reasons']; shadow: string[]; observation: Observation };
    return {
      id,
      time: row.time,
      userId: row.user_id ?? '',
      ip: row.ip ?? '',
      requestAction: detail.requestAction,
      action: row.action as DecisionRecord['action'],
      score: row.score ?? 0,
      reasons: detail.reasons,
      shadow: detail.shadow,
      rulesVersion: row.rules_version ?? '',
      observation: detail.observation,
    };
  }

  async audit(e: AuditEntry): Promise<void> {
    return this.write(() => this.writeAudit(e));
  }

  private writeAudit(e: AuditEntry): void {
    const row = [e.time, e.kind, e.ref, e.userId, e.ip, e.action, e.score, JSON.stringify(e.rules), e.rulesVersion, e.detail ? JSON.stringify(e.detail) : null, null];
    this.pendingAudit.push(row);
    if (e.kind === 'decision' && e.ref) this.pendingDecisions.set(e.ref, row);
  }

  async queryAudit(q: AuditQuery): Promise<AuditEntry[]> {
    this.flushAudit();
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.userId !== undefined) (where.push('user_id = ?'), args.push(q.userId));
    if (q.kind !== undefined) (where.push('kind = ?'), args.push(q.kind));
    if (q.ref !== undefined) (where.push('ref = ?'), args.push(q.ref));
    if (q.since !== undefined) (where.push('time >= ?'), args.push(q.since));
    if (q.until !== undefined) (where.push('time < ?'), args.push(q.until));
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, seq DESC LIMIT ?`;
    args.push(Math.min(Math.max(q.limit ?? 100, 1), 1000));
    return (this.db.prepare(sql).all(...args) as AuditRow[]).map(fromRow);
  }

  async prune(before: number): Promise<number> {
    return this.write(() => {
      this.flushAudit();
      return this.stmt.pruneAudit!.run(before).changes + this.stmt.pruneChallenges!.run(before).changes + this.stmt.pruneTrusted!.run(before).changes;
    });
  }

  // Challenge state. Every change joins the current batch (write()), so it is committed
  // before the caller answers; each is one statement or one transaction, hence atomic.

  async createChallenge(c: ChallengeRecord): Promise<void> {
    await this.write(() => this.stmt.putChallenge!.run(c));
  }

  async getChallenge(id: string): Promise<ChallengeRecord | null> {
    const row = this.stmt.getChallenge!.get(id) as ChallengeRow | undefined;
    return row ? challengeFromRow(row) : null;
  }

  async recordVerifyAttempt(id: string, result: VerifyResult, now: number): Promise<VerifyOutcome | null> {
    return this.write(() => this.attemptTx(id, result, now));
  }

  /** Runs inside attemptTx: read, decide the next state, write; SQLite serializes writers. */
  private attempt(id: string, result: VerifyResult, now: number): VerifyOutcome | null {
    const row = this.stmt.getChallenge!.get(id) as ChallengeRow | undefined;
    if (!row) return null;
    const c = challengeFromRow(row);
    const next = nextVerifyState(c, result, now);
    if (next.status !== c.status || next.attempts !== c.attempts) this.stmt.setChallengeState!.run(next.status, next.attempts, next.verifiedAt, id);
    return next.outcome;
  }

  async recordDelivery(id: string, d: ChallengeDelivery): Promise<boolean> {
    return this.write(() => this.stmt.setDelivery!.run({ id, ...d }).changes === 1);
  }

  async expireChallenges(now: number, limit: number): Promise<ChallengeRecord[]> {
    return this.write(() => this.expireTx(now, limit));
  }

  async getTotp(userId: string): Promise<TotpRecord | null> {
    const row = this.stmt.getTotp!.get(userId) as { user_id: string; secret_enc: string; confirmed: number; last_step: number; created_at: number } | undefined;
    return row ? { userId: row.user_id, secretEnc: row.secret_enc, confirmed: row.confirmed === 1, lastStep: row.last_step, createdAt: row.created_at } : null;
  }

  async putTotp(r: TotpRecord): Promise<void> {
    await this.write(() => this.stmt.putTotp!.run(r.userId, r.secretEnc, r.confirmed ? 1 : 0, r.lastStep, r.createdAt));
  }

  async deleteTotp(userId: string): Promise<boolean> {
    return this.write(() => this.stmt.delTotp!.run(userId).changes === 1);
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return this.write(() => this.stmt.useTotpStep!.run(step, userId, step).changes === 1);
  }

  async resealTotp(userId: string, from: string, to: string): Promise<boolean> {
    return this.write(() => this.stmt.resealTotp!.run(to, userId, from).changes === 1);
  }

  async replaceRecoveryCodes(userId: string, hashes: string[], now: number): Promise<void> {
    await this.write(() => this.replaceRecoveryTx(userId, hashes, now));
  }

  async useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean> {
    return this.write(() => this.stmt.useRecovery!.run(now, userId, hash).changes === 1);
  }

  async addTrustedDevice(d: TrustedDevice): Promise<void> {
    await this.write(() => this.stmt.putTrusted!.run(d.id, d.userId, d.deviceId, d.label, d.ip, d.createdAt, d.expiresAt));
  }

  async listTrustedDevices(userId: string, now: number): Promise<TrustedDevice[]> {
    const rows = this.stmt.listTrusted!.all(userId, now) as { id: string; user_id: string; device_id: string; label: string; ip: string; created_at: number; expires_at: number }[];
    return rows.map((r) => ({ id: r.id, userId: r.user_id, deviceId: r.device_id, label: r.label, ip: r.ip, createdAt: r.created_at, expiresAt: r.expires_at }));
  }

  async revokeTrustedDevices(userId: string, id?: string): Promise<number> {
    return this.write(() => (id === undefined ? this.stmt.revokeAllTrusted!.run(userId) : this.stmt.revokeTrusted!.run(userId, id)).changes);
  }

  async close(): Promise<void> {
    if (this.db.open) for (const userId of [...this.dirty]) this.writeBack(userId, this.profiles.peek(userId)!);
    this.commit();
    if (this.db.open) this.db.close();
  }
}

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

interface ChallengeRow {
  id: string;
  decision_id: string;
  user_id: string;
  ip: string;
  device_id: string | null;
  channel: ChallengeRecord['channel'];
  destination: string | null;
  phone: string | null;
  email: string | null;
  provider: string | null;
  provider_ref: string | null;
  code_hash: string | null;
  status: ChallengeRecord['status'];
  attempts: number;
  max_attempts: number;
  sends: number;
  created_at: number;
  expires_at: number;
  verified_at: number | null;
}

function challengeFromRow(r: ChallengeRow): ChallengeRecord {
  return {
    id: r.id,
    decisionId: r.decision_id,
    userId: r.user_id,
    ip: r.ip,
    deviceId: r.device_id,
    channel: r.channel,
    destination: r.destination,
    phone: r.phone,
    email: r.email,
    provider: r.provider,
    providerRef: r.provider_ref,
    codeHash: r.code_hash,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    sends: r.sends,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    verifiedAt: r.verified_at,
  };
}

function fromRow(r: AuditRow): AuditEntry {
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

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) throw new Error(`database schema version ${version} is newer than this riskgate (${MIGRATIONS.length})`);
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}
