import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type Server } from '../src/server.js';
import { StreamTrail } from '../src/store/postgres/record.js';
import { RedisBackend } from '../src/store/redis/backend.js';
import { DEPLOYMENTS, instanceEnv, type SharedState } from './deployments.js';
import { DAY, IP, MINUTE, REPO, RULES_DIR, RUN_TS, TestClock, UA } from './helpers.js';
import { skippedTitle } from './redis-helpers.js';

/**
 * Several riskgate instances on one shared store, as behind a load balancer, for each way of
 * deploying them (test/deployments.ts: Redis, PostgreSQL, ...): real servers (startServer,
 * the code `riskgate serve` runs) with their own data directories, talking HTTP; and
 * `riskgate serve` processes killed with SIGKILL under load.
 */
const SECRET = 'ab'.repeat(32);
const KEY = 'instances-test-key';
/** The instances' API keys: the login service's, and an operator's that reads the audit trail. */
const KEYS = `${KEY},instances-admin-key:admin`;

async function configFile(dir: string, shared: SharedState): Promise<string> {
  const path = join(dir, 'riskgate.yaml');
  await writeFile(path, shared.storeYaml);
  return path;
}

async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> & { reasons: { rule: string }[] } }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { reasons: { rule: string }[] } };
}

const rulesOf = (r: { reasons: { rule: string }[] }) => r.reasons.map((x) => x.rule);

/** An answer that acknowledges what it reports: a 200 not given in the store's fail mode (which says it may not have been recorded). */
const stored = (r: { status: number; body: { reasons: { rule: string }[] } }) => r.status === 200 && !rulesOf(r.body).includes('riskgate.store_unavailable');

/** GET /v1/audit on one instance. */
async function audit(s: { url: string }, q: Record<string, string>): Promise<{ kind: string; ref: string | null }[]> {
  const res = await fetch(`${s.url}/v1/audit?${new URLSearchParams(q)}`, { headers: { authorization: 'Bearer instances-admin-key' } });
  return ((await res.json()) as { entries: { kind: string; ref: string | null }[] }).entries;
}

for (const deployment of DEPLOYMENTS)
describe.skipIf(deployment.skip !== null)(skippedTitle(`${deployment.shared ? 'several instances' : 'one instance, restarted on its data,'} on ${deployment.name}`, deployment.skip), () => {
  let shared: SharedState;
  let dirs: string[];
  let servers: Server[];

  /** The codes each instance's console outbox sent, by challenge id (in order). */
  let codes: Map<string, string[]>;
  const outbox = (line: string) => {
    const m = /\(challenge ([0-9a-f-]+)\): (\d+) /.exec(line);
    if (m) codes.set(m[1]!, [...(codes.get(m[1]!) ?? []), m[2]!]);
  };
  const codeOf = (id: string) => codes.get(id)!.at(-1)!;

  /** An instance in this process; `dir`: on that data directory (a killed instance's), else a new one. */
  async function instance(clock?: TestClock, dir?: string): Promise<Server> {
    if (dir === undefined) dirs.push((dir = await mkdtemp(join(tmpdir(), 'riskgate-instance-'))));
    const config = loadConfig({ config: await configFile(dir, shared), data: dir, rules: RULES_DIR, port: '0' });
    const server = await startServer({ config, env: { ...shared.env, RISKGATE_API_KEYS: KEYS, RISKGATE_SECRET: SECRET }, logger: createLogger('silent'), announce: outbox, ...(clock ? { clock: clock.read } : {}) });
    servers.push(server);
    return server;
  }

  beforeEach(async () => {
    codes = new Map();
    shared = await deployment.fresh();
    dirs = [];
    servers = [];
  });
  afterEach(async () => {
    for (const s of servers) await s.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await shared.remove();
  });

  describe.skipIf(!deployment.shared)('share their state', () => {
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

    it('both run on the shared store and say so in /healthz', async () => {
      const up = { ...(shared.env.REDIS_URL ? { store: 'redis', redis: 'ok' } : { store: 'postgres' }), ...(shared.env.DATABASE_URL ? { postgres: 'ok' } : {}) };
      for (const s of [a, b]) expect(await (await fetch(`${s.url}/healthz`)).json()).toMatchObject({ status: 'ok', failMode: 'closed', ...up });
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
      // One audit trail for every instance with PostgreSQL; each instance's own on Redis alone (README: the audit choice).
      const kinds = async (s: Server) => (await audit(s, { ref: String(d.body.decisionId) })).map((e) => e.kind);
      if (shared.sharedAudit) for (const s of [a, b]) expect(await kinds(s)).toEqual(expect.arrayContaining(['feedback', 'decision']));
      else {
        expect(await kinds(a)).toContain('decision');
        expect(await kinds(b)).toEqual(['feedback']);
      }
    });

    it('answers GET /v1/audit with every instance\'s events when the trail is shared', async () => {
      if (!shared.sharedAudit) return;
      await post(a.url, '/v1/login-failures', { userId: 'mallory', ip: IP.brazil });
      clock.advance(MINUTE);
      await post(b.url, '/v1/decisions', { userId: 'mallory', ip: IP.brazil, userAgent: UA.firefoxLinux });
      for (const s of [a, b]) expect((await audit(s, { userId: 'mallory' })).map((e) => e.kind)).toEqual(['decision', 'failure']);
      // Alice's habits, half decided on each instance, are all in either's trail.
      expect(await audit(b, { userId: 'alice', kind: 'decision' })).toHaveLength(10);
    });

    it('concurrent logins of one user on both instances lose no profile update', async () => {
      const before = (await a.store.profiles.get('alice'))!.logins;
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post(i % 2 ? a.url : b.url, '/v1/decisions', home)));
      expect(answers.map((r) => r.body.action)).toEqual(Array(30).fill('allow'));
      // Every login whose answer did not say "may not have been recorded" (a store call past
      // store.timeoutMs on a loaded machine) is learned; the others may land late or not at all.
      const logins = (await b.store.profiles.get('alice'))!.logins;
      expect(logins).toBeGreaterThanOrEqual(before + answers.filter(stored).length);
      expect(logins).toBeLessThanOrEqual(before + 30);
    });

    it('concurrent failures from one address on both instances are all counted, and never let more through than the limit', async () => {
      // 30 users tried at once from one address, half through each instance: the tenth distinct
      // user trips credential stuffing. A lost or late increment would let more than nine through.
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post(i % 2 ? a.url : b.url, '/v1/login-failures', { userId: `user-${i}`, ip: IP.japan })));
      expect(answers.every((r) => r.status === 200)).toBe(true);
      expect(answers.filter((r) => !r.body.blocked).length).toBeLessThanOrEqual(9);
      expect(await a.store.failures.counts({ userId: 'user-0', ip: IP.japan }, clock.now)).toMatchObject({ ip_1h: 30, ip_users_1h: 30 });
    });
    describe('challenges', () => {
      const phone = { userId: 'alice', ip: IP.osloNO, userAgent: UA.safariIphone, deviceId: 'd-new-phone', phone: '+4791234567' };
      const challenged = async (s: Server): Promise<string> => {
        const d = await post(s.url, '/v1/decisions', phone);
        expect(d.body.action).toBe('challenge');
        return (d.body.challenge as { id: string }).id;
      };
      const verify = (s: Server, id: string, body: Record<string, unknown>) => post(s.url, `/v1/challenges/${id}/verify`, body);
      const wrong = (id: string) => (codeOf(id) === '000000' ? '111111' : '000000');

      it('a challenge issued by A is resent and verified on B; the passed step-up teaches A, and the device B trusted is revoked on A', async () => {
        const id = await challenged(a);
        expect((await verify(b, id, { code: wrong(id) })).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
        const first = codeOf(id);
        const resent = await post(b.url, `/v1/challenges/${id}/resend`, {});
        expect(resent.body).toMatchObject({ id, channel: 'whatsapp', attemptsLeft: 4 });
        expect(codes.get(id)).toHaveLength(2);
        // The first code was replaced (unless the two happen to be equal, one chance in a million).
        if (first !== codeOf(id)) expect((await verify(a, id, { code: first })).body).toEqual({ status: 'invalid', attemptsLeft: 3 });
        const ok = await verify(b, id, { code: codeOf(id), trustDevice: true });
        expect(ok.body).toMatchObject({ status: 'verified' });
        expect((await verify(a, id, { code: codeOf(id) })).body.status).toBe('used');

        clock.advance(MINUTE);
        expect((await post(a.url, '/v1/decisions', phone)).body).toMatchObject({ action: 'allow', reasons: [] });
        // The device B trusted is listed, and revoked, on A.
        const list = async (s: Server) => ((await (await fetch(`${s.url}/v1/users/alice/trusted-devices`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { devices: { id: string; deviceId: string }[] }).devices;
        const [trusted] = await list(a);
        expect(trusted).toMatchObject({ deviceId: 'd-new-phone' });
        expect(String(ok.body.trustToken)).toContain(trusted!.id);
        expect((await fetch(`${a.url}/v1/users/alice/trusted-devices/${trusted!.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
        expect(await list(b)).toEqual([]);
      });

      /**
       * The answers to requests sent at once, sorted. A request whose store call outlasts
       * store.timeoutMs (a loaded CI machine) is answered 503 UNAVAILABLE by the fail mode; it
       * is not acknowledged (its attempt may count or not), so it is set apart, and any other
       * error fails the test.
       */
      const settle = (answers: Awaited<ReturnType<typeof verify>>[]) => {
        const unavailable = answers.filter((r) => r.status === 503 && (r.body.error as { code?: string } | undefined)?.code === 'UNAVAILABLE').length;
        const acked = answers.filter((r) => !(r.status === 503 && (r.body.error as { code?: string } | undefined)?.code === 'UNAVAILABLE'));
        return { unavailable, seen: acked.map((r) => (r.status === 200 ? `${String(r.body.status)} ${String(r.body.attemptsLeft)}` : `${r.status} ${JSON.stringify(r.body)}`)).sort() };
      };

      it('concurrent answers on both instances never pass maxAttempts, and the right code verifies once', async () => {
        const id = await challenged(a);
        // 20: the account's wrong-code places for the hour (a 21st answer at once would be 429 WRONG_CODE_LIMIT).
        const wrongs = settle(await Promise.all(Array.from({ length: 20 }, (_, i) => verify(i % 2 ? a : b, id, { code: wrong(id) }))));
        const allowed = ['invalid 1', 'invalid 2', 'invalid 3', 'invalid 4', ...Array(16).fill('locked 0')];
        if (wrongs.unavailable === 0) expect(wrongs.seen).toEqual(allowed.sort());
        else {
          // Each wrong answer counted once (attemptsLeft 4, 3, 2, 1, never twice the same), none past the limit.
          const invalid = wrongs.seen.filter((x) => x.startsWith('invalid'));
          expect(new Set(invalid).size).toBe(invalid.length);
          expect(wrongs.seen.filter((x) => !allowed.includes(x))).toEqual([]);
          expect(wrongs.seen).toContain('locked 0');
        }
        expect((await verify(b, id, { code: codeOf(id) })).body).toEqual({ status: 'locked', attemptsLeft: 0 });
        expect(await a.store.challenges.getChallenge(id)).toMatchObject({ status: 'locked', attempts: 5 });

        clock.advance(MINUTE);
        const again = await challenged(b);
        const rights = settle(await Promise.all(Array.from({ length: 10 }, (_, i) => verify(i % 2 ? a : b, again, { code: codeOf(again) }))));
        if (rights.unavailable === 0) expect(rights.seen).toEqual(['used 5', 'used 5', 'used 5', 'used 5', 'used 5', 'used 5', 'used 5', 'used 5', 'used 5', 'verified 5']);
        else expect(['[]', '["verified 5"]']).toContain(JSON.stringify(rights.seen.filter((x) => x !== 'used 5')));
        expect(await b.store.challenges.getChallenge(again)).toMatchObject({ status: 'verified', attempts: 0 });
      });

      it('a recovery code from A answers one of two challenges verified at once on A and B, never both', async () => {
        const recovery = (await post(a.url, '/v1/users/alice/recovery-codes', {})).body.codes as string[];
        const [one, two] = [await challenged(a), await challenged(b)];
        const [x, y] = await Promise.all([verify(a, one, { recoveryCode: recovery[0] }), verify(b, two, { recoveryCode: recovery[0] })]);
        expect([x.body.status, y.body.status].sort()).toEqual(['invalid', 'verified']);
        expect((await verify(b, x.body.status === 'verified' ? two : one, { recoveryCode: recovery[1] })).body.status).toBe('verified');
      });
    });
  });

  describe('when one instance is killed mid-run', () => {
    /** `riskgate serve` from the current source, in a process of its own, to kill; its console outbox goes to `outbox`. */
    async function spawnInstance(): Promise<{ url: string; dir: string; kill(): void; exited: Promise<unknown>; running(): boolean }> {
      const dir = await mkdtemp(join(tmpdir(), 'riskgate-instance-'));
      dirs.push(dir);
      const child = spawn(process.execPath, [...RUN_TS, join(REPO, 'src/cli.ts'), 'serve', '--port', '0', '--data', dir, '--rules', RULES_DIR, '--config', await configFile(dir, shared)], {
        env: instanceEnv(shared, { RISKGATE_API_KEYS: KEYS, RISKGATE_SECRET: SECRET }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      createInterface({ input: child.stderr! }).on('line', (line) => (line.startsWith('riskgate outbox:') ? outbox(line) : process.stderr.write(`${line}\n`)));
      const url = await new Promise<string>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`riskgate serve exited with ${code}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const log = JSON.parse(line) as { msg?: string; address?: string };
          if (log.msg === 'riskgate listening' && log.address) resolve(log.address);
        });
      });
      instances.push(() => child.kill('SIGKILL'));
      return { url, dir, kill: () => child.kill('SIGKILL'), exited, running: () => child.exitCode === null && child.signalCode === null };
    }
    /** Where the killed instance's work is looked for: another instance on the shared store, or the killed one started again on its data. */
    const survivor = (killed: { dir: string }) => (deployment.shared ? instance() : instance(undefined, killed.dir));
    let instances: (() => void)[] = [];
    afterEach(async () => {
      for (const kill of instances) kill();
      instances = [];
    });

    /** Eight clients at a time against `a` until it dies; `request` answers what was acknowledged, or null. */
    async function untilKilled<T>(a: { running(): boolean; kill(): void }, killAfter: number, request: (n: number) => Promise<T | null>): Promise<{ acked: T[]; sent: number }> {
      let sent = 0;
      const acked: T[] = [];
      const worker = async () => {
        while (a.running()) {
          const n = sent++;
          if (n > 20 * killAfter) {
            a.kill();
            throw new Error(`only ${acked.length} of ${n} requests acknowledged`);
          }
          try {
            const r = await request(n);
            if (r !== null) acked.push(r);
            if (acked.length === killAfter) a.kill();
          } catch {
            return; // the connection died with the process: not acknowledged
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      return { acked, sent };
    }

    it('loses no acknowledged failure count', async () => {
      const a = await spawnInstance();
      const failure = { userId: 'victim', ip: IP.germany, userAgent: UA.chromeWindows };
      const { acked, sent } = await untilKilled(a, 40, async () => {
        const r = await post(a.url, '/v1/login-failures', failure);
        return stored(r) ? (r.body.user_24h as number) : null;
      });
      await a.exited;
      const b = await survivor(a);

      const counted = await b.store.failures.counts({ userId: 'victim', ip: IP.germany }, Date.now());
      expect(acked.length).toBeGreaterThanOrEqual(40);
      // Every acknowledged failure is in the shared store (some unacknowledged ones may be too).
      expect(counted.user_24h).toBeGreaterThanOrEqual(acked.length);
      expect(counted.user_24h).toBeLessThanOrEqual(sent);
      expect(counted.user_24h).toBeGreaterThanOrEqual(Math.max(...acked));
      // B goes on counting from there.
      expect((await post(b.url, '/v1/login-failures', failure)).body.user_24h).toBe(counted.user_24h + 1);
    }, 60_000);

    it('loses no acknowledged decision: each one A answered takes its feedback on B, and is in the trail when it is shared', async () => {
      const a = await spawnInstance();
      const login = (n: number) => ({ userId: `user-${n % 7}`, ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: `d-${n % 3}` });
      const { acked } = await untilKilled(a, 40, async (n) => {
        const r = await post(a.url, '/v1/decisions', login(n));
        return stored(r) ? String(r.body.decisionId) : null;
      });
      await a.exited;
      const b = await survivor(a);

      expect(acked.length).toBeGreaterThanOrEqual(40);
      for (const id of acked) expect((await post(b.url, `/v1/decisions/${id}/feedback`, { outcome: 'failed_challenge' })).status).toBe(200);
      // Beside Redis, what A acknowledged but had not drained (or was draining) B claims, and it reaches PostgreSQL.
      const trail = b.store instanceof RedisBackend && b.store.local instanceof StreamTrail ? b.store.local : null;
      if (trail) {
        while ((await trail.drain(0)) > 0);
        expect((await trail.health(1000)).auditBacklog).toBe(0);
      }
      if (shared.sharedAudit) {
        const logged = new Set((await audit(b, { kind: 'decision', limit: '1000' })).map((e) => e.ref));
        expect(acked.filter((id) => !logged.has(id))).toEqual([]);
      }
    }, 60_000);

    it('loses no acknowledged challenge: each one A answered verifies on B with the code A sent', async () => {
      const a = await spawnInstance();
      // A first login from a script: challenged, with a code to the phone.
      const login = (n: number) => ({ userId: `user-${n}`, ip: IP.germany, userAgent: 'python-requests/2.31', deviceId: `d-${n}`, phone: `+479${String(1_000_000 + n * 7919).slice(0, 7)}` }); // numbers spread over blocks, as users' are (perPrefixPerHour)
      const { acked } = await untilKilled(a, 20, async (n) => {
        const r = await post(a.url, '/v1/decisions', login(n));
        return stored(r) ? { n, action: r.body.action, id: (r.body.challenge as { id: string } | undefined)?.id } : null;
      });
      await a.exited;
      const b = await survivor(a);

      expect(acked.length).toBeGreaterThanOrEqual(20);
      expect(acked.every((x) => x.action === 'challenge' && x.id)).toBe(true);
      for (const { id } of acked) expect((await post(b.url, `/v1/challenges/${id!}/verify`, { code: codeOf(id!) })).body).toMatchObject({ status: 'verified' });
    }, 60_000);

    it('loses no spent recovery code and no counted verify attempt', async () => {
      const a = await spawnInstance();
      // Each request: a user with recovery codes, two challenges; a wrong code on the first (an
      // attempt counted), a recovery code on the second (spent). Every verify from an address of its own (verifyPerIpPerHour).
      const login = (n: number) => ({ userId: `user-${n}`, ip: IP.germany, userAgent: 'python-requests/2.31', deviceId: `d-${n}`, email: `user-${n}@example.com` }); // by e-mail: three codes per user stay under every send cap
      const from = (n: number, k: number) => `198.51.${100 + k}.${n % 250}`;
      const challenge = async (url: string, n: number) => (await post(url, '/v1/decisions', login(n))).body.challenge as { id: string } | undefined;
      const { acked } = await untilKilled(a, 16, async (n) => {
        const codes = (await post(a.url, `/v1/users/user-${n}/recovery-codes`, {})).body.codes as string[] | undefined;
        const [first, second] = [await challenge(a.url, n), await challenge(a.url, n)];
        if (!codes || !first || !second) return null;
        const wrong = await post(a.url, `/v1/challenges/${first.id}/verify`, { code: '000000', ip: from(n, 0) });
        const spent = await post(a.url, `/v1/challenges/${second.id}/verify`, { recoveryCode: codes[0], ip: from(n, 1) });
        if (wrong.status !== 200 || spent.body.status !== 'verified') return null;
        return { n, first: first.id, attemptsLeft: wrong.body.attemptsLeft as number, code: codes[0]! };
      });
      await a.exited;
      const b = await survivor(a);

      expect(acked.length).toBeGreaterThanOrEqual(16);
      for (const { n, first, attemptsLeft, code } of acked) {
        expect(attemptsLeft).toBe(4);
        // The attempt counted before the kill still counts: the next wrong code leaves one fewer.
        expect((await post(b.url, `/v1/challenges/${first}/verify`, { code: '000000', ip: from(n, 2) })).body).toEqual({ status: 'invalid', attemptsLeft: 3 });
        // The recovery code spent before the kill stays spent.
        const next = await challenge(b.url, n);
        expect((await post(b.url, `/v1/challenges/${next!.id}/verify`, { recoveryCode: code, ip: from(n, 3) })).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
      }
    }, 90_000);
  });
});
