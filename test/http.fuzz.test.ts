import { expect, it } from 'vitest';
import { AUTH, IP, decide } from './helpers.js';
import { challengeAppAtHome, NEW_PHONE } from './challenge-helpers.js';
import { SERVER_STORES, describeEachStore } from './stores.js';

/**
 * A bad-input corpus thrown at every route: wrong types, huge values, odd Unicode, arrays for
 * strings, deep nesting, odd ids. Whatever comes in, the answer is a 2xx or a 4xx in the
 * API's error shape: never a 500, never a stack trace.
 */
const HOSTILE: unknown[] = [
  0,
  -1,
  1.5,
  1e308,
  -0,
  true,
  false,
  null,
  '',
  ' ',
  'x'.repeat(10_000),
  ['a'],
  [],
  {},
  { $gt: '' },
  nest(200),
  '\u202e\u0000\ufeff',
  '\ud800',
  '\udc00x',
  '١٢٣٤٥٦',
  '１２３４５６',
  '𝟘𝟙𝟚𝟛𝟜𝟝',
  'e\u0301'.repeat(50),
  '🦊'.repeat(100),
  "' OR 1=1 --",
  '../../etc/passwd',
  '%00',
  'fe80::1%eth0',
  '::ffff:1.2.3.4',
  '2002:c000:0204::1',
  '1.2.3.4/24',
  '+44 909 879 0000',
  '+1 900 555 0100',
  'rgt1.00000000-0000-0000-0000-000000000000.1.' + 'a'.repeat(64),
];

function nest(depth: number): unknown {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

const ROUTES: [method: 'POST' | 'GET' | 'DELETE', path: string, base: Record<string, unknown>][] = [
  ['POST', '/v1/decisions', { userId: 'fuzz', ip: IP.homeNO }],
  ['POST', '/v1/login-failures', { userId: 'fuzz', ip: IP.homeNO }],
  ['POST', '/v1/decisions/{decision}/feedback', { outcome: 'confirmed_legit' }],
  ['POST', '/v1/challenges/{challenge}/verify', { code: '123456' }],
  ['POST', '/v1/challenges/{challenge}/resend', {}],
  ['POST', '/v1/users/{user}/totp', {}],
  ['POST', '/v1/users/{user}/totp/confirm', { code: '123456' }],
  ['DELETE', '/v1/users/{user}/totp', {}],
  ['POST', '/v1/users/{user}/recovery-codes', {}],
  ['GET', '/v1/users/{user}/trusted-devices', {}],
  ['DELETE', '/v1/users/{user}/trusted-devices/{challenge}', {}],
];
const FIELDS: Record<string, string[]> = {
  '/v1/decisions': ['userId', 'ip', 'userAgent', 'deviceId', 'trustToken', 'phone', 'country', 'email', 'action', '__proto__', 'constructor'],
  '/v1/login-failures': ['userId', 'ip', 'userAgent', 'deviceId'],
  '/v1/decisions/{decision}/feedback': ['outcome'],
  '/v1/challenges/{challenge}/verify': ['code', 'recoveryCode', 'trustDevice', 'ip'],
  '/v1/challenges/{challenge}/resend': ['channel'],
  '/v1/users/{user}/totp': ['account'],
  '/v1/users/{user}/totp/confirm': ['code'],
};
const ODD_IDS = ['x', '%ED%A0%80', '%ZZ', '..%2F..%2Fadmin', encodeURIComponent('🦊'), 'a'.repeat(400), '%00', encodeURIComponent('\u202e')];

describeEachStore(SERVER_STORES, 'the bad-input corpus finds nothing', challengeAppAtHome, (t) => {
  it('answers every hostile input with a 2xx or a 4xx in the error shape', async () => {
    const d = await decide(t, { ...NEW_PHONE, phone: '+4791234567' });
    const ids = { decision: d.body.decisionId as string, challenge: d.body.challenge.id as string, user: 'alice' };
    const findings: string[] = [];
    const check = async (method: 'POST' | 'GET' | 'DELETE', url: string, payload?: string, contentType = 'application/json') => {
      const res = await t.app.inject({ method, url, headers: { ...AUTH, ...(payload === undefined ? {} : { 'content-type': contentType }) }, ...(payload === undefined ? {} : { payload }) });
      const what = `${method} ${url.slice(0, 80)} ${String(payload).slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 200)}`;
      if (res.statusCode >= 500 || /at .*\.(ts|js):\d+/.test(res.body)) findings.push(what);
      else if (res.statusCode >= 400 && !(res.json() as { error?: { code?: unknown; message?: unknown } }).error?.code) findings.push(what);
    };
    for (const [method, path, base] of ROUTES) {
      const url = path.replace(/\{(\w+)\}/g, (_, k: keyof typeof ids) => ids[k]);
      for (const field of FIELDS[path] ?? []) {
        for (const value of HOSTILE) await check(method, url, JSON.stringify({ ...base, [field]: value }));
      }
      for (const body of ['', 'null', '[]', '"text"', '42', '{', '{"a":1}{"b":2}', '{"userId":"a","userId":"b","ip":"1.2.3.4"}', `${'['.repeat(5000)}1${']'.repeat(5000)}`, `{"__proto__":{"x":1}}`]) await check(method, url, body);
      await check(method, url, JSON.stringify(base), 'text/plain');
      await check(method, url, JSON.stringify(base), 'application/x-www-form-urlencoded');
      for (const id of ODD_IDS) await check(method, path.replace(/\{\w+\}/g, id), method === 'POST' ? JSON.stringify(base) : undefined);
    }
    for (const q of ['limit=-1', 'limit=99999999999999999999', 'since=2026-13-45T99:99:99Z', 'userId=%ED%A0%80', 'kind[]=a', 'ref=' + 'r'.repeat(100), 'x=1', 'limit=%F0%9F%A6%8A']) await check('GET', `/v1/audit?${q}`);
    expect(findings).toEqual([]);
  });
});
