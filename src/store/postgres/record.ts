import type { LocalTrail } from '../redis/backend.js';
import { PgAuditLog, PgAuditTable } from './audit.js';
import { PgDb, type PgDbOptions } from './db.js';
import { DayPartitions } from './partitions.js';

/**
 * The durable record beside Redis (REDIS_URL and DATABASE_URL): the audit trail, decisions
 * included, in PostgreSQL, shared by every instance, while Redis keeps the hot state.
 */
export class PgRecord implements LocalTrail {
  readonly audit: PgAuditLog;
  private readonly table: PgAuditTable;

  private constructor(
    readonly db: PgDb,
    private readonly partitions: DayPartitions,
  ) {
    this.table = new PgAuditTable(db, partitions);
    this.audit = new PgAuditLog(this.table);
  }

  static async open(o: PgDbOptions): Promise<PgRecord> {
    const db = await PgDb.open(o);
    return new PgRecord(db, await DayPartitions.load(db));
  }

  /** For /healthz. */
  health(timeoutMs: number): Promise<{ ok: boolean; postgres: string }> {
    return this.db.health(timeoutMs);
  }

  /** Drops the audit trail's day partitions older than `before`; makes the coming days'. */
  async prune(before: number): Promise<number> {
    await this.partitions.ahead(Date.now());
    return this.partitions.dropBefore(before);
  }

  async close(): Promise<void> {
    await this.table.idle();
    await this.db.close();
  }
}
