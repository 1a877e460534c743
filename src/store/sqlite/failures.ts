import { FAILURE_RETENTION_MS, oldestBucket, type FailureCounts, type FailureSubjects } from '../../signals/attempts.js';
import type { FailureCounters } from '../ports.js';
import type { SqliteDb } from './db.js';
import { FailureMemory } from './failure-memory.js';

/**
 * Expired rows are deleted every PRUNE_EVERY failures, at most PRUNE_ROWS at a time: enough
 * to keep up with a flood (one row per failure), few enough that no prune holds the event
 * loop for long.
 */
const PRUNE_EVERY = 64;
const PRUNE_ROWS = 256;

/** `failure_events.kind`. */
const PASSWORD = 0;
const CODE = 1;

/**
 * Failed passwords and wrong codes: counted in memory (FailureMemory: a day of failures fits,
 * and a login's counts cost no query) and, unless the database is ephemeral, appended to
 * `failure_events` in the same batch, so a count is durable before it is acknowledged. At
 * start the memory is rebuilt by counting the last day's events again, in the order they
 * came.
 *
 * One appended row per failure, rather than a row per subject and bucket brought up to date:
 * under a flood of new ids those updates touched a dozen B-tree pages per failure in random
 * places, and the commits that wrote them out held the event loop for tens of milliseconds.
 */
export class SqliteFailures implements FailureCounters {
  private memory = new FailureMemory();
  private sincePrune = 0;
  private readonly stmt;

  constructor(private readonly sql: SqliteDb) {
    this.stmt = sql.prepare({
      add: 'INSERT INTO failure_events (time, kind, user_id, ip, device_id) VALUES (?, ?, ?, ?, ?)',
      events: 'SELECT time, kind, user_id, ip, device_id FROM failure_events ORDER BY rowid',
      prune: `DELETE FROM failure_events WHERE rowid IN (SELECT rowid FROM failure_events WHERE time < ? ORDER BY time LIMIT ${PRUNE_ROWS})`,
      // What an earlier version kept per subject (schema step 3): read at start, emptied as it expires.
      legacy: 'SELECT subject, bucket, count FROM failures ORDER BY subject, bucket',
      legacyUsers: 'SELECT ip, user_id, last FROM failure_users ORDER BY last',
      pruneLegacy: `DELETE FROM failures WHERE (subject, bucket) IN (SELECT subject, bucket FROM failures WHERE bucket < ? LIMIT ${PRUNE_ROWS})`,
      pruneLegacyUsers: `DELETE FROM failure_users WHERE (ip, user_id) IN (SELECT ip, user_id FROM failure_users WHERE last < ? LIMIT ${PRUNE_ROWS})`,
    });
    this.restore();
    // The memory may hold failures that were never committed.
    if (!sql.ephemeral) sql.onRollback(() => this.restore());
  }

  async add(s: FailureSubjects, now: number): Promise<FailureCounts> {
    if (this.sql.ephemeral) return this.memory.add(s, now);
    return this.sql.write(() => {
      this.stmt.add.run(now, PASSWORD, s.userId, s.ip, s.deviceId ?? null);
      this.prune(now);
      return this.memory.add(s, now);
    });
  }

  async addWrongCode(userId: string, now: number): Promise<void> {
    if (this.sql.ephemeral) return this.memory.addWrongCode(userId, now);
    return this.sql.write(() => {
      this.stmt.add.run(now, CODE, userId, null, null);
      this.prune(now);
      this.memory.addWrongCode(userId, now);
    });
  }

  async counts(s: FailureSubjects, now: number): Promise<FailureCounts> {
    return this.memory.counts(s, now);
  }

  private prune(now: number): void {
    if (++this.sincePrune < PRUNE_EVERY) return;
    this.sincePrune = 0;
    this.stmt.prune.run(now - FAILURE_RETENTION_MS);
    this.stmt.pruneLegacy.run(oldestBucket(now));
    this.stmt.pruneLegacyUsers.run(now - FAILURE_RETENTION_MS);
  }

  /** The last day's failures, counted again in the order they came (and what an earlier version kept). */
  private restore(): void {
    this.memory = new FailureMemory();
    for (const r of this.stmt.legacy.iterate() as Iterable<{ subject: string; bucket: number; count: number }>) this.memory.restoreBucket(r.subject, r.bucket, r.count);
    for (const r of this.stmt.legacyUsers.iterate() as Iterable<{ ip: string; user_id: string; last: number }>) this.memory.restoreUser(r.ip, r.user_id, r.last);
    for (const r of this.stmt.events.iterate() as Iterable<{ time: number; kind: number; user_id: string; ip: string | null; device_id: string | null }>) {
      if (r.kind === CODE) this.memory.addWrongCode(r.user_id, r.time);
      else this.memory.record({ userId: r.user_id, ip: r.ip!, ...(r.device_id === null ? {} : { deviceId: r.device_id }) }, r.time);
    }
    this.memory.settle();
  }
}
