import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECRET_FILE } from '../src/challenge/keys.js';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { makeProvider } from '../src/challenge/providers/index.js';
import type { ProviderConfig } from '../src/challenge/providers/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { IP, RULES_DIR, UA } from './helpers.js';

const AUTH_K = { authorization: 'Bearer k' };

async function configFile(yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'riskgate-config-'));
  const file = join(dir, 'riskgate.yaml');
  await writeFile(file, yaml);
  return file;
}

const EVERY_PROVIDER = `delivery:
  order: [whatsapp, sms, voice, email]
  timeoutMs: 4000
  message: "{code} is your {issuer} code"
  providers:
    - type: twilio-verify
      serviceSid: VA0123456789abcdef0123456789abcdef
      channels: [whatsapp, voice]
    - type: messagecentral
      customerId: C-123
      channels: [whatsapp]
    - type: xoxzo-otp
      website: https://example.com
    - type: xoxzo-sms
      sender: riskgate
      baseUrl: https://api.xoxzo.com
    - type: webhook
      channels: [sms, whatsapp, voice, email]
      url: http://127.0.0.1:9999/deliver
    - type: smtp
      host: smtp.example.com
      port: 587
      from: riskgate@example.com
    - type: outbox
      name: dev
challenges:
  codeLength: 8
  ttlSeconds: 600
  maxAttempts: 3
  trustDays: 14
  issuer: Example
  limits: { perUserPerHour: 5, perPhonePerHour: 3, perCountryPerHour: 100, verifyPerIpPerHour: 30 }
`;

const ENV = {
  TWILIO_ACCOUNT_SID: 'AC1',
  TWILIO_AUTH_TOKEN: 't',
  MESSAGECENTRAL_AUTH_TOKEN: 'm',
  XOXZO_API_SID: 'x',
  XOXZO_API_AUTH_TOKEN: 'y',
  RISKGATE_WEBHOOK_SECRET: 'w',
};

describe('riskgate.yaml: delivery and challenges', () => {
  it('takes every provider type, each with its own fields', async () => {
    const c = loadConfig({ config: await configFile(EVERY_PROVIDER) });
    expect(c.file.delivery?.providers?.map((p) => p.type)).toEqual(['twilio-verify', 'messagecentral', 'xoxzo-otp', 'xoxzo-sms', 'webhook', 'smtp', 'outbox']);
    const made = (c.file.delivery!.providers as ProviderConfig[]).map((p) => makeProvider(p, { env: ENV, clock: Date.now }));
    expect(made.map((p) => [p.name, p.kind, [...p.channels]])).toEqual([
      ['twilio-verify', 'verify', ['whatsapp', 'voice']],
      ['messagecentral', 'verify', ['whatsapp']],
      ['xoxzo-otp', 'verify', ['sms']],
      ['xoxzo-sms', 'message', ['sms']],
      ['webhook', 'message', ['sms', 'whatsapp', 'voice', 'email']],
      ['smtp', 'message', ['email']],
      ['dev', 'message', ['sms', 'whatsapp', 'voice', 'email']],
    ]);
  });

  it('names each mistake in a provider entry with file:line:col', async () => {
    const file = await configFile(`delivery:
  providers:
    - type: xoxzo-sms
      sendr: riskgate
    - type: twilio-verify
      serviceSid: not-a-sid
    - type: carrier-pigeon
`);
    let err: unknown;
    try {
      loadConfig({ config: file });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const lines = (err as Error).message.split('\n');
    expect(lines.some((l) => /riskgate\.yaml:7:\d+: RG103 delivery\.providers\[2\]\.type must be one of/.test(l))).toBe(true);
    // The schema of each type is checked once the types are known: fix the type, see the rest.
    const file2 = await configFile(`delivery:
  providers:
    - type: xoxzo-sms
      sendr: riskgate
    - type: twilio-verify
      serviceSid: not-a-sid
`);
    const message = (() => {
      try {
        loadConfig({ config: file2 });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toMatch(/riskgate\.yaml:4:7: RG102 unknown field "sendr" in delivery\.providers\[0\]/);
    expect(message).toMatch(/riskgate\.yaml:\d+:\d+: RG101 missing field "sender" in delivery\.providers\[0\]/);
    expect(message).toMatch(/riskgate\.yaml:6:\d+: RG103 delivery\.providers\[1\]\.serviceSid/);
  });

  it('refuses a code length outside 6–10 (fewer digits make guessing within the attempt limits too likely) and a message without {code}', async () => {
    const edge = loadConfig({ config: await configFile('challenges:\n  codeLength: 10\ndelivery:\n  message: "{code} is your code"\n') });
    expect(edge.file.challenges?.codeLength).toBe(10);
    expect(loadConfig({ config: await configFile('challenges:\n  codeLength: 6\n') }).file.challenges?.codeLength).toBe(6);
    for (const n of [4, 5, 12]) await expect(configFile(`challenges:\n  codeLength: ${n}\n`).then((f) => loadConfig({ config: f }))).rejects.toThrow(/riskgate\.yaml:2:\d+: .*challenges\.codeLength/);
    await expect(configFile('delivery:\n  message: "hello"\n').then((f) => loadConfig({ config: f }))).rejects.toThrow(/delivery\.message/);
  });

  it('checks the toll-fraud settings: country codes, the conversion share, the downgrade switch', async () => {
    const ok = loadConfig({ config: await configFile('delivery:\n  countries: [NO, SE]\nchallenges:\n  allowDowngrade: true\n  conversion:\n    minRate: 0.5\n  limits:\n    perPrefixPerHour: 3\n    countryVolumeFactor: 2.5\n') });
    expect(ok.file.delivery?.countries).toEqual(['NO', 'SE']);
    for (const [yaml, field] of [
      ['delivery:\n  countries: [no]\n', /delivery\.countries/],
      ['delivery:\n  countries: []\n', /delivery\.countries/],
      ['challenges:\n  conversion:\n    minRate: 2\n', /challenges\.conversion\.minRate/],
      ['challenges:\n  allowDowngrade: "yes"\n', /challenges\.allowDowngrade/],
      ['challenges:\n  limits:\n    sendsPerHour: 0\n', /challenges\.limits\.sendsPerHour/],
    ] as const) {
      await expect(configFile(yaml).then((f) => loadConfig({ config: f }))).rejects.toThrow(field);
    }
  });

  it('a provider whose secret is missing from the environment stops the start, naming the variable', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const config = loadConfig({ config: await configFile('delivery:\n  providers:\n    - type: xoxzo-sms\n      sender: rg\n'), data, rules: RULES_DIR, port: '0' });
    await expect(startServer({ config, env: {}, logger: createLogger('silent'), announce: () => {} })).rejects.toThrow('delivery provider "xoxzo-sms" needs the environment variable XOXZO_API_SID');
  });
});

describe('riskgate serve with no config and no provider variables', () => {
  it('starts, challenges through the console outbox, and keeps a generated secret in the data directory', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const lines: string[] = [];
    const logged: string[] = [];
    const logger = createLogger('info', { write: (s: string) => void logged.push(s) } as never);
    let now = Date.parse('2026-03-02T08:00:00Z');
    const server = await startServer({ config: loadConfig({ data, rules: RULES_DIR, port: '0' }), env: { RISKGATE_API_KEYS: 'k' }, clock: () => now, logger, announce: (l) => lines.push(l) });
    const decide = async (login: Record<string, string>) => {
      const res = await fetch(`${server.url}/v1/decisions`, { method: 'POST', headers: { ...AUTH_K, 'content-type': 'application/json' }, body: JSON.stringify(login) });
      return (await res.json()) as { action: string; challenge?: { id: string; channel: string } };
    };
    try {
      for (let i = 0; i < 20; i++, now += 86_400_000) await decide({ userId: 'dev', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd1' });
      const d = await decide({ userId: 'dev', ip: IP.brazil, userAgent: UA.safariIphone, deviceId: 'd2', email: 'dev@example.com' });
      expect(d).toMatchObject({ action: 'challenge', challenge: { channel: 'email' } });
      const code = /riskgate outbox: email to dev@example\.com \(challenge [0-9a-f-]+\): (\d{6}) is your riskgate verification code/.exec(lines.join('\n'))![1];
      const v = await fetch(`${server.url}/v1/challenges/${d.challenge!.id}/verify`, { method: 'POST', headers: { ...AUTH_K, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
      expect(await v.json()).toEqual({ status: 'verified', attemptsLeft: 5 });
      expect(logged.join('')).toContain('no RISKGATE_SECRET set');
      expect(logged.join('').replace(/"time":\d+/g, '')).not.toContain(code);
      expect((await readFile(join(data, 'secret.key'), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
      const docs = (await fetch(`${server.url}/docs/json`).then((r) => r.json())) as { paths: Record<string, unknown> };
      expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(['/v1/challenges/{id}/verify', '/v1/challenges/{id}/resend', '/v1/users/{userId}/totp', '/v1/users/{userId}/trusted-devices/{id}']));
    } finally {
      await server.close();
    }
  });
});

describe('RISKGATE_SECRET', () => {
  it('a secret too short to key anything stops the start with a clear message', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const config = loadConfig({ data, rules: RULES_DIR, port: '0' });
    await expect(startServer({ config, env: { RISKGATE_SECRET: 'abc123' }, logger: createLogger('silent'), announce: () => {} })).rejects.toThrow(ConfigError);
  });

  it('is required with REDIS_URL: instances on one Redis must share it, so none generates its own', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-data-'));
    const config = loadConfig({ data, rules: RULES_DIR, port: '0' });
    // Refused before any connection: no Redis is needed to see it.
    await expect(startServer({ config, env: { REDIS_URL: 'redis://127.0.0.1:1' }, logger: createLogger('silent'), announce: () => {} })).rejects.toThrow(/RISKGATE_SECRET is not/);
    expect(existsSync(join(data, SECRET_FILE))).toBe(false);
  });
});
