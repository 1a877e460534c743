import type { IdempotencyClaim, IdempotencyKeys, IdempotentAnswer } from '../ports.js';
import type { SqliteDb } from './db.js';

interface Row {
  fingerprint: string;
  status: number | null;
  body: string | null;
  expires: number;
}

/** Idempotency keys in the `idempotency` table; each step is one write of the batch, so a claim is on disk before its request runs. */
export class SqliteIdempotency implements IdempotencyKeys {
  private readonly q;

  constructor(private readonly sql: SqliteDb) {
    this.q = sql.prepare({
      get: 'SELECT fingerprint, status, body, expires FROM idempotency WHERE key = ?',
      claim: 'INSERT OR REPLACE INTO idempotency (key, fingerprint, status, body, expires) VALUES (?, ?, NULL, NULL, ?)',
      complete: 'UPDATE idempotency SET status = ?, body = ?, expires = ? WHERE key = ? AND fingerprint = ?',
      release: 'DELETE FROM idempotency WHERE key = ? AND fingerprint = ? AND status IS NULL',
      expire: 'DELETE FROM idempotency WHERE expires <= ?',
    });
  }

  claim(key: string, fingerprint: string, now: number, claimMs: number): Promise<IdempotencyClaim> {
    return this.sql.write((): IdempotencyClaim => {
      const row = this.q.get.get(key) as Row | undefined;
      if (row && row.expires > now) {
        return row.status === null ? { state: 'running', fingerprint: row.fingerprint } : { state: 'done', fingerprint: row.fingerprint, answer: { status: row.status, body: row.body ?? '' } };
      }
      this.q.claim.run(key, fingerprint, now + claimMs);
      return { state: 'claimed' };
    });
  }

  async complete(key: string, fingerprint: string, answer: IdempotentAnswer, now: number, keepMs: number): Promise<void> {
    await this.sql.write(() => this.q.complete.run(answer.status, answer.body, now + keepMs, key, fingerprint));
  }

  async release(key: string, fingerprint: string): Promise<void> {
    await this.sql.write(() => this.q.release.run(key, fingerprint));
  }

  expire(now: number): Promise<number> {
    return this.sql.write(() => this.q.expire.run(now).changes);
  }
}
