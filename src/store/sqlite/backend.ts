import { readsOf, type Backend, type LimitCounters } from '../ports.js';
import { AuditTable, SqliteAuditLog, SqliteDecisionLog } from './audit.js';
import { SqliteChallengeState } from './challenges.js';
import { SqliteDb, type SqliteDbOptions } from './db.js';
import { SqliteFailures } from './failures.js';
import { SqliteIdempotency } from './idempotency.js';
import { sqliteLimits } from './limits.js';
import { SqlitePasskeys } from './passkeys.js';
import { profileRedo, SqliteProfiles } from './profiles.js';

export interface SqliteBackendOptions extends SqliteDbOptions {
  /** Parsed profiles kept in memory (one process owns a data directory). */
  profileCache?: number | undefined;
}

/**
 * The embedded default store: one SQLite file (SqliteDb: WAL, group commit) that every port
 * shares. Ephemeral (replay, rule tests): changed profiles are written when they leave the
 * cache, and failure counts stay in memory.
 */
export class SqliteBackend implements Backend {
  readonly kind = 'sqlite';
  readonly profiles: SqliteProfiles;
  readonly decisions: SqliteDecisionLog;
  readonly audit: SqliteAuditLog;
  readonly failures: SqliteFailures;
  readonly logins = readsOf(this);
  readonly limits: LimitCounters;
  readonly challenges: SqliteChallengeState;
  readonly passkeys: SqlitePasskeys;
  readonly idempotency: SqliteIdempotency;
  private readonly sql: SqliteDb;
  private readonly table: AuditTable;

  constructor(opts: SqliteBackendOptions) {
    this.sql = new SqliteDb({ ...opts, redo: profileRedo() });
    this.table = new AuditTable(this.sql);
    this.profiles = new SqliteProfiles(this.sql, this.table, opts.profileCache ?? (opts.ephemeral ? 100_000 : 20_000));
    this.decisions = new SqliteDecisionLog(this.sql, this.table);
    this.audit = new SqliteAuditLog(this.sql, this.table);
    this.failures = new SqliteFailures(this.sql);
    this.limits = sqliteLimits(this.sql);
    this.challenges = new SqliteChallengeState(this.sql);
    this.passkeys = new SqlitePasskeys(this.sql);
    this.idempotency = new SqliteIdempotency(this.sql);
  }

  /** The database itself, for tests that look at what is stored. */
  get db(): SqliteDb['db'] {
    return this.sql.db;
  }

  /** Commits the tables and empties the journal now rather than within 200 ms (tests of the journal). */
  checkpoint(): void {
    this.sql.checkpoint();
  }

  async prune(before: number): Promise<number> {
    return this.sql.write(() => this.table.prune(before) + this.challenges.prune(before) + this.passkeys.prune(before));
  }

  async close(): Promise<void> {
    this.profiles.flush();
    this.sql.close();
  }
}
