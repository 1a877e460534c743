import { expect, it } from 'vitest';
import type { ChallengeRequest } from '../src/challenge/service.js';
import type { ConfigFile } from '../src/config.js';
import { RefusedError } from '../src/errors.js';
import { DAY, HOUR, IP, MINUTE, decide, habit, type TestApp } from './helpers.js';
import { HOME, NEW_PHONE, challengeAppOn } from './challenge-helpers.js';
import { SERVER_STORES, describeEachStore } from './stores.js';

/**
 * Issue 14, finding 7: SMS and voice pumping. Premium-rate numbers got SMS and voice, and 293
 * codes went to +371 numbers in 4.7 s. Each attack is replayed here and must fail; each
 * limit's lockout is in docs/challenges.md#toll-fraud.
 */

/** Opens a challenge for a made-up user (the attacker has many accounts, or signs them up). */
async function issue(t: TestApp, n: number, dest: Omit<ChallengeRequest, 'userId' | 'ip'>): Promise<'sent' | 'limited'> {
  const r: ChallengeRequest = { userId: `pump-${n}`, ip: IP.brazil, ...dest };
  t.service.checkRequest(r);
  try {
    const view = await t.service.issue(`decision-${n}`, r);
    expect(view?.delivered).toBe(true);
    return 'sent';
  } catch (err) {
    if (err instanceof RefusedError && err.code === 'CHALLENGE_RATE_LIMITED') return 'limited';
    throw err;
  }
}

/** Challenges to `numbers`, `parallel` at a time (a campaign does not wait for its answers). */
async function burst(t: TestApp, numbers: string[], from = 0, parallel = 1) {
  const out = { sent: 0, limited: 0 };
  for (let i = 0; i < numbers.length; i += parallel) {
    const results = await Promise.all(numbers.slice(i, i + parallel).map((phone, j) => issue(t, from + i + j, { phone })));
    for (const r of results) out[r] += 1;
  }
  return out;
}

/** n Latvian mobile numbers, each in a prefix of its own (the last four digits vary least). */
const latvian = (n: number, start = 0) => Array.from({ length: n }, (_, i) => `+3712${String((start + i) * 7919).padStart(7, '0')}`);
const limitedMetric = async (t: TestApp, limit: string, country: string) => {
  const m = (await t.metrics.registry.getSingleMetric('riskgate_delivery_limited_total')!.get()).values;
  return m.find((v) => v.labels.limit === limit && v.labels.country === country)?.value ?? 0;
};

const appWith = (file: ConfigFile) => (kind: Parameters<typeof challengeAppOn>[0]) => challengeAppOn(kind, { file });

describeEachStore(SERVER_STORES, 'toll fraud: number types and countries', appWith({}), (t) => {
  it('refuses premium-rate, shared-cost, UAN and personal numbers before anything is decided or sent', async () => {
    await habit(t, HOME);
    for (const [phone, type] of [
      ['+44 909 879 0000', 'premium-rate'],
      ['+1 900 555 0100', 'premium-rate'],
      ['+33 8 92 12 34 56', 'premium-rate'],
      ['+44 70 1123 4567', 'personal'],
      ['+44 55 1123 4567', 'UAN'],
    ] as const) {
      const d = await decide(t, { ...NEW_PHONE, phone });
      expect(d).toMatchObject({ status: 400, body: { error: { code: 'PHONE_NOT_ALLOWED', message: expect.stringContaining(type) } } });
    }
    expect(await t.store.audit.query({ kind: 'decision' })).toHaveLength(20);
    expect(t.outbox.messages).toHaveLength(0);
    // A mobile number of the same countries is fine.
    expect((await decide(t, { ...NEW_PHONE, phone: '+44 7400 123456' })).body.challenge).toMatchObject({ channel: 'sms', delivered: true });
  });

  it('by default, refuses numbers of the countries of high SMS fraud risk', async () => {
    const d = await decide(t, { ...NEW_PHONE, phone: '+234 803 123 4567' });
    expect(d).toMatchObject({ status: 400, body: { error: { code: 'PHONE_NOT_ALLOWED', message: expect.stringContaining('NG') } } });
  });
});

describeEachStore(SERVER_STORES, 'toll fraud: delivery.countries', appWith({ delivery: { countries: ['NO', 'SE'] } }), (t) => {
  it('sends codes only to the countries listed', async () => {
    await habit(t, HOME);
    const lv = await decide(t, { ...NEW_PHONE, phone: '+37120000001' });
    expect(lv).toMatchObject({ status: 400, body: { error: { code: 'PHONE_NOT_ALLOWED', message: expect.stringContaining('delivery.countries') } } });
    expect((await decide(t, { ...NEW_PHONE, phone: '+4791234567' })).body.challenge.delivered).toBe(true);
    expect(t.outbox.messages.map((m) => m.to)).toEqual(['+4791234567']);
  });
});

describeEachStore(SERVER_STORES, 'toll fraud: every country with "*"', appWith({ delivery: { countries: ['*'] } }), (t) => {
  it('sends to a high-risk country when the list says every country', async () => {
    expect(await issue(t, 1, { phone: '+2348031234567' })).toBe('sent');
  });
});

describeEachStore(SERVER_STORES, 'toll fraud: caps', appWith({}), (t) => {
  it('293 codes to +371 numbers in a burst: the country cap stops it, a metric says so', async () => {
    // 16 at a time: the caps are atomic counts, so concurrency lets no more through.
    const r = await burst(t, latvian(293), 0, 16);
    expect(r).toEqual({ sent: 50, limited: 243 });
    expect(await limitedMetric(t, 'perCountryPerHour', 'LV')).toBe(243);
    const audit = await t.store.audit.query({ kind: 'challenge.rate_limited', limit: 1 });
    expect(audit[0]!.detail).toEqual({ limits: ['perCountryPerHour (LV)'] });
    // Other countries are not touched, and the next hour LV gets its cap again.
    expect(await issue(t, 1000, { phone: '+4791234567' })).toBe('sent');
    t.clock.advance(HOUR);
    expect((await burst(t, latvian(60, 1000), 2000, 16)).sent).toBe(50);
  }, 60_000); // some 3,000 store calls: on a loaded machine, PostgreSQL takes its time

  it('walking through one number block: at most perPrefixPerHour codes to its numbers', async () => {
    const block = Array.from({ length: 25 }, (_, i) => `+3712000${String(1000 + i)}`);
    expect(await burst(t, block)).toEqual({ sent: 20, limited: 5 });
    expect(await limitedMetric(t, 'perPrefixPerHour', 'LV')).toBe(5);
    // The next block is another prefix.
    expect(await issue(t, 99, { phone: '+37120011000' })).toBe('sent');
  });

  it('a flood of e-mail to one address: perEmailPerHour, whatever the case', async () => {
    const out = [];
    for (let i = 0; i < 7; i++) out.push(await issue(t, i, { email: i % 2 ? 'Victim@Example.com' : 'victim@example.com' }));
    expect(out).toEqual([...Array(5).fill('sent'), 'limited', 'limited']);
    expect(await limitedMetric(t, 'perEmailPerHour', '')).toBe(2);
  });
});

describeEachStore(SERVER_STORES, 'toll fraud: the global cap', appWith({ challenges: { limits: { sendsPerHour: 10, perCountryPerHour: 3 } } }), (t) => {
  it('caps every phone send together; a send another cap refused does not use it up', async () => {
    expect(await burst(t, latvian(10))).toEqual({ sent: 3, limited: 7 });
    // 3 used of 10: seven more go out (to numbers of other countries), then nothing.
    const elsewhere = ['+4791234567', '+4792345678', '+4793456789', '+46701234567', '+46731234567', '+4915123456789', '+4917612345678', '+4915223456789'];
    expect(await burst(t, elsewhere, 100)).toEqual({ sent: 7, limited: 1 });
    expect(await limitedMetric(t, 'sendsPerHour', 'DE')).toBe(1);
    // E-mail is not in the phone cap.
    expect(await issue(t, 200, { email: 'bob@example.com' })).toBe('sent');
  });
});

describeEachStore(SERVER_STORES, 'toll fraud: a country cap follows its usual volume', appWith({ challenges: { limits: { perCountryPerHour: 5 } } }), (t) => {
  it('a country that sent 240 codes yesterday may send 30 this hour; one with no history its floor of 5', async () => {
    // Yesterday: 240 codes to Norwegian numbers (the count the guard keeps of each day's sends, through the store's port).
    await t.store.limits.add('pumping_volume', `NO|${Math.floor(t.clock.now / DAY) - 1}`, 240, 3 * 86_400);
    const norwegian = Array.from({ length: 40 }, (_, i) => `+479${String(2000000 + i * 7919).slice(0, 7)}`);
    expect(await burst(t, norwegian, 1000)).toEqual({ sent: 30, limited: 10 });
    expect(await burst(t, latvian(8), 2000)).toEqual({ sent: 5, limited: 3 });
  });
});

describeEachStore(SERVER_STORES, 'toll fraud: conversion', appWith({ challenges: { limits: { perCountryPerHour: 100 } } }), (t) => {
  it('a country whose codes are never entered is throttled; one whose codes are entered is not', async () => {
    // 12 codes to Latvian numbers nobody enters; 12 to Norwegian numbers whose users do.
    expect((await burst(t, latvian(12))).sent).toBe(12);
    for (let i = 0; i < 12; i++) {
      const phone = `+479${String(3000000 + i * 7919).slice(0, 7)}`;
      const d = await t.service.issue(`ok-${i}`, { userId: `real-${i}`, ip: IP.osloNO, phone });
      const code = t.outbox.last(phone)!.code;
      expect((await t.service.verify(d!.id, { code })).status).toBe('verified');
    }
    t.clock.advance(10 * MINUTE);
    expect(await t.service.expireDue()).toBe(12);
    t.clock.advance(HOUR);
    // Latvia: 0 of 12 verified, throttled to 5 an hour; Norway: 12 of 12, its cap.
    expect(await burst(t, latvian(10, 500), 100)).toEqual({ sent: 5, limited: 5 });
    expect(await limitedMetric(t, 'conversion', 'LV')).toBe(5);
    const audit = await t.store.audit.query({ kind: 'challenge.rate_limited', limit: 1 });
    expect(audit[0]!.detail).toEqual({ limits: ['conversion (LV: 0 of 12 verified)'] });
    const norwegian = Array.from({ length: 10 }, (_, i) => `+479${String(4000000 + i * 7919).slice(0, 7)}`);
    expect(await burst(t, norwegian, 200)).toEqual({ sent: 10, limited: 0 });
  });
});

describeEachStore(SERVER_STORES, 'toll fraud: conversion under concurrency', appWith({}), (t) => {
  it('a challenge locked by many wrong answers at once counts as one unverified code', async () => {
    await issue(t, 1, { phone: '+37120000001' });
    const c = (await t.store.audit.query({ kind: 'challenge.created' }))[0]!;
    const code = t.outbox.last()!.code;
    const wrong = code === '000000' ? '111111' : '000000';
    await Promise.all(Array.from({ length: 12 }, () => t.service.verify(c.ref!, { code: wrong })));
    const today = Math.floor(t.clock.now / DAY);
    expect(await t.store.limits.add('pumping_answered', `country|LV|${today}`, 0, 3 * 86_400)).toBe(1);
    expect(await t.store.limits.add('pumping_verified', `country|LV|${today}`, 0, 3 * 86_400)).toBe(0);
  });
});
