import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../src/config.js';
import { HOUR, decide, habit } from './helpers.js';
import { HOME, NEW_PHONE, lastCode, makeChallengeApp, post, type ChallengeApp } from './challenge-helpers.js';

describe('abuse limits', () => {
  let t: ChallengeApp;
  afterEach(() => t.close());
  const setup = async (limits: NonNullable<ConfigFile['challenges']>['limits']) => {
    t = await makeChallengeApp({ file: { challenges: { limits } } });
    await habit(t, HOME);
  };

  it('challenges per user per hour', async () => {
    await setup({ perUserPerHour: 3 });
    for (let i = 0; i < 3; i++) expect((await decide(t, { ...NEW_PHONE, email: 'a@example.com' })).body.challenge.delivered).toBe(true);
    const refused = await decide(t, { ...NEW_PHONE, email: 'a@example.com' });
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'CHALLENGE_RATE_LIMITED' } } });
    expect(await t.store.audit.query({ kind: 'challenge.rate_limited' })).toHaveLength(1);
    // Another user is not held back, and the next hour the user is not either.
    await habit(t, { ...HOME, userId: 'bob', deviceId: 'd-bob' });
    expect((await decide(t, { ...NEW_PHONE, userId: 'bob', email: 'b@example.com' })).status).toBe(200);
    t.clock.advance(HOUR);
    expect((await decide(t, { ...NEW_PHONE, email: 'a@example.com' })).status).toBe(200);
  });

  it('codes per phone number per hour: the e-mail channel still works, a phone alone is refused', async () => {
    await setup({ perPhonePerHour: 2 });
    const phone = '+4791234567';
    for (let i = 0; i < 2; i++) expect((await decide(t, { ...NEW_PHONE, phone })).body.challenge.channel).toBe('sms');
    const withEmail = await decide(t, { ...NEW_PHONE, phone, email: 'a@example.com' });
    expect(withEmail.body.challenge).toMatchObject({ channel: 'email', delivered: true });
    const sent = (await t.store.audit.query({ ref: withEmail.body.challenge.id, kind: 'challenge.sent' })).reverse().map((e) => e.detail);
    expect(sent[0]).toEqual({ channel: 'sms', provider: 'riskgate', result: 'limit', detail: 'perPhonePerHour' });
    expect((await decide(t, { ...NEW_PHONE, phone })).body.error.code).toBe('CHALLENGE_RATE_LIMITED');
    // Another number is fine.
    expect((await decide(t, { ...NEW_PHONE, phone: '+4792345678' })).body.challenge.channel).toBe('sms');
  });

  it('sends per destination country per hour (SMS pumping)', async () => {
    await setup({ perCountryPerHour: 2 });
    expect((await decide(t, { ...NEW_PHONE, phone: '+4791234567' })).status).toBe(200);
    expect((await decide(t, { ...NEW_PHONE, phone: '+4792345678' })).status).toBe(200);
    expect((await decide(t, { ...NEW_PHONE, phone: '+4793456789' })).body.error.code).toBe('CHALLENGE_RATE_LIMITED');
    // Other countries are counted apart.
    expect((await decide(t, { ...NEW_PHONE, phone: '+4915123456789' })).status).toBe(200);
    const r = await post(t, `/v1/challenges/${(await decide(t, { ...NEW_PHONE, email: 'a@example.com' })).body.challenge.id}/resend`, {});
    expect(r.body.channel).toBe('email');
  });

  it('verify attempts per address per hour', async () => {
    await setup({ verifyPerIpPerHour: 3 });
    const d = await decide(t, { ...NEW_PHONE, phone: '+4791234567' });
    const code = lastCode(t.outbox);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 3; i++) expect((await post(t, `/v1/challenges/${d.body.challenge.id}/verify`, { code: wrong })).status).toBe(200);
    const refused = await post(t, `/v1/challenges/${d.body.challenge.id}/verify`, { code });
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'VERIFY_RATE_LIMITED' } } });
    // The refused attempt did not count against the challenge.
    expect((await post(t, `/v1/challenges/${d.body.challenge.id}/verify`, { code, ip: '198.51.100.7' })).body).toEqual({ status: 'verified', attemptsLeft: 2 });
  });
});
