import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, IP, makeApp, type TestApp } from './helpers.js';

describe('bad input gets a 4xx with {error:{code,message}} and changes nothing', () => {
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
});
