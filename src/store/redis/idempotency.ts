import type { IdempotencyClaim, IdempotencyKeys, IdempotentAnswer } from '../ports.js';
import type { RedisContext } from './keys.js';
import { IDEMPOTENCY_CLAIM, IDEMPOTENCY_COMPLETE, IDEMPOTENCY_RELEASE } from './scripts.js';

/** What `rg:i:<key>` holds: the claim's fingerprint and expiry on riskgate's clock, and the answer once there is one. */
interface Held {
  fingerprint: string;
  expires: number;
  answer?: IdempotentAnswer;
}

/**
 * Idempotency keys, one string each (keys.ts), changed by Lua scripts so that two instances
 * never both claim one key. Expiry is judged on riskgate's clock; Redis drops each key by
 * itself after its TTL.
 */
export class RedisIdempotency implements IdempotencyKeys {
  constructor(private readonly r: RedisContext) {}

  async claim(key: string, fingerprint: string, now: number, claimMs: number): Promise<IdempotencyClaim> {
    const claim: Held = { fingerprint, expires: now + claimMs };
    const held = (await IDEMPOTENCY_CLAIM.run(this.r.client, [this.r.key('i', key)], [JSON.stringify(claim), now, claimMs])) as string | null;
    if (held === null) return { state: 'claimed' };
    const h = JSON.parse(held) as Held;
    return h.answer ? { state: 'done', fingerprint: h.fingerprint, answer: h.answer } : { state: 'running', fingerprint: h.fingerprint };
  }

  async complete(key: string, fingerprint: string, answer: IdempotentAnswer, now: number, keepMs: number): Promise<void> {
    const done: Held = { fingerprint, expires: now + keepMs, answer };
    await IDEMPOTENCY_COMPLETE.run(this.r.client, [this.r.key('i', key)], [fingerprint, JSON.stringify(done), keepMs]);
  }

  async release(key: string, fingerprint: string): Promise<void> {
    await IDEMPOTENCY_RELEASE.run(this.r.client, [this.r.key('i', key)], [fingerprint]);
  }

  async expire(): Promise<number> {
    return 0;
  }
}
