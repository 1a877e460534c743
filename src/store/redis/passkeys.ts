import type { PasskeyRecord } from '../../challenge/model.js';
import type { Passkeys } from '../ports.js';
import type { RedisContext } from './keys.js';
import { PASSKEY_ADD, PASSKEY_COUNTER, PASSKEY_DELETE } from './scripts.js';

type PasskeyDoc = Omit<PasskeyRecord, 'counter' | 'lastUsedAt'>;

/**
 * Passkeys, shared by every instance (keys.ts has the layout). A registration challenge is
 * spent by GETDEL (one caller gets it); a credential id is claimed by SET NX with the passkey
 * in one script; the counter moves forward in one script.
 */
export class RedisPasskeys implements Passkeys {
  constructor(private readonly r: RedisContext) {}

  async addRegistration(userId: string, challenge: string, now: number, expiresAt: number): Promise<void> {
    await this.r.client.set(this.r.key('pr', `${userId}:${challenge}`), String(expiresAt), 'PX', Math.max(1, expiresAt - now));
  }

  async takeRegistration(userId: string, challenge: string, now: number): Promise<boolean> {
    const held = await this.r.client.getdel(this.r.key('pr', `${userId}:${challenge}`));
    return held !== null && now < Number(held);
  }

  async addPasskey(p: PasskeyRecord): Promise<boolean> {
    const doc: PasskeyDoc = { id: p.id, userId: p.userId, credentialId: p.credentialId, publicKey: p.publicKey, transports: p.transports, label: p.label, createdAt: p.createdAt };
    return (await PASSKEY_ADD.run(this.r.client, [this.r.key('pk', p.userId), this.r.key('pkc', p.credentialId)], [p.id, JSON.stringify(doc), p.counter])) === 1;
  }

  async listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    const h = await this.r.client.hgetall(this.r.key('pk', userId));
    const out: PasskeyRecord[] = [];
    for (const [field, value] of Object.entries(h)) {
      if (field.includes(':')) continue;
      const used = h[`${field}:u`];
      out.push({ ...(JSON.parse(value) as PasskeyDoc), counter: Number(h[`${field}:n`] ?? 0), lastUsedAt: used ? Number(used) : null });
    }
    return out.sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : 1));
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    return (await PASSKEY_DELETE.run(this.r.client, [this.r.key('pk', userId)], [id, `${this.r.prefix}pkc:`])) === 1;
  }

  async useCounter(userId: string, id: string, counter: number, now: number): Promise<boolean> {
    return (await PASSKEY_COUNTER.run(this.r.client, [this.r.key('pk', userId)], [id, counter, now])) === 1;
  }
}
