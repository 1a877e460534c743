import type { LimitCounters } from '../store/ports.js';

const HOUR_MS = 3_600_000;
/** The hourly counter lives two windows: its expiry only reclaims space. */
const HOUR_TTL_S = 2 * 3600;
/**
 * How long the count of wrong codes "until a success" lives from its first wrong code when no
 * success resets it: the owner, locked out of code step-ups by someone holding their password,
 * gets codes back after this at the latest (docs/abuse.md).
 */
export const UNTIL_SUCCESS_TTL_S = 30 * 24 * 3600;

export interface WrongCodeSettings {
  /** Wrong codes for one account per clock hour, across all its challenges. */
  wrongCodesPerUserPerHour: number;
  /** Wrong codes for one account until a challenge of it is passed (NIST SP 800-63B: at most 100). */
  wrongCodesPerUser: number;
}

export const DEFAULT_WRONG_CODE_LIMITS: WrongCodeSettings = { wrongCodesPerUserPerHour: 20, wrongCodesPerUser: 100 };

export type WrongCodeLimit = keyof WrongCodeSettings;

/**
 * The account-level limit on wrong second-factor codes (issue 14, finding 5): per challenge,
 * maxAttempts stops the guessing, but an attacker holding the password opens challenge after
 * challenge. Each code checked for a user takes a place first, atomically in the store, so a
 * burst of parallel answers checks at most the limit; a right code gives its place back and
 * clears the count "until a success". Recovery codes are not codes here: 50 random bits each,
 * single use, they are the stronger factor left when codes are refused.
 */
export class WrongCodeLimits {
  constructor(
    private readonly counters: LimitCounters,
    readonly settings: WrongCodeSettings,
  ) {}

  /** Takes a place to check one code for `userId`; the limit reached (nothing taken) otherwise. */
  async take(userId: string, now: number): Promise<WrongCodeLimit | null> {
    const hour = await this.counters.add('wrong_codes_hour', hourKey(userId, now), 1, HOUR_TTL_S);
    if (hour > this.settings.wrongCodesPerUserPerHour) {
      await this.counters.add('wrong_codes_hour', hourKey(userId, now), -1, HOUR_TTL_S);
      return 'wrongCodesPerUserPerHour';
    }
    const total = await this.counters.add('wrong_codes', userId, 1, UNTIL_SUCCESS_TTL_S);
    if (total > this.settings.wrongCodesPerUser) {
      await Promise.all([this.counters.add('wrong_codes', userId, -1, UNTIL_SUCCESS_TTL_S), this.counters.add('wrong_codes_hour', hourKey(userId, now), -1, HOUR_TTL_S)]);
      return 'wrongCodesPerUser';
    }
    return null;
  }

  /** The code checked was not wrong (or was not checked after all): its place is given back. */
  async giveBack(userId: string, now: number): Promise<void> {
    await Promise.all([this.counters.add('wrong_codes_hour', hourKey(userId, now), -1, HOUR_TTL_S), this.counters.add('wrong_codes', userId, -1, UNTIL_SUCCESS_TTL_S)]);
  }

  /** A challenge of the user was passed: the count until a success starts again. */
  async passed(userId: string): Promise<void> {
    const n = await this.counters.add('wrong_codes', userId, 0, UNTIL_SUCCESS_TTL_S);
    if (n > 0) await this.counters.add('wrong_codes', userId, -n, UNTIL_SUCCESS_TTL_S);
  }

  /** The limit the user has reached now, without taking anything; null when codes may be checked. */
  async reached(userId: string, now: number): Promise<WrongCodeLimit | null> {
    const [hour, total] = await Promise.all([this.counters.add('wrong_codes_hour', hourKey(userId, now), 0, HOUR_TTL_S), this.counters.add('wrong_codes', userId, 0, UNTIL_SUCCESS_TTL_S)]);
    if (hour >= this.settings.wrongCodesPerUserPerHour) return 'wrongCodesPerUserPerHour';
    return total >= this.settings.wrongCodesPerUser ? 'wrongCodesPerUser' : null;
  }
}

function hourKey(userId: string, now: number): string {
  return `${userId}|${Math.floor(now / HOUR_MS)}`;
}
