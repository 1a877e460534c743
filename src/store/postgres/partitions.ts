import type { PgDb } from './db.js';
import { sqlState } from './db.js';
import { SCHEMA_LOCK } from './schema.js';

const DAY_MS = 86_400_000;
/** Partitions are made this many days ahead, so a login never waits for one to be created. */
export const DAYS_AHEAD = 7;
/** Creating or dropping a partition locks its parent table briefly; past this wait it gives up until the next try. */
const LOCK_TIMEOUT = '2s';
/** What an insert into a range-partitioned table answers when no partition holds the row. */
const NO_PARTITION = '23514';

/** The tables kept by day (schema.ts): their rows go when their day is older than the retention. */
export type DayTable = 'audit' | 'learned';
const TABLES: readonly DayTable[] = ['audit', 'learned'];

const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
const partitionName = (table: DayTable, day: number) => `${table}_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
const bound = (day: number) => `'${new Date(day * DAY_MS).toISOString()}'`;

/**
 * The day partitions of the audit trail and of the learned marks (native range partitioning
 * on `time`, one partition per UTC day, named audit_pYYYYMMDD). Partitions are created ahead
 * (DAYS_AHEAD, on each maintenance round), and on demand for a row outside them (an injected
 * clock, a late entry); retention drops whole partitions, never DELETEs rows. Creating and
 * dropping run under the schema lock, so instances doing it at once do not collide.
 */
export class DayPartitions {
  /** Days each table is known to have a partition for. */
  private readonly known = new Map<DayTable, Set<number>>(TABLES.map((t) => [t, new Set()]));
  private readonly creating = new Map<string, Promise<void>>();

  private constructor(private readonly db: PgDb) {}

  /** The partitions of `db` as they are now. */
  static async load(db: PgDb): Promise<DayPartitions> {
    const p = new DayPartitions(db);
    await p.refresh();
    return p;
  }

  /** Runs `insert` (rows of `table` at `times`) once their partitions exist; a partition dropped or missing meanwhile is made, and the insert runs again. */
  async insertInto<T>(table: DayTable, times: Iterable<number>, insert: () => Promise<T>): Promise<T> {
    const days = new Set<number>();
    for (const t of times) days.add(dayOf(t));
    await this.ensure(table, days);
    try {
      return await insert();
    } catch (e) {
      if (sqlState(e) !== NO_PARTITION) throw e;
      await this.refresh();
      await this.ensure(table, days);
      return insert();
    }
  }

  /** Loads which partitions exist. */
  async refresh(): Promise<void> {
    const { rows } = await this.db.pool.query<{ parent: DayTable; name: string }>(
      `SELECT p.relname AS parent, c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE i.inhparent IN ('audit'::regclass, 'learned'::regclass)`,
    );
    for (const t of TABLES) this.known.get(t)!.clear();
    for (const r of rows) {
      const day = dayFromName(r.name);
      if (day !== null) this.known.get(r.parent)?.add(day);
    }
  }

  /** Creates the partitions from today to DAYS_AHEAD days on (`now`: the wall clock; a row outside them gets its own on demand). */
  async ahead(now: number): Promise<void> {
    const days = new Set<number>();
    for (let d = 0; d <= DAYS_AHEAD; d++) days.add(dayOf(now) + d);
    for (const t of TABLES) await this.ensure(t, days);
  }

  /**
   * Drops every partition whose whole day is older than `before`, and answers how many rows
   * went with them (counted first: a count of a partition is cheap next to deleting it row by row).
   */
  async dropBefore(before: number): Promise<number> {
    await this.refresh();
    let rows = 0;
    for (const table of TABLES) {
      const known = this.known.get(table)!;
      for (const day of [...known].sort((x, y) => x - y)) {
        if ((day + 1) * DAY_MS > before) break;
        const name = partitionName(table, day);
        rows += await this.db.transaction(async (q) => {
          await q.query({ text: `SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})` });
          await q.query({ text: `SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'` });
          const { rows: counted } = await q.query<{ n: number }>({ text: `SELECT count(*) AS n FROM ${name}` });
          await q.query({ text: `DROP TABLE ${name}` });
          return counted[0]?.n ?? 0;
        });
        known.delete(day);
      }
    }
    return rows;
  }

  /**
   * Makes the partitions of `days` that `table` lacks, all in one transaction (one lock, one
   * commit: a drained batch or a replayed history may span weeks). A day this process is
   * already creating is waited for, not created twice; IF NOT EXISTS covers the other instances.
   */
  private async ensure(table: DayTable, days: Iterable<number>): Promise<void> {
    const known = this.known.get(table)!;
    const missing = [...new Set(days)].filter((d) => !known.has(d));
    if (!missing.length) return;
    const pending = missing.flatMap((d) => this.creating.get(partitionName(table, d)) ?? []);
    const fresh = missing.filter((d) => !this.creating.has(partitionName(table, d)));
    if (fresh.length) {
      const ddl = fresh.map((d) => `CREATE TABLE IF NOT EXISTS ${partitionName(table, d)} PARTITION OF ${table} FOR VALUES FROM (${bound(d)}) TO (${bound(d + 1)})`);
      const p = this.db
        .transaction(async (q) => {
          await q.query({ text: [`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`, `SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`, ...ddl].join(';\n') });
        })
        .then(() => void fresh.forEach((d) => known.add(d)))
        .finally(() => fresh.forEach((d) => this.creating.delete(partitionName(table, d))));
      for (const d of fresh) this.creating.set(partitionName(table, d), p);
      pending.push(p);
    }
    await Promise.all(pending);
  }
}

function dayFromName(name: string): number | null {
  const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  return m ? dayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
}
