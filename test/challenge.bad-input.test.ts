import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, IP, habit } from './helpers.js';
import { HOME, NEW_PHONE, makeChallengeApp, type ChallengeApp } from './challenge-helpers.js';

describe('bad input to the challenge routes: a 4xx with {error:{code,message}}, and nothing stored changes', () => {
  let t: ChallengeApp;
  let challengeId: string;
  const snapshot = () =>
    Promise.all([
      t.store.audit.query({ limit: 1000 }),
      t.store.db.prepare('SELECT * FROM challenges ORDER BY id').all(),
      t.store.db.prepare('SELECT * FROM totp').all(),
      t.store.db.prepare('SELECT * FROM recovery_codes').all(),
      t.store.db.prepare('SELECT * FROM trusted_devices').all(),
      t.store.db.prepare('SELECT * FROM profiles').all(),
    ]);

  beforeAll(async () => {
    t = await makeChallengeApp();
    await habit(t, HOME);
    const res = await t.app.inject({ method: 'POST', url: '/v1/decisions', headers: AUTH, payload: { ...NEW_PHONE, phone: '+4791234567' } });
    challengeId = res.json().challenge.id;
  });
  afterAll(() => t.close());

  const req = (method: 'POST' | 'GET' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = AUTH) =>
    t.app.inject({
      method,
      url,
      headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
    });

  const decision = { ...NEW_PHONE, ip: IP.brazil };
  const cases: [string, () => ReturnType<typeof req>, number, string][] = [
    ['a phone number that is not one', () => req('POST', '/v1/decisions', { ...decision, phone: '+47123' }), 400, 'INVALID_PHONE'],
    ['a national number without its country', () => req('POST', '/v1/decisions', { ...decision, phone: '912 34 567' }), 400, 'INVALID_PHONE'],
    ['a national number with the wrong country', () => req('POST', '/v1/decisions', { ...decision, phone: '912 34 567', country: 'US' }), 400, 'INVALID_PHONE'],
    ['letters for a phone number', () => req('POST', '/v1/decisions', { ...decision, phone: 'call me maybe' }), 400, 'INVALID_PHONE'],
    ['verify with neither code nor recovery code', () => req('POST', `/v1/challenges/${challengeId}/verify`, {}), 400, 'INVALID_REQUEST'],
    ['verify with both', () => req('POST', `/v1/challenges/${challengeId}/verify`, { code: '123456', recoveryCode: 'ABCDE-FGHJK' }), 400, 'INVALID_REQUEST'],
    ['verify with an empty code', () => req('POST', `/v1/challenges/${challengeId}/verify`, { code: '' }), 400, 'INVALID_REQUEST'],
    ['verify with an unknown field', () => req('POST', `/v1/challenges/${challengeId}/verify`, { code: '123456', trust: true }), 400, 'INVALID_REQUEST'],
    ['verify with a 1 KB code', () => req('POST', `/v1/challenges/${challengeId}/verify`, { code: '1'.repeat(1024) }), 400, 'INVALID_REQUEST'],
    ['verify with trustDevice not a boolean', () => req('POST', `/v1/challenges/${challengeId}/verify`, { code: '123456', trustDevice: 'yes please' }), 400, 'INVALID_REQUEST'],
    ['verify with an ip that is not an address', () => req('POST', `/v1/challenges/${challengeId}/verify`, { code: '123456', ip: 'localhost' }), 400, 'INVALID_IP'],
    ['verify with a body that is not JSON', () => req('POST', `/v1/challenges/${challengeId}/verify`, '{"code":'), 400, 'INVALID_JSON'],
    ['verify without an API key', () => req('POST', `/v1/challenges/${challengeId}/verify`, { code: '123456' }, {}), 401, 'UNAUTHORIZED'],
    ['verify an unknown challenge', () => req('POST', '/v1/challenges/nope/verify', { code: '123456' }), 404, 'CHALLENGE_NOT_FOUND'],
    ['verify with an id longer than any id', () => req('POST', `/v1/challenges/${'a'.repeat(65)}/verify`, { code: '123456' }), 400, 'INVALID_REQUEST'],
    ['resend to a channel that does not exist', () => req('POST', `/v1/challenges/${challengeId}/resend`, { channel: 'pigeon' }), 400, 'INVALID_REQUEST'],
    ['resend by e-mail with no address given', () => req('POST', `/v1/challenges/${challengeId}/resend`, { channel: 'email' }), 409, 'CHANNEL_UNAVAILABLE'],
    ['resend an unknown challenge', () => req('POST', '/v1/challenges/nope/resend', {}), 404, 'CHALLENGE_NOT_FOUND'],
    ['confirm TOTP that was never enrolled', () => req('POST', '/v1/users/alice/totp/confirm', { code: '123456' }), 404, 'TOTP_NOT_ENROLLED'],
    ['confirm TOTP without a code', () => req('POST', '/v1/users/alice/totp/confirm', {}), 400, 'INVALID_REQUEST'],
    ['delete TOTP that was never enrolled', () => req('DELETE', '/v1/users/alice/totp'), 404, 'TOTP_NOT_ENROLLED'],
    ['revoke an unknown trusted device', () => req('DELETE', '/v1/users/alice/trusted-devices/nope'), 404, 'TRUSTED_DEVICE_NOT_FOUND'],
    ['a user id that is too long', () => req('POST', `/v1/users/${'u'.repeat(300)}/recovery-codes`), 400, 'INVALID_REQUEST'],
    ['a path parameter past what the router takes', () => req('POST', `/v1/users/${'u'.repeat(400)}/recovery-codes`), 400, 'INVALID_REQUEST'],
    ['a decision id past what the router takes', () => req('POST', `/v1/decisions/${'d'.repeat(400)}/feedback`, { outcome: 'confirmed_fraud' }), 400, 'INVALID_REQUEST'],
  ];

  it.each(cases)('%s', async (_name, send, status, code) => {
    const before = await snapshot();
    const res = await send();
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: { code, message: expect.any(String), requestId: res.headers['x-request-id'] } });
    expect(res.body).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(await snapshot()).toEqual(before);
  });

  it('a national number with its country is taken, in E.164', async () => {
    const res = await req('POST', '/v1/decisions', { ...decision, phone: '912 34 567', country: 'no' });
    expect(res.statusCode).toBe(200);
    expect(t.outbox.last()!.to).toBe('+4791234567');
  });
});
