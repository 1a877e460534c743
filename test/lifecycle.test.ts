import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { StartError } from '../src/errors.js';
import { PID_FILE } from '../src/lifecycle/pidfile.js';
import { createLogger } from '../src/log.js';
import { startServer, type Server } from '../src/server.js';
import { cli, spawnServe } from './cli-helpers.js';
import { IP, copyRules } from './helpers.js';

const KEY = 'lifecycle-key';
const KEYS = `${KEY}:decide+factors+admin`;
const quiet = { env: { RISKGATE_API_KEYS: KEYS }, logger: createLogger('silent'), announce: () => {} };
const pidIn = async (dir: string) => (await readFile(join(dir, PID_FILE), 'utf8')).trim();

let cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'riskgate-lifecycle-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(o: { data: string; rules: string; port?: number; handleSignals?: boolean }): Promise<Server> {
  const server = await startServer({ config: loadConfig({ data: o.data, rules: o.rules, port: String(o.port ?? 0) }), ...quiet, handleSignals: o.handleSignals ?? false });
  cleanups.push(() => server.close());
  return server;
}

/** A port something else listens on, for as long as the test runs. */
async function takenPort(): Promise<number> {
  const holder = createNetServer();
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
  cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
  return (holder.address() as { port: number }).port;
}

const EXTRA_RULE = 'rules:\n  - id: extra.japan\n    severity: low\n    when: geo.country == "JP"\n    message: "from Japan"\n';

describe('the pid file', () => {
  it('holds the server\'s pid while it runs and is removed when it stops', async () => {
    const data = await tempDir();
    const server = await serve({ data, rules: await copyRules() });
    expect(await pidIn(data)).toBe(String(process.pid));
    await server.close();
    expect(existsSync(join(data, PID_FILE))).toBe(false);
  });

  it('left by a killed server, or naming another program, does not block a start', async () => {
    const data = await tempDir();
    const rules = await copyRules();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(join(data, PID_FILE), `${gone}\n`);
    await (await serve({ data, rules })).close();

    // After a reboot the pid may belong to another program: not a riskgate, so not a holder.
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    cleanups.push(() => void other.kill());
    await writeFile(join(data, PID_FILE), `${other.pid}\n`);
    await serve({ data, rules });
    expect(await pidIn(data)).toBe(String(process.pid));
  });

  it('of a running riskgate refuses a second server on the same data directory', async () => {
    const data = await tempDir();
    const rules = await copyRules();
    await serve({ data, rules });
    const err = await serve({ data, rules }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartError);
    expect((err as Error).message).toBe(`another riskgate (pid ${process.pid}) is serving the data directory ${data}`);
  });
});

describe('a busy port', () => {
  it('is one line, before anything is written to the data directory', async () => {
    const data = join(await tempDir(), 'data');
    const port = await takenPort();
    const err = await serve({ data, rules: await copyRules(), port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartError);
    expect((err as Error).message).toBe(`port ${port} is in use (on 127.0.0.1); stop what holds it, or choose another with --port`);
    // No API key was generated that nobody saw.
    expect(existsSync(data)).toBe(false);
  });

  it('is what a second server on the same port and data directory is told', async () => {
    const data = await tempDir();
    const rules = await copyRules();
    const first = await serve({ data, rules });
    const port = Number(new URL(first.url).port);
    expect(await cli(['serve', '--port', String(port), '--data', data, '--rules', rules])).toEqual({
      code: 1,
      stdout: '',
      stderr: `riskgate serve: port ${port} is in use (on 127.0.0.1); stop what holds it, or choose another with --port\n`,
    });
  });
});

describe('riskgate reload', () => {
  it('reloads the running server through its pid file and prints what changed, or why the set was refused', async () => {
    const data = await tempDir();
    const rules = await copyRules();
    const server = await serve({ data, rules, handleSignals: true });
    const before = server.rules.current().version;

    expect(await cli(['reload', '--data', data])).toEqual({ code: 0, stdout: '', stderr: `riskgate reload: reloaded; no rule, list or policy changed (version ${before})\n` });

    await writeFile(join(rules, 'extra.yaml'), EXTRA_RULE);
    const added = await cli(['reload', '--data', data]);
    const after = server.rules.current().version;
    expect(after).not.toBe(before);
    expect(added).toEqual({ code: 0, stdout: '+ rule extra.japan\n', stderr: `riskgate reload: reloaded; version ${before} → ${after}, 1 change\n` });
    const listed = (await (await fetch(`${server.url}/v1/rules`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { rules: { id: string }[] };
    expect(listed.rules.map((r) => r.id)).toContain('extra.japan');

    await writeFile(join(rules, 'extra.yaml'), EXTRA_RULE.replace('low', 'lowest').replace('"from Japan"', '"from {{geo.contry}}"'));
    const refused = await cli(['reload', '--data', data]);
    expect(refused.code).toBe(1);
    expect(refused.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^.*extra\.yaml:/, ''))).toEqual([
      '3:15: RG120 unknown severity "lowest" (defined: info, low, medium, high, critical)',
      '5:20: RG210 message names unknown signal "geo.contry"; did you mean "geo.country"?',
    ]);
    expect(refused.stderr).toBe(`riskgate reload: refused, 2 problems; version ${after} stays active\n`);
    expect(server.rules.current().version).toBe(after);
  });

  it('says so when no server runs on the data directory', async () => {
    const data = await tempDir();
    expect(await cli(['reload', '--data', data])).toEqual({ code: 1, stdout: '', stderr: `riskgate reload: no server is running on ${data} (no ${join(data, PID_FILE)}); give its data directory with --data\n` });
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(join(data, PID_FILE), `${gone}\n`);
    expect((await cli(['reload', '--data', data])).stderr).toBe(`riskgate reload: ${join(data, PID_FILE)} names pid ${gone}, which is not a running riskgate (a server that was killed left it)\n`);
  });
});

/** A webhook delivery endpoint that holds each request until the test lets it go. */
async function heldWebhook(): Promise<{ url: string; arrived: Promise<void>; release(): void }> {
  let arrive!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  const held: (() => void)[] = [];
  const hook: HttpServer = createServer((req, res) => {
    req.resume();
    held.push(() => res.end('{}'));
    arrive();
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    hook.closeAllConnections();
    return new Promise((resolve) => hook.close(resolve));
  });
  return { url: `http://127.0.0.1:${(hook.address() as { port: number }).port}/deliver`, arrived, release: () => held.splice(0).forEach((f) => f()) };
}

/** riskgate.yaml in `dir`, sending SMS codes to `url`. */
async function webhookConfig(dir: string, url: string): Promise<string> {
  const path = join(dir, 'riskgate.yaml');
  await writeFile(path, `delivery:\n  providers:\n    - type: webhook\n      channels: [sms]\n      url: ${url}\n      timeoutMs: 60000\n`);
  return path;
}

/** A first login from a script steps up (device.automation), so its code goes to the webhook. */
const scripted = { userId: 'mallory', ip: IP.homeNO, userAgent: 'python-requests/2.32.3', deviceId: 'd-script', phone: '+4791234567' };
const post = (url: string, body: unknown) => fetch(`${url}/v1/decisions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('SIGTERM', () => {
  it('through the pid file: requests in flight finish, a log line says so, exit 0, the pid file is gone', { timeout: 180_000 }, async () => {
    const data = await tempDir();
    const hook = await heldWebhook();
    const config = await webhookConfig(data, hook.url);
    const served = await spawnServe(['--port', '0', '--data', data, '--rules', await copyRules(), '--config', config], { RISKGATE_API_KEYS: KEY, RISKGATE_WEBHOOK_SECRET: 'w'.repeat(32) });
    cleanups.push(() => void served.child.kill('SIGKILL'));
    const pid = Number(await pidIn(data));
    expect(pid).toBe(served.child.pid);
    expect(served.logs.find((l) => l.msg === 'riskgate starting')).toMatchObject({ data, config, apiKeysFrom: 'RISKGATE_API_KEYS', secretFrom: join(data, 'secret.key') });

    const inFlight = post(served.url, scripted);
    await hook.arrived;
    process.kill(pid, 'SIGTERM');
    await served.logged((l) => l.msg === 'SIGTERM: stopping; requests in flight have up to 10 s to finish');
    hook.release();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ action: 'challenge', challenge: { channel: 'sms', delivered: true } });
    expect(await served.exited).toBe(0);
    expect(served.logs.at(-1)).toMatchObject({ msg: 'riskgate stopped', signal: 'SIGTERM' });
    expect(await readdir(data)).not.toContain(PID_FILE);
  });

  it('does not wait past the drain bound for a request that never ends', async () => {
    const data = await tempDir();
    const hook = await heldWebhook();
    const lines: string[] = [];
    const server = await startServer({
      config: loadConfig({ config: await webhookConfig(data, hook.url), data, rules: await copyRules(), port: '0' }),
      env: { RISKGATE_API_KEYS: KEY, RISKGATE_WEBHOOK_SECRET: 'w'.repeat(32) },
      logger: createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) })),
      announce: () => {},
      drainMs: 50,
    });
    const inFlight = post(server.url, scripted).then(
      (r) => r.status,
      (e: unknown) => (e as Error).name,
    );
    await hook.arrived;
    await server.close('SIGTERM');
    expect(await inFlight).toBe('TypeError'); // fetch failed: the connection was cut
    expect(lines.join('')).toContain('requests still in flight at the drain bound: closing their connections');
    hook.release();
  });
});
