import { describe, expect, it } from 'vitest';
import { makeTotp, matchingStep } from '../src/challenge/totp.js';
import { AUTH, IP, MINUTE, UA, decide, habit } from './helpers.js';
import { HOME, NEW_PHONE, challengeAppOn, post, send } from './challenge-helpers.js';
import { SERVER_STORES, describeEachStore } from './stores.js';

/** RFC 6238 appendix B. Each algorithm has its own seed: 20, 32 and 64 bytes of "1234567890" repeated. */
describe('RFC 6238 test vectors', () => {
  const seed = (n: number) => new TextEncoder().encode('1234567890'.repeat(7).slice(0, n));
  const vectors: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  it.each(vectors)('T = %i s', (seconds, sha1, sha256, sha512) => {
    const at = seconds * 1000;
    expect(makeTotp(seed(20), { algorithm: 'SHA1', digits: 8 }).generate({ timestamp: at })).toBe(sha1);
    expect(makeTotp(seed(32), { algorithm: 'SHA256', digits: 8 }).generate({ timestamp: at })).toBe(sha256);
    expect(makeTotp(seed(64), { algorithm: 'SHA512', digits: 8 }).generate({ timestamp: at })).toBe(sha512);
  });
});

describeEachStore(SERVER_STORES, 'TOTP over HTTP', challengeAppOn, (t) => {
  const enrol = async (userId = 'alice') => {
    const e = await post(t, `/v1/users/${userId}/totp`);
    expect(e.status).toBe(200);
    return e.body as { secret: string; otpauthUri: string; qr: string };
  };
  const codeAt = (secret: string, ms: number) => makeTotp(secret).generate({ timestamp: ms });

  it('enrols with a secret, an otpauth:// URI and a QR code, and a first code confirms it', async () => {
    const e = await enrol();
    expect(e.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(e.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/riskgate:alice');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ issuer: 'riskgate', secret: e.secret, algorithm: 'SHA1', digits: '6', period: '30' });
    expect(e.qr).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(e.qr.split(',')[1]!, 'base64').subarray(1, 4).toString()).toBe('PNG');

    expect((await post(t, '/v1/users/alice/totp/confirm', { code: '000000' === codeAt(e.secret, t.clock.now) ? '111111' : '000000' })).body).toEqual({ status: 'invalid' });
    expect((await post(t, '/v1/users/alice/totp/confirm', { code: codeAt(e.secret, t.clock.now) })).body).toEqual({ status: 'confirmed' });
    // A confirmed enrolment is not replaced by a new one behind the user's back.
    expect((await post(t, '/v1/users/alice/totp')).body.error.code).toBe('TOTP_ALREADY_ENROLLED');
    expect((await post(t, '/v1/users/alice/totp/confirm', { code: '123456' })).body.error.code).toBe('TOTP_ALREADY_ENROLLED');
  });

  it('names the account as asked', async () => {
    const e = (await post(t, '/v1/users/alice/totp', { account: 'alice@example.com' })).body as { otpauthUri: string };
    expect(decodeURIComponent(new URL(e.otpauthUri).pathname)).toBe('/riskgate:alice@example.com');
  });

  it('an unconfirmed enrolment is not used for challenges, and can be replaced', async () => {
    await enrol();
    const again = await enrol();
    await habit(t, HOME);
    const d = await decide(t, { ...NEW_PHONE, phone: '+4791234567' });
    expect(d.body.challenge.channel).toBe('sms');
    expect((await t.store.challenges.getTotp('alice'))!.confirmed).toBe(false);
    expect(again.secret).toMatch(/^[A-Z2-7]{32}$/);
  });

  it('a challenge uses the confirmed authenticator first: ±1 step accepted, a replayed code refused', async () => {
    const e = await enrol();
    await post(t, '/v1/users/alice/totp/confirm', { code: codeAt(e.secret, t.clock.now) });
    await habit(t, HOME);
    t.clock.advance(10 * MINUTE);
    const d = await decide(t, { ...NEW_PHONE, phone: '+4791234567' });
    expect(d.body.challenge).toMatchObject({ channel: 'totp', delivered: true, destination: null, channels: [] });
    expect(t.outbox.messages).toHaveLength(0);
    const id = d.body.challenge.id;

    // The code of the previous step still works (the phone's clock is a little behind)...
    const previous = codeAt(e.secret, t.clock.now - 30_000);
    expect((await post(t, `/v1/challenges/${id}/verify`, { code: previous })).body).toEqual({ status: 'verified', attemptsLeft: 5 });

    // ...but no code is good twice, even for another challenge in the same step.
    t.clock.advance(1000);
    const d2 = await decide(t, { userId: 'alice', ip: IP.brazil, userAgent: UA.firefoxLinux, deviceId: 'd-tablet' });
    expect(d2.body.challenge.channel).toBe('totp');
    expect((await post(t, `/v1/challenges/${d2.body.challenge.id}/verify`, { code: previous })).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    expect((await t.store.audit.query({ ref: d2.body.challenge.id, kind: 'challenge.failed' }))).toHaveLength(1);
    // Two steps away is too far.
    expect((await post(t, `/v1/challenges/${d2.body.challenge.id}/verify`, { code: codeAt(e.secret, t.clock.now + 60_000) })).body.status).toBe('invalid');
    expect((await post(t, `/v1/challenges/${d2.body.challenge.id}/verify`, { code: codeAt(e.secret, t.clock.now + 30_000) })).body.status).toBe('verified');
  });

  it('matchingStep names the step of the code, within one step each way', () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    for (const d of [-1, 0, 1]) expect(matchingStep(secret, codeAt(secret, now + d * 30_000), now)).toBe(step + d);
    expect(matchingStep(secret, codeAt(secret, now + 2 * 30_000), now)).toBeNull();
    expect(matchingStep(secret, '12345', now)).toBeNull();
    expect(matchingStep(secret, '12345a', now)).toBeNull();
  });

  // A TOTP challenge is not moved to a code channel by /resend: test/abuse.downgrade.test.ts.

  it('DELETE removes the enrolment; challenges fall back to codes', async () => {
    const e = await enrol();
    await post(t, '/v1/users/alice/totp/confirm', { code: codeAt(e.secret, t.clock.now) });
    expect(await send(t, 'DELETE', '/v1/users/alice/totp')).toEqual({ status: 200, body: { status: 'deleted' } });
    expect(await send(t, 'DELETE', '/v1/users/alice/totp')).toMatchObject({ status: 404, body: { error: { code: 'TOTP_NOT_ENROLLED' } } });
    expect((await post(t, '/v1/users/alice/totp/confirm', { code: '123456' })).body.error.code).toBe('TOTP_NOT_ENROLLED');
    await habit(t, HOME);
    expect((await decide(t, { ...NEW_PHONE, phone: '+4791234567' })).body.challenge.channel).toBe('sms');
  });

  it('keeps the secret encrypted, bound to its user', async () => {
    const e = await enrol();
    const rec = (await t.store.challenges.getTotp('alice'))!;
    expect(rec.secretEnc).not.toContain(e.secret);
    expect(t.keys.open(rec.secretEnc, 'alice').plain).toBe(e.secret);
    expect(() => t.keys.open(rec.secretEnc, 'bob')).toThrow();
  });

  it('limits confirmation guesses per user', async () => {
    const e = await enrol();
    const bad = codeAt(e.secret, t.clock.now) === '000000' ? '111111' : '000000';
    for (let i = 0; i < 60; i++) await post(t, '/v1/users/alice/totp/confirm', { code: bad });
    const res = await t.app.inject({ method: 'POST', url: '/v1/users/alice/totp/confirm', headers: AUTH, payload: { code: codeAt(e.secret, t.clock.now) } });
    expect(res.statusCode).toBe(429);
    expect(res.json().error.code).toBe('VERIFY_RATE_LIMITED');
  });
});
