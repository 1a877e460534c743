import { codesKey, failureBucket, FAILURE_RETENTION_MS, oldestBucket, subjectKeys, type FailureCounts, type FailureSubjects } from '../../signals/attempts.js';
import type { FailureCounters } from '../ports.js';
import type { SqliteDb } from './db.js';
import { FailureMemory } from './failure-memory.js';

/**
 * Expired failure rows are deleted every PRUNE_EVERY failures, at most PRUNE_ROWS of each
 * table at a time: a steady flood expires about 6 rows per failure, so this keeps up with
 * one, and no prune holds the event loop for long (one that deleted everything expired at
 * once took tens of milliseconds under a flood).
 */
const PRUNE_EVERY = 64;
const PRUNE_ROWS = 1024;

/**
 * Failed passwords: counted in memory (FailureMemory: a day of failures fits, and a login's
 * counts cost no query) and, unless the database is ephemeral, written through to the failure
 * tables in the same batch, so a count is durable before it is acknowledged. The tables are
 * what the counts start from when the file is opened again.
 */
export class SqliteFailures implements FailureCounters {
  private memory = new FailureMemory();
  private sincePrune = 0;
  private readonly stmt;

  constructor(private readonly sql: SqliteDb) {
    this.stmt = sql.prepare({
      add: 'INSERT INTO failures (subject, bucket, count) VALUES (?, ?, 1) ON CONFLICT(subject, bucket) DO UPDATE SET count = count + 1',
      addUser: 'INSERT INTO failure_users (ip, user_id, last) VALUES (?, ?, ?) ON CONFLICT(ip, user_id) DO UPDATE SET last = max(last, excluded.last)',
      all: 'SELECT subject, bucket, count FROM failures ORDER BY subject, bucket',
      allUsers: 'SELECT ip, user_id, last FROM failure_users ORDER BY last',
      prune: `DELETE FROM failures WHERE (subject, bucket) IN (SELECT subject, bucket FROM failures WHERE bucket < ? LIMIT ${PRUNE_ROWS})`,
      pruneUsers: `DELETE FROM failure_users WHERE (ip, user_id) IN (SELECT ip, user_id FROM failure_users WHERE last < ? LIMIT ${PRUNE_ROWS})`,
    });
    this.restore();
    // The memory may hold failures that were never committed.
    if (!sql.ephemeral) sql.onRollback(() => this.restore());
  }

  async add(s: FailureSubjects, now: number): Promise<FailureCounts> {
    if (this.sql.ephemeral) return this.memory.add(s, now);
    return this.sql.write(() => {
      const k = subjectKeys(s);
      const bucket = failureBucket(now);
      this.stmt.add.run(k.user, bucket);
      this.stmt.add.run(k.ip, bucket);
      this.stmt.add.run(k.network, bucket);
      if (k.device) this.stmt.add.run(k.device, bucket);
      for (const place of k.places) this.stmt.addUser.run(place, s.userId, now);
      if (++this.sincePrune >= PRUNE_EVERY) {
        this.sincePrune = 0;
        this.stmt.prune.run(oldestBucket(now));
        this.stmt.pruneUsers.run(now - FAILURE_RETENTION_MS);
      }
      return this.memory.add(s, now);
    });
  }

  async addWrongCode(userId: string, now: number): Promise<void> {
    if (this.sql.ephemeral) return this.memory.addWrongCode(userId, now);
    return this.sql.write(() => {
      this.stmt.add.run(codesKey(userId), failureBucket(now));
      this.memory.addWrongCode(userId, now);
    });
  }

  async counts(s: FailureSubjects, now: number): Promise<FailureCounts> {
    return this.memory.counts(s, now);
  }

  /** What the failure tables hold (at most a day of failures) is what the counts start from. */
  private restore(): void {
    this.memory = new FailureMemory();
    for (const r of this.stmt.all.iterate() as Iterable<{ subject: string; bucket: number; count: number }>) this.memory.restoreBucket(r.subject, r.bucket, r.count);
    for (const r of this.stmt.allUsers.iterate() as Iterable<{ ip: string; user_id: string; last: number }>) this.memory.restoreUser(r.ip, r.user_id, r.last);
    this.memory.settle();
  }
}
