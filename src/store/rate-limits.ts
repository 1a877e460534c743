import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LimitCounters } from './ports.js';

/**
 * Limit counters on rate-limiter-flexible, which both backends use: one limiter per limit
 * and lifetime, made by `make` the first time it is needed. A penalty is an atomic increment
 * in every store it supports (a negative one gives points back).
 */
export function rateLimiterCounters(make: (limit: string, ttlSec: number) => RateLimiterAbstract): LimitCounters {
  const limiters = new Map<string, RateLimiterAbstract>();
  return {
    async add(limit, key, points, ttlSec) {
      const id = `${limit}:${ttlSec}`;
      let l = limiters.get(id);
      if (!l) limiters.set(id, (l = make(limit, ttlSec)));
      return (await l.penalty(key, points)).consumedPoints;
    },
  };
}
