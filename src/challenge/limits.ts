import type { LimitCounters } from '../store/ports.js';

const HOUR_MS = 3_600_000;
const HOUR_S = 3600;

export interface LimitSettings {
  perUserPerHour: number;
  perPhonePerHour: number;
  /** Sends to numbers that share all but their last four digits. */
  perPrefixPerHour: number;
  /** The least cap of a country; it follows the country's usual volume above it (src/challenge/pumping.ts). */
  perCountryPerHour: number;
  /** Every send to a phone together. */
  sendsPerHour: number;
  perEmailPerHour: number;
  verifyPerIpPerHour: number;
}

export const DEFAULT_LIMITS: LimitSettings = {
  perUserPerHour: 10,
  perPhonePerHour: 5,
  perPrefixPerHour: 20,
  perCountryPerHour: 50,
  sendsPerHour: 1000,
  perEmailPerHour: 5,
  verifyPerIpPerHour: 60,
};

export type LimitKind = keyof LimitSettings;

/** Counters live two windows: their expiry only reclaims space. */
const COUNTER_TTL_S = 2 * HOUR_S;

/**
 * Abuse limits on counters kept in the store, so several instances count together. Windows
 * are clock hours of the injected clock (the key carries the hour), which keeps tests and
 * replay deterministic. A refused request is not counted, so an attacker who keeps trying
 * does not extend the block.
 */
export class AbuseLimits {
  constructor(
    private readonly counters: LimitCounters,
    readonly settings: LimitSettings,
  ) {}

  /**
   * Counts one event for `key` unless its hourly limit is reached; false when refused. The
   * increment comes first (atomic in every store) and a refused event is given back, so two
   * concurrent requests can never both take the last place.
   */
  async take(kind: LimitKind, key: string, now: number, max: number = this.settings[kind]): Promise<boolean> {
    const counter = `limit_${kind}`;
    const k = `${key}|${Math.floor(now / HOUR_MS)}`;
    if ((await this.counters.add(counter, k, 1, COUNTER_TTL_S)) <= max) return true;
    await this.counters.add(counter, k, -1, COUNTER_TTL_S);
    return false;
  }

  /** Gives back an event take() counted (a wider limit refused the same send). */
  async untake(kind: LimitKind, key: string, now: number): Promise<void> {
    await this.counters.add(`limit_${kind}`, `${key}|${Math.floor(now / HOUR_MS)}`, -1, COUNTER_TTL_S);
  }

  /** A plain counter of the store: adds `points` (0 reads it) and answers the count. */
  count(counter: string, key: string, points: number, ttlSec: number): Promise<number> {
    return this.counters.add(counter, key, points, ttlSec);
  }

  /**
   * Takes one of `max` places of `key` under `counter` (no hourly window: the counter lives
   * `ttlSec`), atomically like take(): of any number of concurrent callers, at most `max` ever
   * hold a place. give() hands one back.
   */
  async place(counter: string, key: string, max: number, ttlSec: number): Promise<boolean> {
    if ((await this.counters.add(counter, key, 1, ttlSec)) <= max) return true;
    await this.counters.add(counter, key, -1, ttlSec);
    return false;
  }

  async give(counter: string, key: string, ttlSec: number): Promise<void> {
    await this.counters.add(counter, key, -1, ttlSec);
  }
}
