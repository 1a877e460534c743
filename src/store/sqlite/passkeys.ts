import type { PasskeyRecord } from '../../challenge/model.js';
import type { Passkeys } from '../ports.js';
import { passkeyFrom, type PasskeyRow } from '../sql-rows.js';
import type { SqliteDb } from './db.js';

/**
 * Passkeys and registration challenges. Spending a challenge is one DELETE (a second caller
 * finds no row); the counter moves by one conditional UPDATE. Every change joins the current
 * batch (SqliteDb.write), so it is committed before the caller answers.
 */
export class SqlitePasskeys implements Passkeys {
  private readonly stmt;

  constructor(private readonly sql: SqliteDb) {
    this.stmt = sql.prepare({
      addRegistration: 'INSERT OR REPLACE INTO passkey_registrations (user_id, challenge, expires_at) VALUES (?, ?, ?)',
      takeRegistration: 'DELETE FROM passkey_registrations WHERE user_id = ? AND challenge = ? RETURNING expires_at',
      add: `INSERT INTO passkeys (id, user_id, credential_id, public_key, counter, transports, label, created_at, last_used_at)
         VALUES (@id, @userId, @credentialId, @publicKey, @counter, @transports, @label, @createdAt, @lastUsedAt) ON CONFLICT DO NOTHING`,
      list: 'SELECT * FROM passkeys WHERE user_id = ? ORDER BY created_at, id',
      delete: 'DELETE FROM passkeys WHERE user_id = ? AND id = ?',
      useCounter: 'UPDATE passkeys SET counter = @counter, last_used_at = @now WHERE user_id = @userId AND id = @id AND (counter < @counter OR (counter = 0 AND @counter = 0))',
      prune: 'DELETE FROM passkey_registrations WHERE expires_at < ?',
    });
  }

  async addRegistration(userId: string, challenge: string, _now: number, expiresAt: number): Promise<void> {
    await this.sql.write(() => this.stmt.addRegistration.run(userId, challenge, expiresAt));
  }

  async takeRegistration(userId: string, challenge: string, now: number): Promise<boolean> {
    return this.sql.write(() => {
      const row = this.stmt.takeRegistration.get(userId, challenge) as { expires_at: number } | undefined;
      return row !== undefined && now < row.expires_at;
    });
  }

  async addPasskey(p: PasskeyRecord): Promise<boolean> {
    return this.sql.write(() => this.stmt.add.run({ ...p, transports: JSON.stringify(p.transports) }).changes === 1);
  }

  async listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    return (this.stmt.list.all(userId) as PasskeyRow[]).map(passkeyFrom);
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    return this.sql.write(() => this.stmt.delete.run(userId, id).changes === 1);
  }

  async useCounter(userId: string, id: string, counter: number, now: number): Promise<boolean> {
    return this.sql.write(() => this.stmt.useCounter.run({ userId, id, counter, now }).changes === 1);
  }

  /** Deletes registration challenges that expired before `before`; call inside SqliteDb.write. */
  prune(before: number): number {
    return this.stmt.prune.run(before).changes;
  }
}
