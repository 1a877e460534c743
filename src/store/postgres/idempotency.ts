import type { IdempotencyClaim, IdempotencyKeys, IdempotentAnswer } from '../ports.js';
import type { PgDb } from './db.js';

interface Row {
  fingerprint: string;
  status: number | null;
  body: string | null;
}

/**
 * Idempotency keys in the `idempotency` table. A claim is one upsert that takes the key only
 * when it is absent or expired, so of several instances racing for one key exactly one gets it.
 */
export class PgIdempotency implements IdempotencyKeys {
  private readonly stmt;

  constructor(db: PgDb) {
    this.stmt = db.prepare('idempotency', {
      claim: `INSERT INTO idempotency (key, fingerprint, status, body, expires) VALUES ($1, $2, NULL, NULL, $3::bigint + $4::bigint)
              ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = NULL, body = NULL, expires = excluded.expires
              WHERE idempotency.expires <= $3::bigint RETURNING key`,
      get: 'SELECT fingerprint, status, body FROM idempotency WHERE key = $1 AND expires > $2',
      complete: 'UPDATE idempotency SET status = $3, body = $4, expires = $5 WHERE key = $1 AND fingerprint = $2',
      release: 'DELETE FROM idempotency WHERE key = $1 AND fingerprint = $2 AND status IS NULL',
      expire: 'DELETE FROM idempotency WHERE expires <= $1',
    });
  }

  async claim(key: string, fingerprint: string, now: number, claimMs: number): Promise<IdempotencyClaim> {
    for (;;) {
      if ((await this.stmt.claim(key, fingerprint, now, claimMs)).rowCount) return { state: 'claimed' };
      const held = (await this.stmt.get<Row>(key, now)).rows[0];
      // Gone between the two statements (released, or expired and swept): claim again.
      if (!held) continue;
      return held.status === null ? { state: 'running', fingerprint: held.fingerprint } : { state: 'done', fingerprint: held.fingerprint, answer: { status: held.status, body: held.body ?? '' } };
    }
  }

  async complete(key: string, fingerprint: string, answer: IdempotentAnswer, now: number, keepMs: number): Promise<void> {
    await this.stmt.complete(key, fingerprint, answer.status, answer.body, now + keepMs);
  }

  async release(key: string, fingerprint: string): Promise<void> {
    await this.stmt.release(key, fingerprint);
  }

  async expire(now: number): Promise<number> {
    return (await this.stmt.expire(now)).rowCount ?? 0;
  }
}
