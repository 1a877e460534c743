import { RateLimiterSQLite } from 'rate-limiter-flexible';
import type { LimitCounters } from '../ports.js';
import type { SqliteDb, Statement } from './db.js';

/** rate-limiter-flexible's counters in the `rlf_counters` table, one limiter per limit and lifetime. */
export class SqliteLimits implements LimitCounters {
  private readonly limiters = new Map<string, RateLimiterSQLite>();
  /** What rate-limiter-flexible is handed as its better-sqlite3 client. */
  private readonly client;

  constructor(sql: SqliteDb) {
    // rate-limiter-flexible prepares its SQL on every call; hand it a client that prepares once.
    const cached = new Map<string, Statement>();
    this.client = {
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
  }

  async add(limit: string, key: string, points: number, ttlSec: number): Promise<number> {
    return (await this.limiter(limit, ttlSec).penalty(key, points)).consumedPoints;
  }

  private limiter(name: string, durationSec: number): RateLimiterSQLite {
    const id = `${name}:${durationSec}`;
    let l = this.limiters.get(id);
    if (!l) {
      l = new RateLimiterSQLite({
        storeClient: this.client,
        storeType: 'better-sqlite3',
        tableName: 'rlf_counters',
        tableCreated: true,
        keyPrefix: name,
        points: Number.MAX_SAFE_INTEGER,
        duration: durationSec,
      });
      this.limiters.set(id, l);
    }
    return l;
  }
}
