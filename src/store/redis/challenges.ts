import type { ChallengeDelivery, ChallengeRecord, TotpRecord, TrustedDevice, VerifyOutcome, VerifyResult } from '../../challenge/model.js';
import type { ChallengeState } from '../ports.js';
import { nextVerifyState } from '../verify-attempt.js';
import { compareAndSet } from '../cas.js';
import type { RedisContext } from './keys.js';
import { CHALLENGE_CREATE, CHALLENGE_DELIVERY, CHALLENGE_EXPIRE, CHALLENGE_SET_STATE, TOTP_RESEAL, TOTP_STEP, TRUST_ADD } from './scripts.js';

/**
 * Challenges. The hash holds `doc` (what never changes, JSON), `dl` (the current delivery,
 * JSON), and what the scripts read and change: st (status), at (attempts), sn (sends),
 * ex (expiresAt), va (verifiedAt, '' for none) and v (version, for compare-and-set).
 */
interface ChallengeFields {
  doc: string;
  dl: string;
  st: string;
  at: string;
  sn: string;
  ex: string;
  va: string;
}

type ChallengeDoc = Pick<ChallengeRecord, 'id' | 'decisionId' | 'userId' | 'ip' | 'deviceId' | 'phone' | 'email' | 'maxAttempts' | 'createdAt'>;
type DeliveryDoc = Pick<ChallengeRecord, 'channel' | 'destination' | 'provider' | 'providerRef' | 'codeHash'>;

function challengeFields(c: ChallengeRecord): ChallengeFields {
  const doc: ChallengeDoc = { id: c.id, decisionId: c.decisionId, userId: c.userId, ip: c.ip, deviceId: c.deviceId, phone: c.phone, email: c.email, maxAttempts: c.maxAttempts, createdAt: c.createdAt };
  const dl: DeliveryDoc = { channel: c.channel, destination: c.destination, provider: c.provider, providerRef: c.providerRef, codeHash: c.codeHash };
  return { doc: JSON.stringify(doc), dl: JSON.stringify(dl), st: c.status, at: String(c.attempts), sn: String(c.sends), ex: String(c.expiresAt), va: c.verifiedAt === null ? '' : String(c.verifiedAt) };
}

function challengeFrom(h: Record<string, string>): { record: ChallengeRecord; version: string } | null {
  if (!h.doc || !h.dl) return null;
  const record: ChallengeRecord = {
    ...(JSON.parse(h.doc) as ChallengeDoc),
    ...(JSON.parse(h.dl) as DeliveryDoc),
    status: h.st as ChallengeRecord['status'],
    attempts: Number(h.at),
    sends: Number(h.sn),
    expiresAt: Number(h.ex),
    verifiedAt: h.va ? Number(h.va) : null,
  };
  return { record, version: h.v ?? '0' };
}

function pairsToObject(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}

/** The results of a MULTI, throwing the first command's error. */
function failedIn(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('Redis transaction aborted');
  for (const [err] of results) if (err) throw err;
  return results.map(([, v]) => v);
}

/**
 * Challenges and second factors, shared by every instance: a challenge issued by one instance
 * verifies on any other. A verify attempt is a compare-and-set: read the challenge and its
 * version, apply nextVerifyState (verify-attempt.ts, the rules SQLite applies), write only if
 * the version is unchanged; concurrent attempts on several instances therefore count one by
 * one and never pass maxAttempts. A recovery code is spent by SREM (one instance gets 1), a
 * TOTP step by a script that moves `step` only forward, a resend and the expiry sweep by one
 * script each.
 */
export class RedisChallengeState implements ChallengeState {
  constructor(private readonly r: RedisContext) {}

  async createChallenge(c: ChallengeRecord): Promise<void> {
    const f = challengeFields(c);
    await CHALLENGE_CREATE.run(this.r.client, [this.r.key('c', c.id), this.r.key('cx')], [c.id, f.doc, f.dl, f.st, f.at, f.sn, f.ex, f.va, Math.max(1, c.expiresAt - c.createdAt) + this.r.recordTtlMs]);
  }

  async getChallenge(id: string): Promise<ChallengeRecord | null> {
    return challengeFrom(await this.r.client.hgetall(this.r.key('c', id)))?.record ?? null;
  }

  async recordVerifyAttempt(id: string, result: VerifyResult, now: number): Promise<VerifyOutcome | null> {
    const ckey = this.r.key('c', id);
    const keys = [ckey, this.r.key('cx')];
    let outcome: VerifyOutcome | null = null;
    const found = await compareAndSet(async () => {
      const read = challengeFrom(await this.r.client.hgetall(ckey));
      if (!read) return -1;
      const c = read.record;
      const next = nextVerifyState(c, result, now);
      outcome = next.outcome;
      // Nothing changes (an answer to a closed challenge): the state read is the answer.
      if (next.status === c.status && next.attempts === c.attempts) return 1;
      return CHALLENGE_SET_STATE.run(this.r.client, keys, [id, read.version, next.status, next.attempts, next.verifiedAt ?? '']);
    });
    return found ? outcome : null;
  }

  async recordDelivery(id: string, d: ChallengeDelivery): Promise<boolean> {
    const dl = JSON.stringify({ channel: d.channel, destination: d.destination, provider: d.provider, providerRef: d.providerRef, codeHash: d.codeHash });
    return (await CHALLENGE_DELIVERY.run(this.r.client, [this.r.key('c', id), this.r.key('cx')], [id, dl, d.expiresAt])) === 1;
  }

  async expireChallenges(now: number, limit: number): Promise<ChallengeRecord[]> {
    const raw = (await CHALLENGE_EXPIRE.run(this.r.client, [this.r.key('cx')], [now, limit, `${this.r.prefix}c:`])) as string[][];
    return raw.flatMap((flat) => challengeFrom(pairsToObject(flat))?.record ?? []);
  }

  async getTotp(userId: string): Promise<TotpRecord | null> {
    const [doc, sec, step] = await this.r.client.hmget(this.r.key('t', userId), 'doc', 'sec', 'step');
    if (!doc || !sec) return null;
    const d = JSON.parse(doc) as Pick<TotpRecord, 'confirmed' | 'createdAt'>;
    return { userId, secretEnc: sec, confirmed: d.confirmed, lastStep: Number(step ?? 0), createdAt: d.createdAt };
  }

  async putTotp(t: TotpRecord): Promise<void> {
    await this.r.client.hset(this.r.key('t', t.userId), 'doc', JSON.stringify({ confirmed: t.confirmed, createdAt: t.createdAt }), 'sec', t.secretEnc, 'step', t.lastStep);
  }

  async resealTotp(userId: string, from: string, to: string): Promise<boolean> {
    return (await TOTP_RESEAL.run(this.r.client, [this.r.key('t', userId)], [from, to])) === 1;
  }

  async deleteTotp(userId: string): Promise<boolean> {
    return (await this.r.client.del(this.r.key('t', userId))) === 1;
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return (await TOTP_STEP.run(this.r.client, [this.r.key('t', userId)], [step])) === 1;
  }

  async replaceRecoveryCodes(userId: string, hashes: string[], _now: number): Promise<void> {
    const key = this.r.key('r', userId);
    const tx = this.r.client.multi().del(key);
    if (hashes.length) tx.sadd(key, ...hashes);
    failedIn(await tx.exec());
  }

  async useRecoveryCode(userId: string, hash: string, _now: number): Promise<boolean> {
    // SREM answers 1 to exactly one caller: the code is spent once, whichever instance asks first.
    return (await this.r.client.srem(this.r.key('r', userId), hash)) === 1;
  }

  async addTrustedDevice(d: TrustedDevice): Promise<void> {
    await TRUST_ADD.run(this.r.client, [this.r.key('td', d.userId)], [d.id, JSON.stringify(d), d.expiresAt, d.createdAt]);
  }

  async listTrustedDevices(userId: string, now: number): Promise<TrustedDevice[]> {
    const all = (await this.r.client.hvals(this.r.key('td', userId))).map((v) => JSON.parse(v) as TrustedDevice);
    return all.filter((d) => d.expiresAt > now).sort((x, y) => y.createdAt - x.createdAt);
  }

  async revokeTrustedDevices(userId: string, id?: string): Promise<number> {
    const key = this.r.key('td', userId);
    if (id !== undefined) return this.r.client.hdel(key, id);
    const [count] = failedIn(await this.r.client.multi().hlen(key).del(key).exec());
    return Number(count);
  }
}
