import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { appendFile, writeFile } from 'node:fs/promises';
import { RuleSetError } from '../src/rules/diagnostics.js';
import { IP, RULES_DIR, UA, copyRules } from './helpers.js';

describe('a real listening server', () => {
  it('generates an API key on first start, prints it once, keeps only its hash, and decides over TCP', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const config = loadConfig({ data, rules: RULES_DIR, port: '0' });
    const logLines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) }));
    const announced: string[] = [];
    const server = await startServer({ config, env: {}, logger, announce: (l) => announced.push(l) });
    try {
      const key = announced.join('\n').match(/rg_[A-Za-z0-9_-]{43}/)?.[0];
      expect(key).toBeDefined();
      const stored = await readFile(join(data, 'api-keys.sha256'), 'utf8');
      expect(stored).not.toContain(key!);
      expect(stored.trim()).toMatch(/^[0-9a-f]{64} decide\+factors\+admin$/);
      expect(announced.join('\n')).toContain('scopes decide+factors+admin');

      const res = await fetch(`${server.url}/v1/decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'dave', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd1' }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ action: 'allow', reasons: [{ rule: 'user.first_login' }] });

      const unauthorized = await fetch(`${server.url}/v1/rules`, { headers: { authorization: 'Bearer wrong' } });
      expect(unauthorized.status).toBe(401);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('riskgate_decisions_total{action="allow"} 1');
      const docs = (await (await fetch(`${server.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(['/v1/decisions', '/v1/login-failures', '/v1/decisions/{decisionId}/feedback', '/v1/rules']));
      // The key never reaches the log.
      expect(logLines.join('')).not.toContain(key!);
    } finally {
      await server.close();
    }

    // A second start reuses the stored key and prints nothing.
    const again: string[] = [];
    const second = await startServer({ config, env: {}, logger, announce: (l) => again.push(l) });
    await second.close();
    expect(again).toEqual([]);
  });

  it('takes keys from RISKGATE_API_KEYS, with their scopes', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const server = await startServer({ config: loadConfig({ data, rules: RULES_DIR, port: '0' }), env: { RISKGATE_API_KEYS: 'k-one:admin, k-two:admin+decide, k-bare' }, logger: createLogger('silent'), announce: () => {} });
    try {
      for (const k of ['k-one', 'k-two']) expect((await fetch(`${server.url}/v1/rules`, { headers: { authorization: `Bearer ${k}` } })).status).toBe(200);
      const bare = await fetch(`${server.url}/v1/rules`, { headers: { authorization: 'Bearer k-bare' } });
      expect(bare.status).toBe(403);
      expect(await bare.json()).toMatchObject({ error: { code: 'INSUFFICIENT_SCOPE' } });
    } finally {
      await server.close();
    }
  });
});

describe('rules at start and on SIGHUP', () => {
  it('refuses to start on a broken rule set, listing every problem', async () => {
    const rules = await copyRules();
    await writeFile(join(rules, 'bad.yaml'), 'rules:\n  - id: bad.one\n    severity: nope\n    when: geo.nope\n    message: x\n');
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const err = await startServer({ config: loadConfig({ data, rules, port: '0' }), env: {}, logger: createLogger('silent'), announce: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleSetError);
    expect((err as RuleSetError).diagnostics.map((d) => d.code)).toEqual(['RG120', 'RG201']);
  });

  it('reloads on SIGHUP, and keeps the last good set when the new one is broken', async () => {
    const rules = await copyRules();
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const server = await startServer({ config: loadConfig({ data, rules, port: '0' }), env: { RISKGATE_API_KEYS: 'k' }, logger, announce: () => {}, handleSignals: true });
    try {
      const first = server.rules.current().version;
      const reloaded = new Promise((r) => server.rules.onReload(r));
      await appendFile(join(rules, 'lists.yaml'), '\n  - id: lists.shadow_example\n    severity: low\n    shadow: true\n    when: geo.country == "JP"\n    message: shadow\n');
      process.kill(process.pid, 'SIGHUP');
      expect(await reloaded).toMatchObject({ ok: true, changed: true });
      const second = server.rules.current().version;
      expect(second).not.toBe(first);

      const refused = new Promise((r) => server.rules.onReload(r));
      await writeFile(join(rules, 'broken.yaml'), 'rules: [');
      process.kill(process.pid, 'SIGHUP');
      expect(await refused).toMatchObject({ ok: false });
      expect(server.rules.current().version).toBe(second);
      expect(lines.join('')).toMatch(/rules reload refused; previous rules stay active/);
    } finally {
      await server.close();
    }
  });
});

describe('logs', () => {
  it('redact secrets wherever they appear in a logged object', () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    logger.info({ code: '123456', body: { recoveryCode: 'abcd-efgh', trustToken: 'tt.sig', secret: 'JBSWY3DP' }, req: { headers: { authorization: 'Bearer rg_secret' } } }, 'verify');
    const out = lines.join('');
    for (const secret of ['123456', 'abcd-efgh', 'tt.sig', 'JBSWY3DP', 'rg_secret']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });
});
