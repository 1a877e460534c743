import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, IP, makeApp, type TestApp } from './helpers.js';

describe('bad input gets a 4xx with {error:{code,message}} naming the field, and changes nothing', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
  });
  afterAll(() => t.close());

  const post = (url: string, payload: unknown, headers: Record<string, string> = { ...AUTH, 'content-type': 'application/json' }) =>
    t.app.inject({ method: 'POST', url, headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

  const cases: [string, () => ReturnType<typeof post>, number, string][] = [
    ['missing userId', () => post('/v1/decisions', { ip: IP.homeNO }), 400, 'INVALID_REQUEST'],
    ['missing ip', () => post('/v1/decisions', { userId: 'u' }), 400, 'INVALID_REQUEST'],
    ['userId of the wrong type', () => post('/v1/decisions', { userId: { a: 1 }, ip: IP.homeNO }), 400, 'INVALID_REQUEST'],
    ['empty userId', () => post('/v1/decisions', { userId: '', ip: IP.homeNO }), 400, 'INVALID_REQUEST'],
    ['unknown field (a typo)', () => post('/v1/decisions', { userId: 'u', ip: IP.homeNO, deviceID: 'x' }), 400, 'INVALID_REQUEST'],
    ['invalid IPv4', () => post('/v1/decisions', { userId: 'u', ip: '300.1.2.3' }), 400, 'INVALID_IP'],
    ['invalid IPv6', () => post('/v1/decisions', { userId: 'u', ip: '2001:db8::g' }), 400, 'INVALID_IP'],
    ['hostname instead of address', () => post('/v1/decisions', { userId: 'u', ip: 'example.com' }), 400, 'INVALID_IP'],
    ['24 KB user agent', () => post('/v1/decisions', { userId: 'u', ip: IP.homeNO, userAgent: 'A'.repeat(24 * 1024) }), 400, 'INVALID_REQUEST'],
    ['body that is not JSON', () => post('/v1/decisions', '{"userId": "u", ip'), 400, 'INVALID_JSON'],
    ['empty JSON body', () => post('/v1/decisions', ''), 400, 'INVALID_JSON'],
    ['JSON that is not an object', () => post('/v1/decisions', '[1,2]'), 400, 'INVALID_REQUEST'],
    ['oversize body', () => post('/v1/decisions', { userId: 'u', ip: IP.homeNO, userAgent: 'A'.repeat(100 * 1024) }), 413, 'BODY_TOO_LARGE'],
    ['not JSON at all', () => post('/v1/decisions', 'userId=u', { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['missing API key', () => post('/v1/decisions', { userId: 'u', ip: IP.homeNO }, { 'content-type': 'application/json' }), 401, 'UNAUTHORIZED'],
    ['wrong API key', () => post('/v1/decisions', { userId: 'u', ip: IP.homeNO }, { authorization: 'Bearer nope', 'content-type': 'application/json' }), 401, 'UNAUTHORIZED'],
    ['malformed authorization header', () => post('/v1/decisions', { userId: 'u', ip: IP.homeNO }, { authorization: 'Basic dTpw', 'content-type': 'application/json' }), 401, 'UNAUTHORIZED'],
    ['unknown route', () => post('/v1/nothing-here', {}), 404, 'NOT_FOUND'],
    ['unknown decision id', () => post('/v1/decisions/does-not-exist/feedback', { outcome: 'confirmed_fraud' }), 404, 'DECISION_NOT_FOUND'],
    ['unknown feedback outcome', () => post('/v1/decisions/x/feedback', { outcome: 'maybe' }), 400, 'INVALID_REQUEST'],
    ['login failure with invalid ip', () => post('/v1/login-failures', { userId: 'u', ip: '1.2.3' }), 400, 'INVALID_IP'],
    ['login failure without userId', () => post('/v1/login-failures', { ip: IP.homeNO }), 400, 'INVALID_REQUEST'],
  ];

  it.each(cases)('%s', async (_name, send, status, code) => {
    const before = await t.store.audit.query({ limit: 1000 });
    const res = await send();
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(body).toEqual({ error: { code, message: expect.any(String), requestId: res.headers['x-request-id'] } });
    expect(res.body).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
    expect(await t.store.audit.query({ limit: 1000 })).toEqual(before);
  });

  it('a bad audit query is a 400, not a 500', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/audit?since=yesterday', headers: AUTH });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_REQUEST');
  });

  // No coercion: a field is taken only in the type its schema gives, and a wrong one is a 400
  // that names the field. (Fastify's default coercion took `userId: 42`, `true` and `["a"]`.)
  const login = { userId: 'u-strict', ip: IP.homeNO };
  const WRONG: [string, unknown][] = [
    ['a number', 42],
    ['true', true],
    ['an array of one string', ['a']],
    ['null', null],
    ['an object', { a: 'b' }],
  ];
  const FIELDS: [url: string, base: Record<string, unknown>, field: string][] = [
    ...['userId', 'ip', 'userAgent', 'deviceId', 'trustToken', 'action', 'phone', 'email'].map((f): [string, Record<string, unknown>, string] => ['/v1/decisions', login, f]),
    ...['userId', 'ip', 'userAgent', 'deviceId'].map((f): [string, Record<string, unknown>, string] => ['/v1/login-failures', login, f]),
    ['/v1/decisions/x/feedback', {}, 'outcome'],
    ['/v1/challenges/x/verify', {}, 'code'],
    ['/v1/challenges/x/verify', {}, 'recoveryCode'],
    ['/v1/challenges/x/verify', { code: '123456' }, 'ip'],
    ['/v1/challenges/x/resend', {}, 'channel'],
    ['/v1/users/u/totp/confirm', {}, 'code'],
    ['/v1/users/u/totp', {}, 'account'],
  ];
  const wrongTypes = FIELDS.flatMap(([url, base, field]) => WRONG.map(([what, value]) => [`${url} ${field} as ${what}`, url, { ...base, [field]: value }, field] as const));

  it.each(wrongTypes)('%s is a 400 naming the field', async (_name, url, body, field) => {
    const before = await t.store.audit.query({ limit: 1000 });
    const res = await post(url, body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'INVALID_REQUEST', message: expect.stringContaining(`body field "${field}"`), requestId: expect.any(String) } });
    expect(await t.store.audit.query({ limit: 1000 })).toEqual(before);
  });

  it('trustDevice must be true or false, not the string "true"', async () => {
    const res = await post('/v1/challenges/x/verify', { code: '123456', trustDevice: 'true' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toBe('body field "trustDevice" must be true or false, not a string');
  });

  it('a feedback outcome that is not one of the four names them, once', async () => {
    const res = await post('/v1/decisions/x/feedback', { outcome: 'maybe' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toBe('body field "outcome" must be one of "passed_challenge", "failed_challenge", "confirmed_fraud", "confirmed_legit" (got "maybe")');
  });

  it('a code is a string of digits: a JSON number is refused, saying why', async () => {
    const res = await post('/v1/challenges/x/verify', { code: 123456 });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toBe('body field "code" must be a string, not a whole number');
    const letters = await post('/v1/challenges/x/verify', { code: 'abcdef' });
    expect(letters.json().error.message).toMatch(/^body field "code" must be a string of digits such as "012345"/);
  });

  it('an unknown field names itself and the fields there are', async () => {
    const res = await post('/v1/decisions', { ...login, deviceID: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toBe('body field "deviceID" is unknown (body fields: userId, ip, userAgent, deviceId, trustToken, phone, country, email, action, fingerprint, deviceProof)');
  });

  it('a missing field and a body that is not an object say so', async () => {
    expect((await post('/v1/decisions', { ip: IP.homeNO })).json().error.message).toBe('body field "userId" is missing');
    expect((await post('/v1/decisions', [login])).json().error.message).toBe('the body must be a JSON object, not an array');
  });

  it('text/plain is refused with 415, not read as a string', async () => {
    const res = await post('/v1/decisions', JSON.stringify(login), { ...AUTH, 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('a user id with a lone surrogate or a control character is refused: it would not survive storage as itself', async () => {
    for (const userId of ['\ud800', 'a\udfffb', 'alice\nadmin', 'a\u0000']) {
      const res = await post('/v1/decisions', { ...login, userId });
      expect(res.statusCode, JSON.stringify(userId)).toBe(400);
      expect(res.json().error.message).toContain('body field "userId"');
    }
    // Paired surrogates (an emoji) and other scripts are fine.
    expect((await post('/v1/decisions', { ...login, userId: 'ålesund-🦊-東京' })).statusCode).toBe(200);
  });

  describe('query strings are text: numbers in them are digits, and a field given twice is refused', () => {
    const get = (url: string) => t.app.inject({ method: 'GET', url, headers: AUTH });
    it.each([
      ['limit=abc', 'query field "limit" must be a whole number from 1 to 1000'],
      ['limit=0', 'query field "limit" must be a whole number from 1 to 1000'],
      ['limit=1e2', 'query field "limit" must be a whole number from 1 to 1000'],
      ['limit=1001', 'query field "limit" must be a whole number from 1 to 1000'],
      ['userId=a&userId=b', 'query field "userId" must be a string, not an array'],
      ['since=yesterday', 'query field "since" must be a date and time like 2026-03-02T08:00:00Z'],
    ])('%s', async (q, message) => {
      const res = await get(`/v1/audit?${q}`);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error: { code: 'INVALID_REQUEST', message, requestId: expect.any(String) } });
    });
    it('limit=5 is five', async () => {
      for (let i = 0; i < 6; i++) await post('/v1/decisions', { ...login, userId: `q${i}` });
      const res = await get('/v1/audit?limit=5&kind=decision');
      expect(res.statusCode).toBe(200);
      expect(res.json().entries).toHaveLength(5);
    });
  });
});
