import type { ChallengeDelivery, ChallengeRecord, TotpRecord, TrustedDevice, VerifyOutcome, VerifyResult } from '../../challenge/model.js';
import { challengeFrom, trustedFrom, type ChallengeRow, type TrustedRow } from '../sql-rows.js';
import type { ChallengeState } from '../ports.js';
import { pgValue, type PgDb } from './db.js';

/** A challenge's row, with the version every change bumps. */
interface PgChallengeRow extends ChallengeRow {
  ver: number;
}

/** What a verify attempt reads back. */
interface AttemptRow {
  status: ChallengeRecord['status'];
  attempts: number;
  max_attempts: number;
}

interface TotpRow {
  user_id: string;
  secret_enc: string;
  confirmed: boolean;
  last_step: number;
  created_at: number;
}

/**
 * Challenges and second factors, shared by every instance. Each change is one statement:
 *  - a verify attempt is one conditional UPDATE … RETURNING on a pending challenge, whose SET
 *    is nextVerifyState (verify-attempt.ts, the rules every store applies) written in SQL (a
 *    test checks the two agree in every case). Concurrent attempts queue on the row lock for
 *    the one statement, each reading the row its predecessor wrote, so they count one by one
 *    and never pass maxAttempts, with no retries and no lock held across a round trip: thirty
 *    wrong codes at once cost thirty statements, where a compare-and-set cost about three
 *    hundred (each losing round reads and writes again). A closed challenge, which never
 *    changes again, is answered from a read;
 *  - single use is a conditional UPDATE … RETURNING: a recovery code is marked used only
 *    while unused, a TOTP step moves only forward, a resend applies only to a pending
 *    challenge; PostgreSQL's row lock lets one of several concurrent statements change the row,
 *    and the others then find the condition false;
 *  - the expiry sweep takes due challenges with FOR UPDATE SKIP LOCKED, so sweeping instances
 *    never report one twice.
 */
export class PgChallengeState implements ChallengeState {
  private readonly stmt;

  constructor(private readonly db: PgDb) {
    this.stmt = db.prepare('challenges', {
      put: `INSERT INTO challenges (id, decision_id, user_id, ip, device_id, channel, destination, phone, email, provider, provider_ref, code_hash,
           status, attempts, max_attempts, sends, created_at, expires_at, verified_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
      get: 'SELECT * FROM challenges WHERE id = $1',
      // nextVerifyState (verify-attempt.ts) for a pending challenge, as one statement: $2 is the
      // answer's result, $3 now. Every SET expression reads the row as it was before this statement.
      attempt: `UPDATE challenges SET
           status = CASE WHEN $3 >= expires_at THEN 'expired'
                         WHEN attempts >= max_attempts THEN 'locked'
                         WHEN $2 = 'invalid' THEN CASE WHEN attempts + 1 >= max_attempts THEN 'locked' ELSE 'pending' END
                         ELSE $2 END,
           attempts = CASE WHEN $3 < expires_at AND attempts < max_attempts AND $2 = 'invalid' THEN attempts + 1 ELSE attempts END,
           verified_at = CASE WHEN $3 < expires_at AND attempts < max_attempts AND $2 = 'verified' THEN $3 ELSE verified_at END,
           ver = ver + 1
         WHERE id = $1 AND status = 'pending'
         RETURNING status, attempts, max_attempts`,
      state: 'SELECT status, attempts, max_attempts FROM challenges WHERE id = $1',
      setDelivery: `UPDATE challenges SET channel = $2, destination = $3, provider = $4, provider_ref = $5, code_hash = $6, expires_at = $7,
           sends = sends + 1, ver = ver + 1 WHERE id = $1 AND status = 'pending'`,
      expire: `UPDATE challenges SET status = 'expired', ver = ver + 1 WHERE id IN (
           SELECT id FROM challenges WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
      prune: 'DELETE FROM challenges WHERE expires_at < $1',
      getTotp: 'SELECT * FROM totp WHERE user_id = $1',
      putTotp: `INSERT INTO totp (user_id, secret_enc, confirmed, last_step, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, confirmed = excluded.confirmed, last_step = excluded.last_step, created_at = excluded.created_at`,
      delTotp: 'DELETE FROM totp WHERE user_id = $1',
      useTotpStep: 'UPDATE totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1',
      resealTotp: 'UPDATE totp SET secret_enc = $1 WHERE user_id = $2 AND secret_enc = $3',
      useRecovery: 'UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL',
      putTrusted: 'INSERT INTO trusted_devices (id, user_id, device_id, label, ip, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      listTrusted: 'SELECT * FROM trusted_devices WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC',
      revokeTrusted: 'DELETE FROM trusted_devices WHERE user_id = $1 AND id = $2',
      revokeAllTrusted: 'DELETE FROM trusted_devices WHERE user_id = $1',
      pruneTrusted: 'DELETE FROM trusted_devices WHERE expires_at < $1',
    });
  }

  async createChallenge(c: ChallengeRecord): Promise<void> {
    await this.stmt.put(
      c.id, c.decisionId, c.userId, c.ip, c.deviceId, c.channel, c.destination, c.phone, c.email, c.provider, c.providerRef, c.codeHash,
      c.status, c.attempts, c.maxAttempts, c.sends, c.createdAt, c.expiresAt, c.verifiedAt,
    );
  }

  async getChallenge(id: string): Promise<ChallengeRecord | null> {
    const { rows } = await this.stmt.get<PgChallengeRow>(id);
    return rows[0] ? challengeFrom(rows[0]) : null;
  }

  async recordVerifyAttempt(id: string, result: VerifyResult, now: number): Promise<VerifyOutcome | null> {
    const changed = (await this.stmt.attempt<AttemptRow>(id, result, now)).rows[0];
    // A pending challenge always changes (status or attempts); 'pending' afterwards means one more wrong answer.
    if (changed) return { status: changed.status === 'pending' ? 'invalid' : changed.status, attempts: changed.attempts, maxAttempts: changed.max_attempts };
    // Not pending (or gone): a closed challenge never changes again, so a read is its answer.
    const closed = (await this.stmt.state<AttemptRow>(id)).rows[0];
    if (!closed) return null;
    if (closed.status === 'pending') throw new Error(`challenge ${id} is pending, yet its verify attempt changed nothing`);
    return { status: closed.status === 'verified' ? 'used' : closed.status, attempts: closed.attempts, maxAttempts: closed.max_attempts };
  }

  async recordDelivery(id: string, d: ChallengeDelivery): Promise<boolean> {
    return (await this.stmt.setDelivery(id, d.channel, d.destination, d.provider, d.providerRef, d.codeHash, d.expiresAt)).rowCount === 1;
  }

  async expireChallenges(now: number, limit: number): Promise<ChallengeRecord[]> {
    return (await this.stmt.expire<PgChallengeRow>(now, limit)).rows.map(challengeFrom);
  }

  async getTotp(userId: string): Promise<TotpRecord | null> {
    const r = (await this.stmt.getTotp<TotpRow>(userId)).rows[0];
    return r ? { userId: r.user_id, secretEnc: r.secret_enc, confirmed: r.confirmed, lastStep: r.last_step, createdAt: r.created_at } : null;
  }

  async putTotp(r: TotpRecord): Promise<void> {
    await this.stmt.putTotp(r.userId, r.secretEnc, r.confirmed, r.lastStep, r.createdAt);
  }

  async deleteTotp(userId: string): Promise<boolean> {
    return (await this.stmt.delTotp(userId)).rowCount === 1;
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return (await this.stmt.useTotpStep(step, userId)).rowCount === 1;
  }

  async resealTotp(userId: string, from: string, to: string): Promise<boolean> {
    return (await this.stmt.resealTotp(to, userId, from)).rowCount === 1;
  }

  async replaceRecoveryCodes(userId: string, hashes: string[], now: number): Promise<void> {
    await this.db.transaction(async (q) => {
      await q.query({ text: 'DELETE FROM recovery_codes WHERE user_id = $1', values: [pgValue(userId)] });
      await q.query({ text: 'INSERT INTO recovery_codes (user_id, hash, created_at) SELECT $1, h, $3 FROM unnest($2::text[]) h ON CONFLICT DO NOTHING', values: [pgValue(userId), hashes, now] });
    });
  }

  async useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean> {
    return (await this.stmt.useRecovery(now, userId, hash)).rowCount === 1;
  }

  async addTrustedDevice(d: TrustedDevice): Promise<void> {
    await this.stmt.putTrusted(d.id, d.userId, d.deviceId, d.label, d.ip, d.createdAt, d.expiresAt);
  }

  async listTrustedDevices(userId: string, now: number): Promise<TrustedDevice[]> {
    const { rows } = await this.stmt.listTrusted<TrustedRow>(userId, now);
    return rows.map(trustedFrom);
  }

  async revokeTrustedDevices(userId: string, id?: string): Promise<number> {
    return (await (id === undefined ? this.stmt.revokeAllTrusted(userId) : this.stmt.revokeTrusted(userId, id))).rowCount ?? 0;
  }

  /** Deletes challenges and trusted devices that expired before `before`; returns how many. */
  async prune(before: number): Promise<number> {
    const [c, t] = await Promise.all([this.stmt.prune(before), this.stmt.pruneTrusted(before)]);
    return (c.rowCount ?? 0) + (t.rowCount ?? 0);
  }
}
