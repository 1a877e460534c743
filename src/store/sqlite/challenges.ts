import type { ChallengeDelivery, ChallengeRecord, TotpRecord, TrustedDevice, VerifyOutcome, VerifyResult } from '../../challenge/model.js';
import type { ChallengeState } from '../ports.js';
import { challengeFrom, trustedFrom, type ChallengeRow, type TrustedRow } from '../sql-rows.js';
import { nextVerifyState } from '../verify-attempt.js';
import type { SqliteDb } from './db.js';

interface TotpRow {
  user_id: string;
  secret_enc: string;
  confirmed: number;
  last_step: number;
  created_at: number;
}

/**
 * Challenges and second factors. Every change joins the current batch (SqliteDb.write), so
 * it is committed before the caller answers; each is one statement or one transaction, hence
 * atomic. No column holds a code, secret or token in clear.
 */
export class SqliteChallengeState implements ChallengeState {
  private readonly stmt;
  private readonly attemptTx: (id: string, result: VerifyResult, now: number) => VerifyOutcome | null;
  private readonly expireTx: (now: number, limit: number) => ChallengeRecord[];
  private readonly replaceRecoveryTx: (userId: string, hashes: string[], now: number) => void;

  constructor(private readonly sql: SqliteDb) {
    const stmt = sql.prepare({
      put: `INSERT INTO challenges (id, decision_id, user_id, ip, device_id, channel, destination, phone, email, provider, provider_ref, code_hash,
           status, attempts, max_attempts, sends, created_at, expires_at, verified_at)
         VALUES (@id, @decisionId, @userId, @ip, @deviceId, @channel, @destination, @phone, @email, @provider, @providerRef, @codeHash,
           @status, @attempts, @maxAttempts, @sends, @createdAt, @expiresAt, @verifiedAt)`,
      get: 'SELECT * FROM challenges WHERE id = ?',
      setState: 'UPDATE challenges SET status = ?, attempts = ?, verified_at = ? WHERE id = ?',
      setDelivery: `UPDATE challenges SET channel = @channel, destination = @destination, provider = @provider, provider_ref = @providerRef,
           code_hash = @codeHash, expires_at = @expiresAt, sends = sends + 1 WHERE id = @id AND status = 'pending'`,
      due: "SELECT * FROM challenges WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
      expire: "UPDATE challenges SET status = 'expired' WHERE id = ? AND status = 'pending'",
      prune: 'DELETE FROM challenges WHERE expires_at < ?',
      getTotp: 'SELECT * FROM totp WHERE user_id = ?',
      putTotp: `INSERT INTO totp (user_id, secret_enc, confirmed, last_step, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(user_id) DO UPDATE SET secret_enc = excluded.secret_enc, confirmed = excluded.confirmed, last_step = excluded.last_step, created_at = excluded.created_at`,
      delTotp: 'DELETE FROM totp WHERE user_id = ?',
      useTotpStep: 'UPDATE totp SET last_step = ? WHERE user_id = ? AND last_step < ?',
      resealTotp: 'UPDATE totp SET secret_enc = ? WHERE user_id = ? AND secret_enc = ?',
      delRecovery: 'DELETE FROM recovery_codes WHERE user_id = ?',
      putRecovery: 'INSERT OR IGNORE INTO recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)',
      useRecovery: 'UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL',
      putTrusted: 'INSERT INTO trusted_devices (id, user_id, device_id, label, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      listTrusted: 'SELECT * FROM trusted_devices WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC',
      revokeTrusted: 'DELETE FROM trusted_devices WHERE user_id = ? AND id = ?',
      revokeAllTrusted: 'DELETE FROM trusted_devices WHERE user_id = ?',
      pruneTrusted: 'DELETE FROM trusted_devices WHERE expires_at < ?',
    });
    this.stmt = stmt;
    // Read, decide the next state, write; SQLite serializes writers.
    this.attemptTx = sql.db.transaction((id: string, result: VerifyResult, now: number) => {
      const row = stmt.get.get(id) as ChallengeRow | undefined;
      if (!row) return null;
      const c = challengeFrom(row);
      const next = nextVerifyState(c, result, now);
      if (next.status !== c.status || next.attempts !== c.attempts) stmt.setState.run(next.status, next.attempts, next.verifiedAt, id);
      return next.outcome;
    });
    this.expireTx = sql.db.transaction((now: number, limit: number) =>
      (stmt.due.all(now, limit) as ChallengeRow[]).filter((r) => stmt.expire.run(r.id).changes === 1).map((r) => challengeFrom({ ...r, status: 'expired' })),
    );
    this.replaceRecoveryTx = sql.db.transaction((userId: string, hashes: string[], now: number) => {
      stmt.delRecovery.run(userId);
      for (const h of hashes) stmt.putRecovery.run(userId, h, now);
    });
  }

  async createChallenge(c: ChallengeRecord): Promise<void> {
    await this.sql.write(() => this.stmt.put.run(c));
  }

  async getChallenge(id: string): Promise<ChallengeRecord | null> {
    const row = this.stmt.get.get(id) as ChallengeRow | undefined;
    return row ? challengeFrom(row) : null;
  }

  async recordVerifyAttempt(id: string, result: VerifyResult, now: number): Promise<VerifyOutcome | null> {
    return this.sql.write(() => this.attemptTx(id, result, now));
  }

  async recordDelivery(id: string, d: ChallengeDelivery): Promise<boolean> {
    return this.sql.write(() => this.stmt.setDelivery.run({ id, ...d }).changes === 1);
  }

  async expireChallenges(now: number, limit: number): Promise<ChallengeRecord[]> {
    return this.sql.write(() => this.expireTx(now, limit));
  }

  async getTotp(userId: string): Promise<TotpRecord | null> {
    const row = this.stmt.getTotp.get(userId) as TotpRow | undefined;
    return row ? { userId: row.user_id, secretEnc: row.secret_enc, confirmed: row.confirmed === 1, lastStep: row.last_step, createdAt: row.created_at } : null;
  }

  async putTotp(r: TotpRecord): Promise<void> {
    await this.sql.write(() => this.stmt.putTotp.run(r.userId, r.secretEnc, r.confirmed ? 1 : 0, r.lastStep, r.createdAt));
  }

  async deleteTotp(userId: string): Promise<boolean> {
    return this.sql.write(() => this.stmt.delTotp.run(userId).changes === 1);
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return this.sql.write(() => this.stmt.useTotpStep.run(step, userId, step).changes === 1);
  }

  async resealTotp(userId: string, from: string, to: string): Promise<boolean> {
    return this.sql.write(() => this.stmt.resealTotp.run(to, userId, from).changes === 1);
  }

  async replaceRecoveryCodes(userId: string, hashes: string[], now: number): Promise<void> {
    await this.sql.write(() => this.replaceRecoveryTx(userId, hashes, now));
  }

  async useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean> {
    return this.sql.write(() => this.stmt.useRecovery.run(now, userId, hash).changes === 1);
  }

  async addTrustedDevice(d: TrustedDevice): Promise<void> {
    await this.sql.write(() => this.stmt.putTrusted.run(d.id, d.userId, d.deviceId, d.label, d.ip, d.createdAt, d.expiresAt));
  }

  async listTrustedDevices(userId: string, now: number): Promise<TrustedDevice[]> {
    const rows = this.stmt.listTrusted.all(userId, now) as TrustedRow[];
    return rows.map(trustedFrom);
  }

  async revokeTrustedDevices(userId: string, id?: string): Promise<number> {
    return this.sql.write(() => (id === undefined ? this.stmt.revokeAllTrusted.run(userId) : this.stmt.revokeTrusted.run(userId, id)).changes);
  }

  /** Deletes challenges and trusted devices that expired before `before`; call inside SqliteDb.write. */
  prune(before: number): number {
    return this.stmt.prune.run(before).changes + this.stmt.pruneTrusted.run(before).changes;
  }
}
