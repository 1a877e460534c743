import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type Server } from '../src/server.js';
import type { RedisStore } from '../src/store/redis.js';
import { DAY, IP, MINUTE, RULES_DIR, TestClock, UA } from './helpers.js';
import { REDIS_URL, dropPrefix, redisSkip, skippedTitle, testPrefix } from './redis-helpers.js';

/**
 * Several riskgate instances on one Redis, as behind a load balancer: real servers
 * (startServer, the code `riskgate serve` runs) with their own data directories, talking HTTP.
 */
const KEY = 'instances-test-key';
const REPO = join(import.meta.dirname, '..');

async function configFile(dir: string, prefix: string): Promise<string> {
  const path = join(dir, 'riskgate.yaml');
  await writeFile(path, `store:\n  failMode: closed\n  timeoutMs: 1000\n  redis:\n    keyPrefix: "${prefix}"\n`);
  return path;
}

async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> & { reasons: { rule: string }[] } }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { reasons: { rule: string }[] } };
}

const rulesOf = (r: { reasons: { rule: string }[] }) => r.reasons.map((x) => x.rule);

describe.skipIf(redisSkip !== null)(skippedTitle('several instances on one Redis', redisSkip), () => {
  let prefix: string;
  let dirs: string[];
  let servers: Server[];

  async function instance(clock?: TestClock): Promise<Server> {
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-instance-'));
    dirs.push(dir);
    const config = loadConfig({ config: await configFile(dir, prefix), data: dir, rules: RULES_DIR, port: '0' });
    const server = await startServer({ config, env: { REDIS_URL, RISKGATE_API_KEYS: KEY }, logger: createLogger('silent'), announce: () => undefined, ...(clock ? { clock: clock.read } : {}) });
    servers.push(server);
    return server;
  }

  beforeEach(() => {
    prefix = testPrefix();
    dirs = [];
    servers = [];
  });
  afterEach(async () => {
    for (const s of servers) await s.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await dropPrefix(prefix);
  });

  describe('share their state', () => {
    let clock: TestClock;
    let a: Server;
    let b: Server;
    const home = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' };
    beforeEach(async () => {
      clock = new TestClock();
      a = await instance(clock);
      b = await instance(clock);
      // Alice's habits, learned half on each instance.
      clock.advance(-10 * DAY);
      for (let i = 0; i < 10; i++) {
        expect((await post(i % 2 ? a.url : b.url, '/v1/decisions', home)).body.action).toBe('allow');
        clock.advance(DAY);
      }
    });

    it('both run on Redis and say so in /healthz', async () => {
      for (const s of [a, b]) expect(await (await fetch(`${s.url}/healthz`)).json()).toMatchObject({ status: 'ok', store: 'redis', redis: 'ok', failMode: 'closed' });
    });

    it('failures reported to A make B step up, then block', async () => {
      for (let i = 0; i < 5; i++) {
        await post(a.url, '/v1/login-failures', { userId: 'alice', ip: IP.germany });
        clock.advance(MINUTE);
      }
      const stepUp = await post(b.url, '/v1/decisions', home);
      expect(stepUp.body.action).toBe('challenge');
      expect(rulesOf(stepUp.body)).toEqual(['attempts.user_failures']);

      // A credential list replayed from one address against A...
      for (let i = 0; i < 10; i++) await post(a.url, '/v1/login-failures', { userId: `victim-${i}`, ip: IP.brazil });
      // ...is blocked on B, for a failure and for a correct password alike.
      expect((await post(b.url, '/v1/login-failures', { userId: 'victim-10', ip: IP.brazil })).body.blocked).toBe(true);
      const fromList = await post(b.url, '/v1/decisions', { userId: 'bob', ip: IP.brazil, userAgent: UA.firefoxLinux });
      expect(fromList.body.action).toBe('block');
      expect(rulesOf(fromList.body)).toContain('attempts.credential_stuffing');
    });

    it('a decision made on A takes its feedback on B, and A learns from it', async () => {
      const phone = { userId: 'alice', ip: IP.osloNO, userAgent: UA.safariIphone, deviceId: 'd-new-phone' };
      const d = await post(a.url, '/v1/decisions', phone);
      expect(d.body.action).toBe('challenge');
      const f = await post(b.url, `/v1/decisions/${String(d.body.decisionId)}/feedback`, { outcome: 'passed_challenge' });
      expect(f.body).toMatchObject({ learned: true });
      clock.advance(MINUTE);
      expect((await post(a.url, '/v1/decisions', phone)).body).toMatchObject({ action: 'allow', reasons: [] });
      // The audit trail is each instance's own (README: the audit choice).
      expect((await a.store.queryAudit({ ref: String(d.body.decisionId) })).map((e) => e.kind)).toContain('decision');
      expect((await b.store.queryAudit({ ref: String(d.body.decisionId) })).map((e) => e.kind)).toEqual(['feedback']);
    });

    it('concurrent logins of one user on both instances lose no profile update', async () => {
      const before = (await a.store.getProfile('alice'))!.logins;
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post(i % 2 ? a.url : b.url, '/v1/decisions', home)));
      expect(answers.map((r) => r.body.action)).toEqual(Array(30).fill('allow'));
      expect((await b.store.getProfile('alice'))!.logins).toBe(before + 30);
    });

    it('concurrent failures from one address on both instances are all counted, and never let more through than the limit', async () => {
      // 30 users tried at once from one address, half through each instance: the tenth distinct
      // user trips credential stuffing. A lost or late increment would let more than nine through.
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post(i % 2 ? a.url : b.url, '/v1/login-failures', { userId: `user-${i}`, ip: IP.japan })));
      expect(answers.every((r) => r.status === 200)).toBe(true);
      expect(answers.filter((r) => !r.body.blocked).length).toBeLessThanOrEqual(9);
      expect(await a.engine.store.failureCounts({ userId: 'user-0', ip: IP.japan }, clock.now)).toMatchObject({ ip_1h: 30, ip_users_1h: 30 });
    });
  });

  it('verify-like attempt limits hold across instances: of 60 concurrent attempts, exactly 5 pass', async () => {
    // What a challenge's "attempts left" needs (phase 2): one atomic consume per attempt,
    // here with rate-limiter-flexible's Redis limiter on each instance's own connection.
    const a = await instance();
    const b = await instance();
    const limiterOf = (s: Server) => new RateLimiterRedis({ storeClient: (s.store as RedisStore).client, keyPrefix: `${prefix}verify`, points: 5, duration: 300 });
    const [la, lb] = [limiterOf(a), limiterOf(b)];
    const outcomes = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => (i % 2 ? la : lb).consume('challenge-1')));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    // The others were refused for the limit, not for an error.
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => o.reason instanceof RateLimiterRes)).toBe(true);
  });

  describe('when one instance is killed mid-run', () => {
    let build: string;
    beforeAll(() => {
      // The killed instance is a real process: `riskgate serve` compiled from the current source.
      build = join(tmpdir(), `riskgate-build-${process.pid}`);
      const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.json'), '--outDir', join(build, 'dist')], { encoding: 'utf8' });
      if (tsc.status !== 0) throw new Error(`build failed: ${tsc.stdout}${tsc.stderr}`);
    }, 120_000); // a full compile: seconds alone, much longer on a machine busy with other tests
    afterAll(() => rm(build, { recursive: true, force: true }));

    it('loses no acknowledged failure count', async () => {
      await writeFile(join(build, 'package.json'), '{"type":"module"}');
      await symlink(join(REPO, 'node_modules'), join(build, 'node_modules')).catch(() => undefined);
      const dir = await mkdtemp(join(tmpdir(), 'riskgate-instance-'));
      dirs.push(dir);
      const child = spawn(process.execPath, [join(build, 'dist/cli.js'), 'serve', '--port', '0', '--data', dir, '--rules', RULES_DIR, '--config', await configFile(dir, prefix)], {
        env: { ...process.env, REDIS_URL, RISKGATE_API_KEYS: KEY },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`riskgate serve exited with ${code}`)));
          createInterface({ input: child.stdout! }).on('line', (line) => {
            const log = JSON.parse(line) as { msg?: string; address?: string };
            if (log.msg === 'riskgate listening' && log.address) resolve(log.address);
          });
        });
        const b = await instance();

        // Eight at a time against A; A is killed while some are still in flight.
        const failure = { userId: 'victim', ip: IP.germany, userAgent: UA.chromeWindows };
        let sent = 0;
        const acked: number[] = [];
        const worker = async () => {
          while (child.exitCode === null && child.signalCode === null) {
            sent++;
            try {
              const r = await post(url, '/v1/login-failures', failure);
              if (r.status === 200) acked.push(r.body.user_24h as number);
              if (acked.length === 40) child.kill('SIGKILL');
            } catch {
              return; // the connection died with the process: not acknowledged
            }
          }
        };
        await Promise.all(Array.from({ length: 8 }, worker));
        await exited;

        const counted = await b.engine.store.failureCounts({ userId: 'victim', ip: IP.germany }, Date.now());
        expect(acked.length).toBeGreaterThanOrEqual(40);
        // Every acknowledged failure is in Redis (some unacknowledged ones may be too).
        expect(counted.user_24h).toBeGreaterThanOrEqual(acked.length);
        expect(counted.user_24h).toBeLessThanOrEqual(sent);
        expect(counted.user_24h).toBeGreaterThanOrEqual(Math.max(...acked));
        // B goes on counting from there.
        expect((await post(b.url, '/v1/login-failures', failure)).body.user_24h).toBe(counted.user_24h + 1);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    }, 60_000);
  });
});
