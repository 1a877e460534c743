import { RateLimiterSQLite } from 'rate-limiter-flexible';
import type { LimitCounters } from '../ports.js';
import { rateLimiterCounters } from '../rate-limits.js';
import type { SqliteDb, Statement } from './db.js';

/** Limit counters in the `rlf_counters` table (RateLimiterSQLite), committed with the batch they join. */
export function sqliteLimits(sql: SqliteDb): LimitCounters {
  // rate-limiter-flexible prepares its SQL on every call; hand it a client that prepares once.
  const cached = new Map<string, Statement>();
  const client = {
    prepare: (text: string) => {
      let s = cached.get(text);
      if (!s) cached.set(text, (s = sql.db.prepare(text)));
      return s;
    },
    // A count joins the current batch: its promise resolves once committed.
    // (Its "transaction" is one upsert statement, atomic on its own, so it runs as is.)
    transaction:
      <A extends unknown[], R>(fn: (...args: A) => R) =>
      (...args: A) =>
        sql.write(() => fn(...args)),
  };
  return rateLimiterCounters(
    (limit, ttlSec) =>
      new RateLimiterSQLite({
        storeClient: client,
        storeType: 'better-sqlite3',
        tableName: 'rlf_counters',
        tableCreated: true,
        keyPrefix: limit,
        points: Number.MAX_SAFE_INTEGER,
        duration: ttlSec,
      }),
  );
}
