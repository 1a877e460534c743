import type { PasskeyRecord } from '../../challenge/model.js';
import type { Passkeys } from '../ports.js';
import { passkeyFrom, type PasskeyRow } from '../sql-rows.js';
import type { PgDb } from './db.js';

/**
 * Passkeys and registration challenges, shared by every instance. Spending a challenge is one
 * DELETE … RETURNING (PostgreSQL's row lock gives the row to one of several concurrent
 * statements); the counter moves by one conditional UPDATE, so of two instances accepting
 * assertions with one counter value, one wins.
 */
export class PgPasskeys implements Passkeys {
  private readonly stmt;

  constructor(db: PgDb) {
    this.stmt = db.prepare('passkeys', {
      addRegistration: `INSERT INTO passkey_registrations (user_id, challenge, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, challenge) DO UPDATE SET expires_at = excluded.expires_at`,
      takeRegistration: 'DELETE FROM passkey_registrations WHERE user_id = $1 AND challenge = $2 RETURNING expires_at',
      add: `INSERT INTO passkeys (id, user_id, credential_id, public_key, counter, transports, label, created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      list: 'SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id',
      delete: 'DELETE FROM passkeys WHERE user_id = $1 AND id = $2',
      useCounter: 'UPDATE passkeys SET counter = $3, last_used_at = $4 WHERE user_id = $1 AND id = $2 AND (counter < $3 OR (counter = 0 AND $3 = 0))',
      prune: 'DELETE FROM passkey_registrations WHERE expires_at < $1',
    });
  }

  async addRegistration(userId: string, challenge: string, _now: number, expiresAt: number): Promise<void> {
    await this.stmt.addRegistration(userId, challenge, expiresAt);
  }

  async takeRegistration(userId: string, challenge: string, now: number): Promise<boolean> {
    const row = (await this.stmt.takeRegistration<{ expires_at: number }>(userId, challenge)).rows[0];
    return row !== undefined && now < Number(row.expires_at);
  }

  async addPasskey(p: PasskeyRecord): Promise<boolean> {
    const r = await this.stmt.add(p.id, p.userId, p.credentialId, p.publicKey, p.counter, JSON.stringify(p.transports), p.label, p.createdAt, p.lastUsedAt);
    return r.rowCount === 1;
  }

  async listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    return (await this.stmt.list<PasskeyRow>(userId)).rows.map(passkeyFrom);
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    return (await this.stmt.delete(userId, id)).rowCount === 1;
  }

  async useCounter(userId: string, id: string, counter: number, now: number): Promise<boolean> {
    return (await this.stmt.useCounter(userId, id, counter, now)).rowCount === 1;
  }

  /** Deletes registration challenges that expired before `before`; how many. */
  async prune(before: number): Promise<number> {
    return (await this.stmt.prune(before)).rowCount ?? 0;
  }
}
