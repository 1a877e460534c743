import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { LimitCounters } from '../ports.js';
import { rateLimiterCounters } from '../rate-limits.js';
import type { RedisContext } from './keys.js';

/** Limit counters under `rl:` (RateLimiterRedis: each increment one script). */
export function redisLimits(r: RedisContext): LimitCounters {
  return rateLimiterCounters(
    (limit, ttlSec) =>
      new RateLimiterRedis({
        storeClient: r.client,
        keyPrefix: `${r.prefix}rl:${limit}`,
        points: Number.MAX_SAFE_INTEGER,
        duration: ttlSec,
        // Fail at once while disconnected, like every other call here.
        rejectIfRedisNotReady: true,
      }),
  );
}
