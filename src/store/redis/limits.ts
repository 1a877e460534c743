import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { LimitCounters } from '../ports.js';
import type { RedisContext } from './keys.js';

/** rate-limiter-flexible's counters (RateLimiterRedis: each increment one script), one limiter per limit and lifetime. */
export class RedisLimits implements LimitCounters {
  private readonly limiters = new Map<string, RateLimiterRedis>();

  constructor(private readonly r: RedisContext) {}

  async add(limit: string, key: string, points: number, ttlSec: number): Promise<number> {
    return (await this.limiter(limit, ttlSec).penalty(key, points)).consumedPoints;
  }

  private limiter(name: string, durationSec: number): RateLimiterRedis {
    const id = `${name}:${durationSec}`;
    let l = this.limiters.get(id);
    if (!l) {
      l = new RateLimiterRedis({
        storeClient: this.r.client,
        keyPrefix: `${this.r.prefix}rl:${name}`,
        points: Number.MAX_SAFE_INTEGER,
        duration: durationSec,
        // Fail at once while disconnected, like every other call here.
        rejectIfRedisNotReady: true,
      });
      this.limiters.set(id, l);
    }
    return l;
  }
}
