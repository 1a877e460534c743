import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: the example is plain JavaScript, as an integrator might copy it
import { buildLoginService } from '../examples/login-service/server.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type Server } from '../src/server.js';
import { IP, RULES_DIR, UA } from './helpers.js';

interface Inject {
  inject(o: { method: string; url: string; payload?: unknown; headers?: Record<string, string>; remoteAddress?: string }): Promise<{ statusCode: number; json(): Record<string, unknown>; cookies: { name: string; value: string; maxAge?: number; httpOnly?: boolean; secure?: boolean; sameSite?: string }[] }>;
  close(): Promise<void>;
}

/** The example login service (examples/login-service) against a real riskgate, over HTTP. */
describe('examples/login-service', () => {
  let riskgate: Server;
  let service: Inject;
  const codes = new Map<string, string>();
  beforeAll(async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-example-'));
    riskgate = await startServer({
      config: loadConfig({ data, rules: RULES_DIR, port: '0' }),
      env: { RISKGATE_API_KEYS: 'rg_login_service:decide' },
      logger: createLogger('silent'),
      // The development outbox prints each code; the test reads it as the user would read the SMS.
      announce: (line) => {
        const m = /\(challenge ([0-9a-f-]+)\): (\d+) /.exec(line);
        if (m) codes.set(m[1]!, m[2]!);
      },
    });
    service = buildLoginService({ riskgateUrl: riskgate.url, riskgateKey: 'rg_login_service', users: { alice: { password: 'correct horse', phone: '+4791234567' }, bob: { password: 'battery staple' } } }) as Inject;
  });
  afterAll(async () => {
    await service.close();
    await riskgate.close();
  });

  const login = (username: string, password: string, ip: string, cookie = '') =>
    service.inject({ method: 'POST', url: '/login', payload: { username, password }, headers: { 'user-agent': UA.chromeWindows, ...(cookie ? { cookie } : {}) }, remoteAddress: ip });
  const cookieHeader = (res: { cookies: { name: string; value: string }[] }, before = '') =>
    [before, ...res.cookies.map((c) => `${c.name}=${encodeURIComponent(c.value)}`)].filter(Boolean).join('; ');

  it('mints a device id, lets the familiar login in, steps up a new device abroad, and trusts it once verified', async () => {
    const first = await login('alice', 'correct horse', IP.homeNO);
    expect(first.statusCode).toBe(200);
    const device = first.cookies.find((c) => c.name === 'rg_did')!;
    expect(device).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', maxAge: 400 * 86400 });
    const home = cookieHeader(first);
    for (let i = 0; i < 3; i++) expect((await login('alice', 'correct horse', IP.homeNO, home)).json()).toEqual({ session: 'session-for-alice' });

    const abroad = await login('alice', 'correct horse', IP.brazil);
    const { challenge } = abroad.json() as { challenge: { id: string; channel: string } };
    expect(challenge.channel).toBe('sms');
    expect((await service.inject({ method: 'POST', url: '/login/verify', payload: { challengeId: challenge.id, code: '000000' } })).statusCode).toBe(401);
    const verified = await service.inject({ method: 'POST', url: '/login/verify', payload: { challengeId: challenge.id, code: codes.get(challenge.id), trustDevice: true } });
    expect(verified.json()).toEqual({ session: 'session-for-alice' });
    expect(verified.cookies.find((c) => c.name === 'rg_trust')).toMatchObject({ httpOnly: true, sameSite: 'Strict', maxAge: 30 * 86400 });
    // The trusted device logs in from that network again without a step-up.
    const again = await login('alice', 'correct horse', IP.brazil, cookieHeader(verified, cookieHeader(abroad)));
    expect(again.json()).toEqual({ session: 'session-for-alice' });
  });

  it('reports wrong passwords, and refuses a step-up it cannot make (no second factor)', async () => {
    expect((await login('bob', 'nope', IP.homeNO)).statusCode).toBe(401);
    const first = await login('bob', 'battery staple', IP.homeNO);
    expect(first.statusCode).toBe(200);
    for (let i = 0; i < 3; i++) await login('bob', 'battery staple', IP.homeNO, cookieHeader(first));
    const stranger = await login('bob', 'battery staple', IP.japan);
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json()).toEqual({ error: 'verify your identity with support' });
  });
});
