import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, LazyChildLogger, withRequestId } from '../src/log.js';
import { AUTH, IP, makeApp, type TestApp } from './helpers.js';

describe('request ids', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const decide = (headers: Record<string, string>, payload: Record<string, string> = { userId: 'u1', ip: IP.homeNO }) => t.app.inject({ method: 'POST', url: '/v1/decisions', headers: { ...AUTH, ...headers }, payload });

  it('echo a well-formed x-request-id, on answers and in error bodies', async () => {
    for (const id of ['a', 'checkout-42:1', '4bf92f3577b34da6a3ce929d0e0e4736', 'x'.repeat(128), 'A.b_c-9:0']) {
      const ok = await decide({ 'x-request-id': id });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-request-id']).toBe(id);
    }
    const bad = await decide({ 'x-request-id': 'trace-7' }, { userId: 'u1', ip: 'nope' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['x-request-id']).toBe('trace-7');
    expect(bad.json()).toEqual({ error: { code: 'INVALID_IP', message: expect.any(String), requestId: 'trace-7' } });
  });

  it('make one, different each time, when the client sends none or a malformed one', async () => {
    const seen = new Set<string>();
    for (const header of [{} as Record<string, string>, { 'x-request-id': '' }, { 'x-request-id': 'has space' }, { 'x-request-id': 'x'.repeat(129) }, { 'x-request-id': 'semi;colon' }, { 'x-request-id': 'é' }]) {
      const res = await decide(header);
      const id = String(res.headers['x-request-id']);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(6);
  });

  it('are on every answer: unknown routes, unauthorized calls, health, metrics', async () => {
    for (const [method, url, headers] of [
      ['GET', '/nope', {}],
      ['GET', '/v1/rules', {}],
      ['GET', '/healthz', {}],
      ['GET', '/metrics', {}],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: { ...headers, 'x-request-id': 'r-1' } });
      expect(res.headers['x-request-id'], url).toBe('r-1');
      if (res.statusCode >= 400) expect(res.json().error.requestId).toBe('r-1');
    }
  });

  it('INTERNAL names the request id to search the log for', async () => {
    t.engine.decide = () => Promise.reject(new Error('boom'));
    const res = await decide({ 'x-request-id': 'find-me' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error; the server log has the details under requestId find-me', requestId: 'find-me' } });
  });

  it('are on every line logged while the request is served, once, even by a logger that is not the request\'s own', () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    withRequestId('req-9', () => {
      logger.error({ store: 'postgres' }, 'state store unavailable'); // the server's logger, as the store guard uses it
      logger.child({ requestId: 'req-9' }).info('request completed'); // the request's own logger (Fastify's req.log)
      logger.info({ event: 'decision', requestId: 'req-9' }, 'audit event');
    });
    logger.info('riskgate listening');
    expect(lines.map((l) => (l.match(/"requestId"/g) ?? []).length)).toEqual([1, 1, 1, 0]);
    expect(lines.slice(0, 3).map((l) => (JSON.parse(l) as { requestId: string }).requestId)).toEqual(['req-9', 'req-9', 'req-9']);
  });

  it('a request\'s logger writes what a pino child would, and becomes one only for a line its level lets out', () => {
    const lines: string[] = [];
    const logger = createLogger('warn', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    let children = 0;
    const counting = new Proxy(logger, { get: (t, p, r) => (p === 'child' ? (...a: Parameters<typeof t.child>) => (children++, t.child(...a)) : Reflect.get(t, p, r)) });
    const lazy = LazyChildLogger.factory(counting, { requestId: 'r-5' }, {}) as LazyChildLogger;
    lazy.info({ a: 1 }, 'not at warn');
    expect([children, lines.length, lazy.level]).toEqual([0, 0, 'warn']);
    lazy.warn({ a: 1, code: '123456' }, 'at warn');
    logger.child({ requestId: 'r-5' }).warn({ a: 1, code: '123456' }, 'at warn');
    expect(children).toBe(1);
    const strip = (l: string) => ({ ...(JSON.parse(l) as Record<string, unknown>), time: 0 });
    expect(lines.map(strip)).toEqual([strip(lines[1]!), strip(lines[1]!)]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ requestId: 'r-5', a: 1, code: '[redacted]', msg: 'at warn' });
  });
});
