import { InputError } from '../errors.js';
import type { ChallengeRecord } from './model.js';
import type { AbuseLimits, LimitKind } from './limits.js';
import { normalizePhone, phonePrefix, type Phone } from './phone.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Daily counters are read for the day before: they live three days. */
const DAY_TTL_S = 3 * 86_400;

/**
 * Countries codes are not sent to unless `delivery.countries` names them: the countries
 * Twilio lists as high risk of SMS fraud, whose messaging geo permissions can only be changed
 * in its console (Twilio error 30649). docs/challenges.md#toll-fraud.
 */
export const HIGH_RISK_COUNTRIES: readonly string[] = ['BD', 'IL', 'NG', 'PK', 'PS', 'LK', 'AZ', 'TJ', 'OM', 'TN', 'DZ'];

export interface PumpingSettings {
  /** ISO 3166-1 alpha-2 codes codes may be sent to; null: every country but HIGH_RISK_COUNTRIES. "*" in the file: every country. */
  countries: ReadonlySet<string> | 'all' | null;
  /** A country's hourly cap is at least perCountryPerHour, and this many times its usual hourly volume (the day before). */
  countryVolumeFactor: number;
  /** Conversion: a country or prefix judged on at least `minAnswered` closed code challenges (today and yesterday)... */
  minAnswered: number;
  /** ...whose share verified is below `minRate` is throttled... */
  minRate: number;
  /** ...to this many sends an hour (or what its verified volume justifies, if more). */
  throttledPerHour: number;
}

export const DEFAULT_PUMPING: PumpingSettings = { countries: null, countryVolumeFactor: 3, minAnswered: 10, minRate: 0.2, throttledPerHour: 5 };

/** Why riskgate itself refused to send: the limit, and the country it was about, for the audit trail and metrics. */
export interface LimitHit {
  limit: string;
  country: string | null;
  detail: string;
}

interface Take {
  kind: LimitKind;
  key: string;
  max?: number;
  country: string | null;
  detail: string;
}

/**
 * SMS and voice pumping (toll fraud) and mail floods, before any provider is asked: number
 * types and countries codes are not sent to, and hourly caps per number, per number prefix
 * (the number without its last four digits), per country (following its usual volume) and
 * for every phone send together, and per e-mail address. Conversion is the other signal: real
 * people type their codes and pumped codes are never typed, so a country or prefix whose codes
 * are rarely verified is throttled. Every count is in the store (LimitCounters), shared by
 * the instances. docs/challenges.md#toll-fraud says who each limit can lock out.
 */
export class PumpingGuard {
  constructor(
    private readonly limits: AbuseLimits,
    readonly settings: PumpingSettings,
  ) {}

  /** Refuses a number of a country codes are not sent to (before anything is decided). */
  checkCountry(p: Phone): void {
    const { countries } = this.settings;
    const allowed = countries === 'all' || (countries === null ? !HIGH_RISK_COUNTRIES.includes(p.country) : countries.has(p.country));
    if (!allowed) {
      throw new InputError('PHONE_NOT_ALLOWED', `phone is a number of ${p.country}, and codes are not sent to ${p.country} (delivery.countries${countries === null ? ': by default, not to countries of high SMS fraud risk' : ''})`);
    }
  }

  /**
   * Why no code may go to this phone now, or null; counts the send in every cap when it may.
   * Checked from the narrowest cap to the widest, and a refusal gives back what the narrower
   * ones took: a campaign stopped by its country's cap does not use up the global cap.
   */
  async phone(p: Phone, now: number): Promise<LimitHit | null> {
    const prefix = phonePrefix(p);
    const [country, pre, usual] = await Promise.all([this.conversion('country', p.country, now), this.conversion('prefix', prefix, now), this.read('volume', `${p.country}|${day(now) - 1}`)]);
    const { perCountryPerHour, perPrefixPerHour } = this.limits.settings;
    const countryCap = Math.max(perCountryPerHour, Math.ceil((this.settings.countryVolumeFactor * usual) / 24));
    const takes: Take[] = [
      { kind: 'perPhonePerHour', key: p.e164, country: p.country, detail: 'perPhonePerHour' },
      pre.throttled
        ? { kind: 'perPrefixPerHour', key: prefix, max: Math.min(perPrefixPerHour, pre.cap), country: p.country, detail: `conversion (${prefix}…: ${pre.verified} of ${pre.answered} verified)` }
        : { kind: 'perPrefixPerHour', key: prefix, country: p.country, detail: `perPrefixPerHour (${prefix}…)` },
      country.throttled
        ? { kind: 'perCountryPerHour', key: p.country, max: Math.min(countryCap, country.cap), country: p.country, detail: `conversion (${p.country}: ${country.verified} of ${country.answered} verified)` }
        : { kind: 'perCountryPerHour', key: p.country, max: countryCap, country: p.country, detail: `perCountryPerHour (${p.country})` },
      { kind: 'sendsPerHour', key: 'all', country: p.country, detail: 'sendsPerHour' },
    ];
    const hit = await this.takeAll(takes, now);
    if (!hit) await this.count('volume', `${p.country}|${day(now)}`);
    return hit;
  }

  /** Why no code may go to this address now, or null (counted when it may). */
  async email(address: string, now: number): Promise<LimitHit | null> {
    return this.takeAll([{ kind: 'perEmailPerHour', key: address.toLowerCase(), country: null, detail: 'perEmailPerHour' }], now);
  }

  /**
   * A code challenge sent to a phone was closed: verified, or not (locked, expired). The
   * conversion of its country and prefix counts it, once per challenge.
   */
  async closed(c: ChallengeRecord, verified: boolean, now: number): Promise<void> {
    if (c.channel === 'email' || c.channel === 'totp' || !c.destination || c.sends === 0) return;
    let p: Phone;
    try {
      p = normalizePhone(c.destination);
    } catch {
      return; // a number refused since it was sent: nothing more will be sent to it
    }
    // Concurrent answers may each see the challenge close: the first one counts it.
    if (!(await this.limits.place('pumping_closed', c.id, 1, DAY_TTL_S))) return;
    const keys = [`country|${p.country}|${day(now)}`, `prefix|${phonePrefix(p)}|${day(now)}`];
    await Promise.all(keys.flatMap((k) => [this.count('answered', k), ...(verified ? [this.count('verified', k)] : [])]));
  }

  private async conversion(scope: 'country' | 'prefix', key: string, now: number) {
    const days = [day(now), day(now) - 1].map((d) => `${scope}|${key}|${d}`);
    const [a0, a1, v0, v1] = await Promise.all([...days.map((k) => this.read('answered', k)), ...days.map((k) => this.read('verified', k))]);
    const answered = a0! + a1!;
    const verified = v0! + v1!;
    const { minAnswered, minRate, countryVolumeFactor, throttledPerHour } = this.settings;
    // Throttled, a key still sends what its verified codes justify (over two days, per hour, times the factor).
    const cap = Math.max(throttledPerHour, Math.ceil((countryVolumeFactor * verified) / 48));
    return { throttled: answered >= minAnswered && verified < minRate * answered, answered, verified, cap };
  }

  private async takeAll(takes: Take[], now: number): Promise<LimitHit | null> {
    const taken: Take[] = [];
    for (const t of takes) {
      if (await this.limits.take(t.kind, t.key, now, t.max)) {
        taken.push(t);
        continue;
      }
      await Promise.all(taken.map((back) => this.limits.untake(back.kind, back.key, now)));
      return { limit: t.detail.startsWith('conversion') ? 'conversion' : t.kind, country: t.country, detail: t.detail };
    }
    return null;
  }

  private read(counter: string, key: string): Promise<number> {
    return this.limits.count(`pumping_${counter}`, key, 0, DAY_TTL_S);
  }

  private count(counter: string, key: string): Promise<number> {
    return this.limits.count(`pumping_${counter}`, key, 1, DAY_TTL_S);
  }
}

function day(now: number): number {
  return Math.floor(now / DAY_MS);
}
