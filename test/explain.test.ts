import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { cli } from './cli-helpers.js';
import { IP, RULES_DIR, UA } from './helpers.js';

const login = { userId: 'alice', ip: IP.japan, userAgent: UA.chromeWindows, deviceId: 'd-new', time: '2026-03-20T08:30:00Z' };

/** Twenty mornings at home in Norway, as replay's JSONL. */
function habit(): string {
  return Array.from({ length: 20 }, (_, d) =>
    JSON.stringify({ time: new Date(Date.parse('2026-02-28T08:00:00Z') + d * 86_400_000).toISOString(), userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-home', outcome: 'success' }),
  ).join('\n');
}

async function files(): Promise<{ dir: string; login: string; history: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'riskgate-explain-'));
  await writeFile(join(dir, 'login.json'), JSON.stringify(login));
  await writeFile(join(dir, 'history.jsonl'), habit());
  return { dir, login: join(dir, 'login.json'), history: join(dir, 'history.jsonl') };
}

describe('riskgate explain', () => {
  it('prints the decision, every signal and every rule\'s result, with the values each condition read', async () => {
    const f = await files();
    const run = await cli(['explain', f.login, '--history', f.history, '--rules', RULES_DIR]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^alice from 110\.0\.0\.1 at 2026-03-20T08:30:00\.000Z, rules /);
    expect(lines[1]).toMatch(/^decision: challenge, score 60 \(challenge at 40, block at \d+\)$/);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^ {2}user\.logins +20$/), expect.stringMatching(/^ {2}geo\.country +"JP"$/)]));
    const fired = lines.findIndex((l) => /^ {2}FIRED +device\.new_on_new_network +\+40 +new device/.test(l));
    expect(fired).toBeGreaterThan(0);
    expect(lines[fired + 1]).toBe('            when user.known && device.new && !device.trusted && !network.range_known && !lists.trusted_networks');
    expect(lines[fired + 2]).toBe('            with user.known=true device.new=true device.trusted=false network.range_known=false lists.trusted_networks=false');
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^ {2}NOT FIRED +time\.unusual_hour$/)]));
  });

  it('answers JSON, and without history sees a first login', async () => {
    const f = await files();
    const json = await cli(['explain', f.login, '--json', '--rules', RULES_DIR]);
    const e = JSON.parse(json.stdout) as { action: string; signals: { user: { known: boolean } }; rules: { id: string; outcome: string }[] };
    expect(e.action).toBe('allow');
    expect(e.signals.user.known).toBe(false);
    expect(e.rules.find((r) => r.id === 'user.first_login')).toMatchObject({ outcome: 'fired', points: 0 });
  });

  it('decides against a server\'s data directory without changing it', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const server = await startServer({ config: loadConfig({ data, rules: RULES_DIR, port: '0' }), env: { RISKGATE_API_KEYS: 'k' }, logger: createLogger('silent'), announce: () => {} });
    try {
      const home = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-home' };
      await server.engine.decide(home);
      // explain reads what the server's tables committed (they commit every 200 ms behind its journal): now.
      (server.store as SqliteBackend).checkpoint();
      const f = await files();
      await writeFile(f.login, JSON.stringify(home));
      const run = await cli(['explain', f.login, '--data', data, '--json', '--rules', RULES_DIR]);
      expect(JSON.parse(run.stdout)).toMatchObject({ action: 'allow', signals: { user: { known: true, logins: 1 } } });
      expect((await server.store.profiles.get('alice'))?.logins).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('names what is wrong with the input', async () => {
    const f = await files();
    await writeFile(f.login, JSON.stringify({ ...login, ip: '999.1.1.1', colour: 'red' }));
    expect(await cli(['explain', f.login, '--rules', RULES_DIR])).toMatchObject({ code: 1, stderr: `riskgate explain: ${f.login}: unknown field "colour" (a decision request has userId, ip, userAgent, deviceId, trustToken, phone, country, email, action, time)\n` });
    await writeFile(f.history, '{"time":"2026-03-01T08:00:00Z","userId":"alice"}\n');
    await writeFile(f.login, JSON.stringify(login));
    expect((await cli(['explain', f.login, '--history', f.history, '--rules', RULES_DIR])).stderr).toBe(`riskgate explain: ${f.history}:1: ip: missing\n`);
  });
});
