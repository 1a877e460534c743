import { RateLimiterPostgres } from 'rate-limiter-flexible';
import type { LimitCounters } from '../ports.js';
import { rateLimiterCounters } from '../rate-limits.js';
import { pgValue, type PgDb } from './db.js';

/**
 * Limit counters in the `rlf_counters` table (RateLimiterPostgres: each increment one upsert,
 * atomic on its own). The limiter runs its queries on the pool, through pgValue like every
 * other statement; it deletes counters that expired an hour ago every five minutes.
 */
export function pgLimits(db: PgDb): LimitCounters {
  const client = { query: (q: { name?: string; text: string; values?: unknown[] }) => db.pool.query({ ...q, values: q.values?.map(pgValue) }) };
  return rateLimiterCounters(
    (limit, ttlSec) =>
      new RateLimiterPostgres({
        storeClient: client,
        storeType: 'pool',
        tableName: 'rlf_counters',
        tableCreated: true,
        keyPrefix: limit,
        points: Number.MAX_SAFE_INTEGER,
        duration: ttlSec,
      }),
  );
}
