import { readsOf, type Backend, type LimitCounters } from '../ports.js';
import { PgAuditLog, PgAuditTable, PgDecisionLog } from './audit.js';
import { PgChallengeState } from './challenges.js';
import { PgDb, type PgDbOptions } from './db.js';
import { PgFailures } from './failures.js';
import { PgIdempotency } from './idempotency.js';
import { pgLimits } from './limits.js';
import { PgPasskeys } from './passkeys.js';
import { DayPartitions } from './partitions.js';
import { PgProfiles } from './profiles.js';

/**
 * PostgreSQL as the whole store (DATABASE_URL without REDIS_URL): every port in one database
 * that several instances share, each change one atomic statement (docs/postgres.md says which
 * and why). Opening it connects and migrates (schema.ts); the coming days' partitions are made
 * by prune(), which the server runs at start and hourly.
 */
export class PgBackend implements Backend {
  readonly kind = 'postgres';
  readonly profiles: PgProfiles;
  readonly decisions: PgDecisionLog;
  readonly audit: PgAuditLog;
  readonly failures: PgFailures;
  readonly logins = readsOf(this);
  readonly limits: LimitCounters;
  readonly challenges: PgChallengeState;
  readonly passkeys: PgPasskeys;
  readonly idempotency: PgIdempotency;
  private readonly table: PgAuditTable;

  private constructor(
    readonly db: PgDb,
    private readonly partitions: DayPartitions,
  ) {
    this.table = new PgAuditTable(db, partitions);
    this.profiles = new PgProfiles(db, partitions);
    this.decisions = new PgDecisionLog(this.table);
    this.audit = new PgAuditLog(this.table);
    this.failures = new PgFailures(db);
    this.limits = pgLimits(db);
    this.challenges = new PgChallengeState(db);
    this.passkeys = new PgPasskeys(db);
    this.idempotency = new PgIdempotency(db);
  }

  /** Connects and migrates; a setting that cannot work is a ConfigError with one line (db.ts). */
  static async open(o: PgDbOptions): Promise<PgBackend> {
    const db = await PgDb.open(o);
    return new PgBackend(db, await DayPartitions.load(db));
  }

  /** For /healthz. */
  health(timeoutMs: number): Promise<{ ok: boolean; postgres: string }> {
    return this.db.health(timeoutMs);
  }

  /** Drops the day partitions of the audit trail and learned marks older than `before` (whole days only), expired challenges and passkey registrations; makes the coming days' partitions. */
  async prune(before: number): Promise<number> {
    await this.partitions.ahead(Date.now());
    return (await this.partitions.dropBefore(before)) + (await this.challenges.prune(before)) + (await this.passkeys.prune(before));
  }

  async close(): Promise<void> {
    await this.table.idle();
    await this.db.close();
  }
}
