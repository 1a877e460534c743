import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LimiterFactory } from '../store/store.js';

const HOUR_MS = 3_600_000;
const HOUR_S = 3600;

export interface LimitSettings {
  perUserPerHour: number;
  perPhonePerHour: number;
  perCountryPerHour: number;
  verifyPerIpPerHour: number;
}

export const DEFAULT_LIMITS: LimitSettings = { perUserPerHour: 10, perPhonePerHour: 5, perCountryPerHour: 300, verifyPerIpPerHour: 60 };

export type LimitKind = keyof LimitSettings;

/**
 * Abuse limits on rate-limiter-flexible limiters kept in the store, so several instances count
 * together. Windows are clock hours of the injected clock (the key carries the hour), which
 * keeps tests and replay deterministic; the limiter's own expiry only reclaims space.
 * A refused request is not counted, so an attacker who keeps trying does not extend the block.
 */
export class AbuseLimits {
  private readonly limiters = new Map<LimitKind, RateLimiterAbstract>();

  constructor(
    makeLimiter: LimiterFactory,
    readonly settings: LimitSettings,
  ) {
    for (const kind of Object.keys(settings) as LimitKind[]) this.limiters.set(kind, makeLimiter(`limit_${kind}`, 2 * HOUR_S));
  }

  /**
   * Counts one event for `key` unless its hourly limit is reached; false when refused. The
   * increment comes first (atomic in every store) and a refused event is given back, so two
   * concurrent requests can never both take the last place.
   */
  async take(kind: LimitKind, key: string, now: number): Promise<boolean> {
    const limiter = this.limiters.get(kind)!;
    const k = `${key}|${Math.floor(now / HOUR_MS)}`;
    const res = await limiter.penalty(k, 1);
    if (res.consumedPoints <= this.settings[kind]) return true;
    await limiter.reward(k, 1);
    return false;
  }
}
