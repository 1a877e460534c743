import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizePhone } from '../src/challenge/phone.js';
import { MessageCentralService } from '../src/challenge/providers/messagecentral.js';
import type { OutgoingMessage, VerificationStart } from '../src/challenge/providers/provider.js';
import { SmtpProvider } from '../src/challenge/providers/smtp.js';
import { TwilioVerifyService } from '../src/challenge/providers/twilio-verify.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookProvider, webhookSignature } from '../src/challenge/providers/webhook.js';
import { XoxzoOtpService } from '../src/challenge/providers/xoxzo-otp.js';
import { XoxzoSmsProvider } from '../src/challenge/providers/xoxzo-sms.js';
import { fakeServer, type FakeAnswer, type FakeServer } from './challenge-helpers.js';
import { fakeMessageCentral, fakeSmtp, fakeTwilio, fakeXoxzo, type Fake, type FakeSmtp } from './fakes.js';

/** Generous for answers (a loaded CI machine), short where the test waits for a timeout. */
const TIMEOUT = 3000;
/** Only nodemailer's own timers (SMTP) cannot be handed a deadline: that one test waits this long. */
const SMTP_HANG = 150;
const phone = normalizePhone('+4791234567');
const sms: OutgoingMessage = { challengeId: 'c-1', channel: 'sms', to: '+4791234567', phone, code: '123456', message: '123456 is your code' };
const start: VerificationStart = { challengeId: 'c-1', channel: 'sms', to: '+4791234567', phone, codeLength: 6 };
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

/** A server that answers whatever the test sets next. */
async function scripted(): Promise<FakeServer & { next: FakeAnswer }> {
  const s = { next: { status: 200 } as FakeAnswer } as FakeServer & { next: FakeAnswer };
  return Object.assign(s, await fakeServer(() => s.next));
}

describe('Xoxzo SMS', () => {
  let x: Fake;
  let p: XoxzoSmsProvider;
  beforeAll(async () => {
    x = await fakeXoxzo();
    p = new XoxzoSmsProvider('xoxzo', { credentials: { sid: 'SID1', authToken: 'TOKEN1' }, sender: 'riskgate', baseUrl: x.url, timeoutMs: TIMEOUT });
  });
  afterAll(() => x.close());

  it('sends recipient, sender and message as a form with basic auth; 201 with a msgid is a delivery', async () => {
    x.mode = 'ok';
    expect(await p.send(sms)).toEqual({ ok: true, ref: expect.stringMatching(/^msg\d+$/) });
    const r = x.requests.at(-1)!;
    expect(r).toMatchObject({ method: 'POST', path: '/sms/messages/' });
    expect(r.headers.authorization).toBe(basic('SID1', 'TOKEN1'));
    expect(r.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(new URLSearchParams(r.body))).toEqual({ recipient: '+4791234567', sender: 'riskgate', message: '123456 is your code' });
  });

  it('maps each answer: 400 rejected, 401 and 5xx failed, 429 rate-limited, no answer a timeout', async () => {
    const s = await scripted();
    const q = new XoxzoSmsProvider('xoxzo', { credentials: { sid: 'a', authToken: 'b' }, sender: 'rg', baseUrl: s.url, timeoutMs: TIMEOUT, deadline: s.deadline });
    const cases: [FakeAnswer, string][] = [
      [{ status: 400, json: { message: ['This field is required.'] } }, 'rejected'],
      [{ status: 401, json: { detail: 'Invalid username/password.' } }, 'failed'],
      [{ status: 500 }, 'failed'],
      [{ status: 429 }, 'rate_limited'],
      [{ status: 201, json: [] }, 'failed'],
      [{ status: 200, json: [{ msgid: 'x' }] }, 'failed'],
      ['hang', 'timeout'],
    ];
    for (const [answer, reason] of cases) {
      s.next = answer;
      expect(await q.send(sms)).toMatchObject({ ok: false, reason });
    }
    await s.close();
    expect(await q.send(sms)).toMatchObject({ ok: false, reason: 'failed', detail: expect.stringMatching(/fetch failed/) });
  });
});

describe('generic webhook', () => {
  it('POSTs {channel,to,message,code,challengeId} signed with HMAC-SHA256 over timestamp and body', async () => {
    const s = await scripted();
    const p = new WebhookProvider('hook', ['sms', 'email'], { url: `${s.url}/deliver`, secret: 'whsec', timeoutMs: TIMEOUT, clock: () => 1_700_000_000_000, deadline: s.deadline });
    s.next = { status: 204 };
    expect(await p.send(sms)).toEqual({ ok: true, ref: null });
    const r = s.requests.at(-1)!;
    expect(r.path).toBe('/deliver');
    expect(JSON.parse(r.body)).toEqual({ channel: 'sms', to: '+4791234567', message: '123456 is your code', code: '123456', challengeId: 'c-1' });
    expect(r.headers[TIMESTAMP_HEADER]).toBe('1700000000');
    expect(r.headers[SIGNATURE_HEADER]).toBe(webhookSignature('whsec', '1700000000', r.body));
    expect(r.headers[SIGNATURE_HEADER]).not.toBe(webhookSignature('other', '1700000000', r.body));
    for (const [answer, reason] of [[{ status: 500 }, 'failed'], [{ status: 400 }, 'failed'], [{ status: 429 }, 'rate_limited'], ['hang', 'timeout']] as [FakeAnswer, string][]) {
      s.next = answer;
      expect(await p.send(sms)).toMatchObject({ ok: false, reason });
    }
    await s.close();
  });
});

describe('SMTP (nodemailer)', () => {
  let smtp: FakeSmtp;
  let p: SmtpProvider;
  const mail: OutgoingMessage = { ...sms, channel: 'email', to: 'alice@example.com', phone: null };
  const smtpProvider = (timeoutMs: number) => new SmtpProvider('smtp', { host: '127.0.0.1', port: smtp.port, secure: false, from: 'riskgate@example.com', subject: 'Your code', timeoutMs });
  beforeAll(async () => {
    smtp = await fakeSmtp();
    p = smtpProvider(TIMEOUT);
  });
  afterAll(() => smtp.close());

  it('delivers when the server accepts the recipient', async () => {
    expect(await p.send(mail)).toEqual({ ok: true, ref: expect.stringContaining('@') });
    const m = smtp.messages.at(-1)!;
    expect(m).toMatchObject({ from: 'riskgate@example.com', to: ['alice@example.com'] });
    expect(m.data).toContain('Subject: Your code');
    expect(m.data).toContain('123456 is your code');
  });

  it('a refused recipient is a rejection; a server that never greets is a timeout', async () => {
    smtp.rcpt = '550 5.1.1 No such user';
    expect(await p.send(mail)).toMatchObject({ ok: false, reason: 'rejected' });
    smtp.rcpt = '250 Ok';
    smtp.greet = false;
    expect(await smtpProvider(SMTP_HANG).send(mail)).toMatchObject({ ok: false, reason: 'timeout' });
    smtp.greet = true;
  });
});

describe('Xoxzo OTP (verify service)', () => {
  let x: Fake;
  let p: XoxzoOtpService;
  beforeAll(async () => {
    x = await fakeXoxzo();
    p = new XoxzoOtpService('xoxzo-otp', { credentials: { sid: 'SID1', authToken: 'TOKEN1' }, website: 'https://example.com', baseUrl: x.url, timeoutMs: TIMEOUT });
  });
  afterAll(() => x.close());

  it('requests an OTP with website and phone_number (201 with its id) and verifies with otp_id and code', async () => {
    x.mode = 'ok';
    const s = await p.start(start);
    expect(s).toEqual({ ok: true, ref: expect.stringMatching(/^\d+$/) });
    expect(JSON.parse(x.requests.at(-1)!.body)).toEqual({ website: 'https://example.com', phone_number: '+4791234567' });
    expect(x.requests.at(-1)!.headers.authorization).toBe(basic('SID1', 'TOKEN1'));
    const ref = (s as { ref: string }).ref;
    expect(await p.check(ref, '000000')).toEqual({ result: 'denied' });
    expect(await p.check(ref, x.code)).toEqual({ result: 'approved' });
    expect(JSON.parse(x.requests.at(-1)!.body)).toEqual({ website: 'https://example.com', otp_id: ref, code: x.code });
  });

  it('takes only a clear success as a pass; errors are errors, never a pass', async () => {
    const s = await scripted();
    const q = new XoxzoOtpService('x', { credentials: { sid: 'a', authToken: 'b' }, website: 'w', baseUrl: s.url, timeoutMs: TIMEOUT, deadline: s.deadline });
    const checks: [FakeAnswer, string][] = [
      [{ status: 200, json: { verified: true } }, 'approved'],
      [{ status: 200, json: { status: 'verified' } }, 'approved'],
      [{ status: 200, json: { message: 'OTP verified' } }, 'denied'],
      [{ status: 200, json: { verified: 'true' } }, 'denied'],
      [{ status: 200 }, 'denied'],
      [{ status: 201, json: { verified: true } }, 'denied'],
      [{ status: 400, json: { code: ['Invalid code.'] } }, 'denied'],
      [{ status: 404 }, 'denied'],
      [{ status: 401 }, 'error'],
      [{ status: 503 }, 'error'],
      [{ status: 429 }, 'error'],
      ['hang', 'error'],
    ];
    for (const [answer, result] of checks) {
      s.next = answer;
      expect((await q.check('1', '123456')).result, JSON.stringify(answer)).toBe(result);
    }
    const starts: [FakeAnswer, string][] = [
      [{ status: 201, json: { otp_id: 'abc' } }, 'ok'],
      [{ status: 201, json: {} }, 'failed'],
      [{ status: 400, json: { phone_number: ['Enter a valid phone number.'] } }, 'rejected'],
      [{ status: 401 }, 'failed'],
      [{ status: 429 }, 'rate_limited'],
      ['hang', 'timeout'],
    ];
    for (const [answer, reason] of starts) {
      s.next = answer;
      const r = await q.start(start);
      expect(r.ok ? 'ok' : r.reason).toBe(reason);
    }
    await s.close();
  });
});

describe('Twilio Verify v2', () => {
  let tw: Fake;
  let p: TwilioVerifyService;
  const SERVICE = `VA${'a'.repeat(32)}`;
  beforeAll(async () => {
    tw = await fakeTwilio();
    p = new TwilioVerifyService('twilio', ['sms', 'whatsapp', 'voice'], { accountSid: 'AC1', authToken: 'tok', serviceSid: SERVICE, baseUrl: tw.url, timeoutMs: TIMEOUT });
  });
  afterAll(() => tw.close());

  it('starts a verification with To and Channel (form-encoded, 201) and checks it with VerificationSid and Code', async () => {
    tw.mode = 'ok';
    const s = await p.start(start);
    expect(s).toEqual({ ok: true, ref: expect.stringMatching(/^VE\d{32}$/) });
    const r = tw.requests.at(-1)!;
    expect(r.path).toBe(`/v2/Services/${SERVICE}/Verifications`);
    expect(r.headers.authorization).toBe(basic('AC1', 'tok'));
    expect(Object.fromEntries(new URLSearchParams(r.body))).toEqual({ To: '+4791234567', Channel: 'sms' });
    await p.start({ ...start, channel: 'voice' });
    expect(new URLSearchParams(tw.requests.at(-1)!.body).get('Channel')).toBe('call');

    const ref = (s as { ref: string }).ref;
    expect(await p.check(ref, '000000')).toEqual({ result: 'denied' });
    expect(Object.fromEntries(new URLSearchParams(tw.requests.at(-1)!.body))).toEqual({ VerificationSid: ref, Code: '000000' });
    expect(await p.check(ref, tw.code)).toEqual({ result: 'approved' });
    // Approved verifications are gone at Twilio (20404): that is not a second pass.
    expect(await p.check(ref, tw.code)).toEqual({ result: 'expired' });
  });

  it('60202 (too many checks, 429) locks; 60203 (too many sends, 429) is a rate limit; other failures are errors', async () => {
    tw.mode = 'ok';
    const ref = ((await p.start(start)) as { ref: string }).ref;
    for (let i = 0; i < 5; i++) expect((await p.check(ref, '000000')).result).toBe('denied');
    expect(await p.check(ref, tw.code)).toEqual({ result: 'locked' });
    tw.mode = 'rate_limited';
    expect(await p.start(start)).toMatchObject({ ok: false, reason: 'rate_limited', detail: expect.stringContaining('60203') });
    tw.mode = 'down';
    expect(await p.start(start)).toMatchObject({ ok: false, reason: 'failed' });
    expect(await p.check(ref, tw.code)).toMatchObject({ result: 'error', reason: 'failed' });
    tw.mode = 'hang';
    const quick = new TwilioVerifyService('twilio', ['sms'], { accountSid: 'AC1', authToken: 'tok', serviceSid: SERVICE, baseUrl: tw.url, timeoutMs: TIMEOUT, deadline: tw.deadline });
    expect(await quick.start(start)).toMatchObject({ ok: false, reason: 'timeout' });
    expect(await quick.check(ref, tw.code)).toMatchObject({ result: 'error', reason: 'timeout' });
    tw.mode = 'ok';
    expect(await p.start({ ...start, to: '4791234567' })).toMatchObject({ ok: false, reason: 'rejected', detail: expect.stringContaining('60200') });
  });

  it('reads the other documented statuses of a check', async () => {
    const s = await scripted();
    const q = new TwilioVerifyService('t', ['sms'], { accountSid: 'AC1', authToken: 'tok', serviceSid: SERVICE, baseUrl: s.url, timeoutMs: TIMEOUT });
    const cases: [FakeAnswer, string][] = [
      [{ status: 200, json: { status: 'approved' } }, 'approved'],
      [{ status: 200, json: { status: 'pending' } }, 'denied'],
      [{ status: 200, json: { status: 'canceled' } }, 'denied'],
      [{ status: 200, json: { status: 'max_attempts_reached' } }, 'locked'],
      [{ status: 200, json: { status: 'expired' } }, 'expired'],
      [{ status: 200, json: { valid: true } }, 'denied'],
      [{ status: 429, json: { code: 20429, message: 'Too many requests' } }, 'error'],
      [{ status: 401, json: { code: 20003, message: 'Authenticate' } }, 'error'],
    ];
    for (const [answer, result] of cases) {
      s.next = answer;
      expect((await q.check('VE1', '123456')).result, JSON.stringify(answer)).toBe(result);
    }
    await s.close();
  });
});

describe('Message Central VerifyNow', () => {
  let mc: Fake;
  let p: MessageCentralService;
  beforeAll(async () => {
    mc = await fakeMessageCentral();
    p = new MessageCentralService('mc', ['sms', 'whatsapp'], { authToken: 'mc-token', customerId: 'C-1', baseUrl: mc.url, timeoutMs: TIMEOUT });
  });
  afterAll(() => mc.close());

  it('sends with countryCode, mobileNumber, flowType and otpLength under the authToken header; passes only on VERIFICATION_COMPLETED', async () => {
    mc.mode = 'ok';
    const s = await p.start({ ...start, channel: 'whatsapp' });
    expect(s).toEqual({ ok: true, ref: '1' });
    const r = mc.requests.at(-1)!;
    expect(r).toMatchObject({ method: 'POST', path: '/verification/v3/send' });
    expect(r.headers.authtoken).toBe('mc-token');
    expect(Object.fromEntries(r.query)).toEqual({ countryCode: '47', customerId: 'C-1', flowType: 'WHATSAPP', mobileNumber: '91234567', otpLength: '6' });
    expect(await p.check('1', '0000')).toEqual({ result: 'denied' });
    expect(await p.check('1', mc.code)).toEqual({ result: 'approved' });
    expect(Object.fromEntries(mc.requests.at(-1)!.query)).toEqual({ verificationId: '1', code: mc.code });
    expect(await p.check('1', mc.code)).toEqual({ result: 'denied' });
  });

  it('maps the response codes and refuses anything unclear', async () => {
    const s = await scripted();
    const q = new MessageCentralService('mc', ['sms'], { authToken: 't', customerId: 'C', baseUrl: s.url, timeoutMs: TIMEOUT, deadline: s.deadline });
    const body = (status: number, responseCode: number, data: unknown = null): FakeAnswer => ({ status, json: { responseCode, message: 'x', data } });
    const checks: [FakeAnswer, string][] = [
      [body(200, 200, { verificationStatus: 'VERIFICATION_COMPLETED' }), 'approved'],
      [body(200, 200, { verificationStatus: 'VERIFICATION_FAILED' }), 'denied'],
      [body(200, 200, null), 'denied'],
      [body(201, 200, { verificationStatus: 'VERIFICATION_COMPLETED' }), 'denied'],
      [body(400, 702), 'denied'],
      [body(200, 702), 'denied'],
      [body(400, 703), 'denied'],
      [body(400, 705), 'expired'],
      [body(400, 800), 'locked'],
      [{ status: 500 }, 'error'],
      [{ status: 200, json: { ok: true } }, 'error'],
      ['hang', 'error'],
    ];
    for (const [answer, result] of checks) {
      s.next = answer;
      expect((await q.check('1', '1234')).result, JSON.stringify(answer)).toBe(result);
    }
    const starts: [FakeAnswer, string][] = [
      [body(200, 200, { verificationId: 77 }), 'ok'],
      [body(200, 200, {}), 'failed'],
      [body(400, 506), 'rate_limited'],
      [body(400, 800), 'rate_limited'],
      [body(401, 401), 'failed'],
      [{ status: 500 }, 'failed'],
      ['hang', 'timeout'],
    ];
    for (const [answer, reason] of starts) {
      s.next = answer;
      const r = await q.start(start);
      expect(r.ok ? 'ok' : r.reason, JSON.stringify(answer)).toBe(reason);
    }
    await s.close();
  });
});
