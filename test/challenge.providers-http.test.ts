import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageCentralService } from '../src/challenge/providers/messagecentral.js';
import type { Provider } from '../src/challenge/providers/provider.js';
import { TwilioVerifyService } from '../src/challenge/providers/twilio-verify.js';
import { XoxzoOtpService } from '../src/challenge/providers/xoxzo-otp.js';
import { XoxzoSmsProvider } from '../src/challenge/providers/xoxzo-sms.js';
import type { ConfigFile } from '../src/config.js';
import { decide, habit } from './helpers.js';
import { HOME, NEW_PHONE, fakeServer, makeChallengeApp, post, type ChallengeApp } from './challenge-helpers.js';
import { fakeMessageCentral, fakeTwilio, fakeXoxzo, type Fake } from './fakes.js';

const PHONE = '+4791234567';
/** Generous for answers (a loaded CI machine), short where the test waits for a timeout. */
const TIMEOUT = 3000;
const SERVICE = `VA${'b'.repeat(32)}`;

describe('the whole flow over HTTP against fake provider servers', () => {
  let twilio: Fake;
  let xoxzo: Fake;
  let mc: Fake;
  let t: ChallengeApp;
  beforeAll(async () => {
    [twilio, xoxzo, mc] = await Promise.all([fakeTwilio(), fakeXoxzo(), fakeMessageCentral()]);
  });
  afterAll(async () => {
    await Promise.all([twilio.close(), xoxzo.close(), mc.close()]);
  });
  afterEach(async () => {
    for (const f of [twilio, xoxzo, mc]) f.mode = 'ok';
    await t.close();
  });

  /** With `hanging`, a request the fake holds times out at once (its deadline), instead of after TIMEOUT. */
  const twilioWhatsapp = (hanging = false) =>
    new TwilioVerifyService('twilio', ['whatsapp', 'voice'], { accountSid: 'AC1', authToken: 'tok', serviceSid: SERVICE, baseUrl: twilio.url, timeoutMs: TIMEOUT, ...(hanging ? { deadline: twilio.deadline } : {}) });
  const xoxzoSms = () => new XoxzoSmsProvider('xoxzo', { credentials: { sid: 's', authToken: 't' }, sender: 'riskgate', baseUrl: xoxzo.url, timeoutMs: TIMEOUT });
  const start = async (providers: Provider[], file: ConfigFile = { delivery: { order: ['whatsapp', 'sms', 'voice'] } }) => {
    t = await makeChallengeApp({ providers, file });
    await habit(t, HOME);
    const d = await decide(t, { ...NEW_PHONE, phone: PHONE });
    expect(d.body.action).toBe('challenge');
    return d.body.challenge as { id: string; channel: string; delivered: boolean };
  };
  const verify = (id: string, code: string) => post(t, `/v1/challenges/${id}/verify`, { code });
  /** The code in the last SMS the fake Xoxzo received. */
  const xoxzoCode = () => /^(\d{6}) /.exec(new URLSearchParams(xoxzo.requests.at(-1)!.body).get('message') ?? '')![1]!;

  it('falls back from a failing WhatsApp provider to SMS, records both, and the SMS code verifies', async () => {
    twilio.mode = 'down';
    const c = await start([twilioWhatsapp(), xoxzoSms()]);
    expect(c).toMatchObject({ channel: 'sms', delivered: true });
    const sent = (await t.store.audit.query({ ref: c.id, kind: 'challenge.sent' })).reverse().map((e) => e.detail);
    expect(sent).toEqual([
      { channel: 'whatsapp', provider: 'twilio', result: 'failed', detail: expect.stringContaining('HTTP 503') },
      { channel: 'sms', provider: 'xoxzo', result: 'sent' },
    ]);
    expect(await t.metrics.registry.metrics()).toContain('riskgate_challenge_fallbacks_total{channel="sms"} 1');
    expect((await verify(c.id, xoxzoCode())).body.status).toBe('verified');
  });

  it('a provider that times out is skipped the same way', async () => {
    twilio.mode = 'hang';
    const c = await start([twilioWhatsapp(true), xoxzoSms()]);
    expect(c.channel).toBe('sms');
    expect((await t.store.audit.query({ ref: c.id, kind: 'challenge.sent' })).at(-1)!.detail).toMatchObject({ provider: 'twilio', result: 'timeout' });
  });

  it('when every provider fails the challenge still exists, undelivered, and /resend delivers it later', async () => {
    twilio.mode = 'down';
    xoxzo.mode = 'down';
    const c = await start([twilioWhatsapp(), xoxzoSms()]);
    expect(c).toMatchObject({ channel: 'whatsapp', delivered: false });
    expect((await post(t, `/v1/challenges/${c.id}/resend`, {})).body.error.code).toBe('DELIVERY_FAILED');
    xoxzo.mode = 'ok';
    expect((await post(t, `/v1/challenges/${c.id}/resend`, {})).body).toMatchObject({ channel: 'sms', delivered: true });
    expect((await verify(c.id, xoxzoCode())).body.status).toBe('verified');
  });

  it('Twilio Verify: wrong codes are counted, the right one passes', async () => {
    const c = await start([twilioWhatsapp(), xoxzoSms()]);
    expect(c).toMatchObject({ channel: 'whatsapp', delivered: true });
    expect(new URLSearchParams(twilio.requests.at(-1)!.body).get('Channel')).toBe('whatsapp');
    expect((await verify(c.id, '000000')).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    expect((await verify(c.id, twilio.code)).body).toEqual({ status: 'verified', attemptsLeft: 4 });
    expect((await verify(c.id, twilio.code)).body.status).toBe('used');
  });

  it('Twilio 60202 (too many checks) locks the challenge', async () => {
    const c = await start([twilioWhatsapp()], { delivery: { order: ['whatsapp'] }, challenges: { maxAttempts: 10 } });
    for (let i = 0; i < 5; i++) expect((await verify(c.id, '000000')).body.status).toBe('invalid');
    expect((await verify(c.id, twilio.code)).body).toEqual({ status: 'locked', attemptsLeft: 5 });
    expect((await verify(c.id, twilio.code)).body.status).toBe('locked');
  });

  it('a verify service that cannot answer is a 503 and the attempt is not counted', async () => {
    const c = await start([twilioWhatsapp(true)], { delivery: { order: ['whatsapp'] } });
    twilio.mode = 'hang';
    const r = await verify(c.id, twilio.code);
    expect(r).toMatchObject({ status: 503, body: { error: { code: 'PROVIDER_UNAVAILABLE' } } });
    twilio.mode = 'ok';
    expect((await verify(c.id, twilio.code)).body).toEqual({ status: 'verified', attemptsLeft: 5 });
    expect(await t.store.audit.query({ ref: c.id, kind: 'challenge.check_failed' })).toHaveLength(1);
  });

  it('a resend never resets the wrong attempts, and a 60203 from Twilio moves on to SMS', async () => {
    const c = await start([twilioWhatsapp(), xoxzoSms()], { delivery: { order: ['whatsapp', 'voice', 'sms'] } });
    await verify(c.id, '000000');
    await verify(c.id, '000000');
    twilio.mode = 'rate_limited';
    const r = await post(t, `/v1/challenges/${c.id}/resend`, {});
    expect(r.body).toMatchObject({ channel: 'sms', delivered: true, attemptsLeft: 3 });
    expect((await t.store.audit.query({ ref: c.id, kind: 'challenge.sent' }))[1]!.detail).toMatchObject({ channel: 'voice', provider: 'twilio', result: 'rate_limited' });
    // The Twilio code is no longer the challenge's: only the new SMS code is.
    expect((await verify(c.id, twilio.code)).body).toEqual({ status: 'invalid', attemptsLeft: 2 });
    expect((await verify(c.id, xoxzoCode())).body).toEqual({ status: 'verified', attemptsLeft: 2 });
  });

  it('when every provider rate-limits a resend, the answer is 429', async () => {
    const c = await start([twilioWhatsapp()], { delivery: { order: ['whatsapp', 'voice'] } });
    twilio.mode = 'rate_limited';
    expect(await post(t, `/v1/challenges/${c.id}/resend`, {})).toMatchObject({ status: 429, body: { error: { code: 'CHALLENGE_RATE_LIMITED' } } });
  });

  it('Xoxzo OTP: Xoxzo makes and checks the code', async () => {
    const otp = new XoxzoOtpService('xoxzo-otp', { credentials: { sid: 's', authToken: 't' }, website: 'https://example.com', baseUrl: xoxzo.url, timeoutMs: TIMEOUT });
    const c = await start([otp], { delivery: { order: ['sms'] } });
    expect(c).toMatchObject({ channel: 'sms', delivered: true });
    expect((await verify(c.id, '999999')).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    expect((await verify(c.id, xoxzo.code)).body.status).toBe('verified');
  });

  it('Message Central VerifyNow over WhatsApp', async () => {
    const verifyNow = new MessageCentralService('verifynow', ['whatsapp', 'sms'], { authToken: 'mc-token', customerId: 'C-1', baseUrl: mc.url, timeoutMs: TIMEOUT });
    const c = await start([verifyNow]);
    expect(c).toMatchObject({ channel: 'whatsapp', delivered: true });
    expect(mc.requests.at(-1)!.query.get('flowType')).toBe('WHATSAPP');
    expect((await verify(c.id, '1111')).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    expect((await verify(c.id, mc.code)).body.status).toBe('verified');
  });
});

describe('provider errors in the audit trail', () => {
  it('never carry the code, even from a provider that echoes the request', async () => {
    const echo = await fakeServer((r) => ({ status: 400, json: { error: `bad request: ${r.body}` } }));
    const t = await makeChallengeApp({ providers: [new XoxzoSmsProvider('echo', { credentials: { sid: 's', authToken: 't' }, sender: 'rg', baseUrl: echo.url, timeoutMs: TIMEOUT })] });
    try {
      await habit(t, HOME);
      const d = await decide(t, { ...NEW_PHONE, phone: PHONE });
      expect(d.body.challenge.delivered).toBe(false);
      const message = new URLSearchParams(echo.requests[0]!.body).get('message')!;
      const code = /^(\d{6})/.exec(message)![1]!;
      const sent = (await t.store.audit.query({ ref: d.body.challenge.id, kind: 'challenge.sent' }))[0]!;
      expect(sent.detail).toMatchObject({ result: 'rejected', detail: expect.stringContaining('[code]') });
      expect(JSON.stringify(sent.detail)).not.toContain(code);
    } finally {
      await t.close();
      await echo.close();
    }
  });
});
