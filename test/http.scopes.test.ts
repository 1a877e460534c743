import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { ApiKeys } from '../src/http/auth.js';
import { IP, makeApp, type TestApp } from './helpers.js';

/** One key per scope, and a bare key (decide+factors). */
const KEYS = { decide: 'key-decide', factors: 'key-factors', admin: 'key-admin', bare: 'key-bare' };

describe('API keys carry scopes: decide, factors, admin', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ apiKeys: [`${KEYS.decide}:decide`, `${KEYS.factors}:factors`, `${KEYS.admin}:admin`, KEYS.bare] });
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, key: string) =>
    t.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(method === 'POST' ? { payload: '{}' } : {}) });

  /** Every route under /v1 as the OpenAPI document lists it, path parameters filled in. */
  const routes = async (): Promise<[string, string][]> => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    return Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/v1/'))
      .flatMap(([p, methods]) => Object.keys(methods).map((m): [string, string] => [m.toUpperCase(), p.replace(/\{[^}]+\}/g, 'x')]));
  };

  it('every route under /v1 needs exactly one scope: one of the single-scope keys passes, the other two get 403 INSUFFICIENT_SCOPE', async () => {
    const all = await routes();
    expect(all.length).toBeGreaterThanOrEqual(14);
    for (const [method, url] of all) {
      const passed: string[] = [];
      for (const scope of ['decide', 'factors', 'admin'] as const) {
        const res = await call(method, url, KEYS[scope]);
        if (res.statusCode === 403) {
          expect(res.json()).toEqual({ error: { code: 'INSUFFICIENT_SCOPE', message: expect.stringContaining('scope'), requestId: expect.any(String) } });
          expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
        } else passed.push(scope);
      }
      expect(passed, `${method} ${url}`).toHaveLength(1);
    }
  });

  const expected: [string, string, 'decide' | 'factors' | 'admin'][] = [
    ['POST', '/v1/decisions', 'decide'],
    ['POST', '/v1/login-failures', 'decide'],
    ['POST', '/v1/decisions/x/feedback', 'decide'],
    ['POST', '/v1/challenges/x/verify', 'decide'],
    ['POST', '/v1/challenges/x/resend', 'decide'],
    ['POST', '/v1/users/alice/totp', 'factors'],
    ['POST', '/v1/users/alice/totp/confirm', 'factors'],
    ['DELETE', '/v1/users/alice/totp', 'factors'],
    ['POST', '/v1/users/alice/recovery-codes', 'factors'],
    ['GET', '/v1/users/alice/trusted-devices', 'factors'],
    ['DELETE', '/v1/users/alice/trusted-devices/x', 'factors'],
    ['GET', '/v1/rules', 'admin'],
    ['POST', '/v1/admin/rules/reload', 'admin'],
    ['GET', '/v1/audit', 'admin'],
  ];

  it.each(expected)('%s %s needs %s', async (method, url, scope) => {
    for (const other of ['decide', 'factors', 'admin'] as const) {
      const status = (await call(method, url, KEYS[other])).statusCode;
      if (other === scope) expect(status).not.toBe(403);
      else expect(status).toBe(403);
    }
  });

  it('a bare key is decide+factors: it decides and mints recovery codes, but reads no audit trail and reloads no rules', async () => {
    expect((await call('POST', '/v1/users/alice/recovery-codes', KEYS.bare)).statusCode).toBe(200);
    const d = await t.app.inject({ method: 'POST', url: '/v1/decisions', headers: { authorization: `Bearer ${KEYS.bare}` }, payload: { userId: 'alice', ip: IP.homeNO } });
    expect(d.statusCode).toBe(200);
    for (const [method, url] of [['GET', '/v1/audit'], ['GET', '/v1/rules'], ['POST', '/v1/admin/rules/reload']] as const) {
      expect((await call(method, url, KEYS.bare)).statusCode).toBe(403);
    }
  });

  it('the decision key can no longer delete a TOTP enrolment, mint recovery codes or read the audit trail', async () => {
    for (const [method, url] of [['DELETE', '/v1/users/alice/totp'], ['POST', '/v1/users/alice/recovery-codes'], ['GET', '/v1/audit?userId=alice'], ['POST', '/v1/admin/rules/reload']] as const) {
      expect((await call(method, url, KEYS.decide)).statusCode).toBe(403);
    }
  });

  it('a wrong key is still 401, before any scope is looked at', async () => {
    const res = await call('GET', '/v1/audit', 'nope');
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });
});

describe('RISKGATE_API_KEYS entries', () => {
  it('are `key` or `key:scope+scope`', () => {
    const keys = new ApiKeys(['a', 'b:admin', 'c:decide+admin', 'd:factors+factors']);
    expect([...keys.verify('a')!].sort()).toEqual(['decide', 'factors']);
    expect([...keys.verify('b')!]).toEqual(['admin']);
    expect([...keys.verify('c')!].sort()).toEqual(['admin', 'decide']);
    expect([...keys.verify('d')!]).toEqual(['factors']);
    expect(keys.verify('b:admin')).toBeNull();
    expect(keys.verify('e')).toBeNull();
  });

  it('refuse an unknown or empty scope, naming the entry and never the key', () => {
    for (const [spec, message] of [
      ['s3cret:admn', /entry 2: unknown scope "admn" \(scopes: decide, factors, admin\)/],
      ['s3cret:', /entry 2: unknown scope ""/],
      ['s3cret:decide+', /entry 2: unknown scope ""/],
      [':admin', /entry 2: the key is empty/],
    ] as const) {
      const err = (() => {
        try {
          new ApiKeys(['fine', spec]);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('s3cret');
    }
  });
});
