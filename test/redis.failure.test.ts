import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type Server } from '../src/server.js';
import { RedisBackend } from '../src/store/redis/backend.js';
import { DAY, IP, RULES_DIR, TestClock, UA } from './helpers.js';
import { ThrowawayRedis, freePort, redisServerSkip, skippedTitle } from './redis-helpers.js';

/**
 * The fail modes with a Redis that really goes away: a redis-server of the test's own, killed
 * (connections refused), paused with SIGSTOP (connections open, no answers) and brought back.
 * The only real waiting is for the store timeout and for ioredis to reconnect; how long a
 * request waits is test/store-failure.test.ts's to show, with deadlines it controls.
 */
const SECRET = 'ab'.repeat(32);
const KEY = 'failure-test-key';
/** The key as RISKGATE_API_KEYS gives it: every scope, since the test reads the audit trail too. */
const KEYS = `${KEY}:decide+factors+admin`;
const home = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' };

interface Answer {
  status: number;
  body: { action?: string; reasons: { rule: string; message: string }[]; [k: string]: unknown };
}

describe.skipIf(redisServerSkip !== null)(skippedTitle('when Redis goes away', redisServerSkip), () => {
  let redis: ThrowawayRedis | null;
  let server: Server | null;
  let dir: string;
  let clock: TestClock;
  /** The code the console outbox sent last. */
  let lastCode = '';

  async function serve(url: string, failMode: 'open' | 'closed', timeoutMs: number): Promise<Server> {
    dir = await mkdtemp(join(tmpdir(), 'riskgate-failure-'));
    const file = join(dir, 'riskgate.yaml');
    await writeFile(file, `store:\n  failMode: ${failMode}\n  timeoutMs: ${timeoutMs}\n`);
    server = await startServer({
      config: loadConfig({ config: file, data: dir, rules: RULES_DIR, port: '0' }),
      env: { REDIS_URL: url, RISKGATE_API_KEYS: KEYS, RISKGATE_SECRET: SECRET },
      clock: clock.read,
      logger: createLogger('silent'),
      announce: (line) => {
        const sent = /\): (\d+) is your/.exec(line);
        if (sent) lastCode = sent[1]!;
      },
    });
    return server;
  }

  async function post(path: string, body: unknown): Promise<Answer> {
    const res = await fetch(`${server!.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  }
  const decide = (body: unknown) => post('/v1/decisions', body);
  const health = async () => {
    const res = await fetch(`${server!.url}/healthz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const metrics = async () => (await fetch(`${server!.url}/metrics`)).text();
  /** riskgate's Redis connection is up again (ioredis reconnects in the background: its "ready" event), and /healthz says so. */
  async function recovered(): Promise<void> {
    const store = server!.store;
    if (!(store instanceof RedisBackend) || !(await store.ready(5000))) throw new Error('riskgate did not reconnect');
    expect((await health()).status).toBe(200);
  }
  async function habit(): Promise<void> {
    clock.advance(-5 * DAY);
    for (let i = 0; i < 5; i++) {
      expect((await decide(home)).body.action).toBe('allow');
      clock.advance(DAY);
    }
    expect((await decide(home)).body).toMatchObject({ action: 'allow', reasons: [] });
  }

  beforeEach(() => {
    redis = null;
    server = null;
    clock = new TestClock();
  });
  afterEach(async () => {
    await server?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fail-closed: a killed Redis makes every login a challenge, says why, shows in /healthz and /metrics; riskgate recovers by itself', async () => {
    redis = await ThrowawayRedis.start();
    await serve(redis.url, 'closed', 2000);
    await habit();

    await redis.kill();
    const d = await decide(home);
    expect(d.status).toBe(200);
    expect(d.body.action).toBe('challenge');
    // Refused connections fail at once (an error, not the long timeout).
    expect(d.body.reasons.at(-1)).toEqual({ rule: 'riskgate.store_unavailable', points: 0, message: 'state store unreachable or failing: decided without history (fail-closed: at least a challenge)' });
    // The challenge cannot be issued (its limits are in Redis): the answer goes out without one, not as a 500.
    const withPhone = await decide({ ...home, phone: '+4791234567' });
    expect(withPhone.status).toBe(200);
    expect(withPhone.body.action).toBe('challenge');
    expect(withPhone.body.challenge).toBeUndefined();
    const f = await post('/v1/login-failures', { userId: 'alice', ip: IP.germany });
    expect(rulesOf(f)).toContain('riskgate.store_unavailable');
    expect((await post(`/v1/decisions/${String(d.body.decisionId)}/feedback`, { outcome: 'passed_challenge' })).status).toBe(503);

    expect(await health()).toEqual({ status: 503, body: { status: 'degraded', store: 'redis', rulesVersion: expect.any(String), redis: 'unreachable', failMode: 'closed' } });
    const m = await metrics();
    expect(m).toContain('riskgate_store_up 0');
    expect(m).toContain('riskgate_store_fallbacks_total{endpoint="decisions",mode="closed"} 2');
    expect(m).toContain('riskgate_store_fallbacks_total{endpoint="login-failures",mode="closed"} 1');
    // The audit trail is local: the fallback decision is in it, with its reason.
    const audit = await fetch(`${server!.url}/v1/audit?ref=${String(d.body.decisionId)}`, { headers: { authorization: `Bearer ${KEY}` } });
    const entries = ((await audit.json()) as { entries: { kind: string; rules: string[] }[] }).entries;
    expect(entries.find((e) => e.kind === 'decision')!.rules).toContain('riskgate.store_unavailable');

    // Redis comes back (empty: it keeps nothing on disk); riskgate reconnects on its own.
    await redis.start();
    await recovered();
    const after = await decide(home);
    expect(after.body.action).toBe('allow');
    expect(rulesOf(after)).not.toContain('riskgate.store_unavailable');
    expect(await metrics()).toContain('riskgate_store_up 1');
    // It learned again: the profile scripts, forgotten by the new Redis, were loaded again.
    expect((await server!.store.profiles.get('alice'))!.logins).toBe(1);
  });

  it('fail-open: a hung Redis answers as a timeout, the rules still speak, and its data is there when it answers again', async () => {
    redis = await ThrowawayRedis.start();
    await serve(redis.url, 'open', 150);
    await habit();
    const challenged = await decide({ ...home, ip: IP.osloNO, deviceId: 'd-new-phone', phone: '+4791234567' });
    const id = (challenged.body.challenge as { id: string }).id;

    redis.pause();
    const d = await decide(home);
    expect(d.body.action).toBe('allow');
    expect(d.body.reasons).toEqual([
      { rule: 'user.first_login', points: 0, message: expect.any(String) },
      { rule: 'riskgate.store_unavailable', points: 0, message: 'state store did not answer within 150 ms: decided without history (fail-open)' },
    ]);
    expect((await decide({ ...home, ip: '192.0.2.7' })).body.action).toBe('block');
    expect(await health()).toMatchObject({ status: 503, body: { status: 'degraded', redis: 'not answering', failMode: 'open' } });
    // A challenge cannot be answered without its state: 503 within the timeout, and nothing is counted.
    const stuck = await post(`/v1/challenges/${id}/verify`, { code: lastCode });
    expect(stuck.status).toBe(503);
    expect(stuck.body).toEqual({ error: { code: 'UNAVAILABLE', message: expect.stringContaining('did not answer within 150 ms'), requestId: expect.any(String) } });

    await redis.resume();
    await recovered();
    expect((await decide(home)).body).toMatchObject({ action: 'allow', reasons: [] });
    expect((await post(`/v1/challenges/${id}/verify`, { code: lastCode })).body).toEqual({ status: 'verified', attemptsLeft: 5 });
  });

  it('starts while Redis is unreachable, answers in its fail mode, and connects when Redis appears', async () => {
    const port = await freePort();
    await serve(`redis://127.0.0.1:${port}`, 'closed', 200);
    expect((await health()).status).toBe(503);
    expect((await decide(home)).body.action).toBe('challenge');

    redis = await ThrowawayRedis.start(port);
    await recovered();
    expect((await decide(home)).body).toMatchObject({ action: 'allow', reasons: [{ rule: 'user.first_login' }] });
  });
});

function rulesOf(a: Answer): string[] {
  return a.body.reasons.map((r) => r.rule);
}
