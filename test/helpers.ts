import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { assemble, type AssembleOptions } from '../src/assemble.js';
import { Keys } from '../src/challenge/keys.js';
import { OutboxProvider } from '../src/challenge/providers/outbox.js';
import type { Provider } from '../src/challenge/providers/provider.js';
import type { ChallengeService } from '../src/challenge/service.js';
import type { ConfigFile } from '../src/config.js';
import type { Engine } from '../src/engine/engine.js';
import { ApiKeys } from '../src/http/auth.js';
import { Metrics } from '../src/observability/metrics.js';
import type { Observation } from '../src/profile/profile.js';
import { RuleHolder } from '../src/rules/holder.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import type { Backend } from '../src/store/ports.js';

export const API_KEY = 'test-key-0123456789';
export const AUTH = { authorization: `Bearer ${API_KEY}` };
export const REPO = join(import.meta.dirname, '..');
export const RULES_DIR = join(REPO, 'rules');
/** Node flags that run the TypeScript source as vitest does (test/ts-hooks.mjs), for `riskgate` in a process of its own: no build, no stale dist/. */
export const RUN_TS = ['--import', `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(REPO, 'test/ts-hooks.mjs')).href)});`];

export const UA = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
};

/** Addresses geoip-lite places where the tests need them. */
export const IP = {
  homeNO: '81.167.144.58', // Sveio, Norway
  homeNOsameSubnet: '81.167.144.10',
  osloNO: '84.208.0.1', // Oslo, another provider
  brazil: '177.10.0.1',
  japan: '110.0.0.1',
  germany: '5.9.0.1',
};

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public now = Date.parse('2026-03-02T08:00:00Z')) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** What one login from home teaches (Sveio, Norway, a Windows PC), with changes. */
export function observation(over: Partial<Observation> = {}): Observation {
  return {
    time: Date.parse('2026-03-01T08:00:00Z'),
    deviceId: 'd1',
    family: 'Chrome/Windows/desktop',
    subnet: '81.167.144.0/24',
    range: '81.167.0.0/16',
    place: { country: 'NO', region: '46', city: 'Sveio', tz: 'Europe/Oslo' },
    point: { lat: 59.5, lon: 5.35, radiusKm: 10 },
    hour: 9,
    ...over,
  };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const TEST_SECRET = Buffer.alloc(32, 7);

export interface TestApp {
  app: FastifyInstance;
  engine: Engine;
  store: Backend;
  rules: RuleHolder;
  clock: TestClock;
  metrics: Metrics;
  /** The challenge module, delivering into `outbox` unless other providers were given. */
  service: ChallengeService;
  outbox: OutboxProvider;
  keys: Keys;
  close(): Promise<void>;
}

export interface TestAppOptions {
  rulesDir?: string;
  /** The store (closed with the app); an in-memory SQLite store by default. */
  store?: Backend;
  /** May be shared by several apps. */
  clock?: TestClock;
  /** The server's store guard and fail mode; none by default (store errors propagate). */
  storeFailure?: AssembleOptions['storeFailure'];
  metrics?: Metrics;
  providers?: Provider[];
  /** riskgate.yaml's `delivery` and `challenges`. */
  file?: ConfigFile;
  /** The server secret's keys; TEST_SECRET's by default. */
  keys?: Keys;
  /** API keys as RISKGATE_API_KEYS spells them; API_KEY with every scope by default. */
  apiKeys?: string[];
}

/** The server's wiring (src/assemble.ts) in memory, with an injected clock. */
export async function makeApp(o: TestAppOptions = {}): Promise<TestApp> {
  const clock = o.clock ?? new TestClock();
  const rules = await RuleHolder.load(o.rulesDir ?? RULES_DIR);
  const store = o.store ?? new SqliteBackend({ path: ':memory:' });
  const metrics = o.metrics ?? new Metrics(false);
  const keys = o.keys ?? new Keys(TEST_SECRET);
  const outbox = new OutboxProvider('outbox', ['sms', 'whatsapp', 'voice', 'email']);
  const { app, engine, challenges } = await assemble({
    store,
    rules,
    clock: clock.read,
    keys,
    apiKeys: new ApiKeys(o.apiKeys ?? [`${API_KEY}:decide+factors+admin`]),
    metrics,
    file: o.file ?? {},
    env: {},
    providers: o.providers ?? [outbox],
    storeFailure: o.storeFailure,
  });
  return {
    app,
    engine,
    store,
    rules,
    clock,
    metrics,
    service: challenges,
    outbox,
    keys,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/** A copy of the default rules in a temporary directory, to break or change. */
export async function copyRules(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'riskgate-rules-'));
  await cp(RULES_DIR, dir, { recursive: true });
  return dir;
}

export async function decide(t: TestApp, body: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url: '/v1/decisions', headers: AUTH, payload: body });
  return { status: res.statusCode, body: res.json() };
}

export async function fail(t: TestApp, body: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url: '/v1/login-failures', headers: AUTH, payload: body });
  return { status: res.statusCode, body: res.json() };
}

/** Teaches `days` daily logins at the same time of day, ending a day before the clock. */
export async function habit(t: TestApp, login: Record<string, unknown>, days = 20): Promise<void> {
  const end = t.clock.now;
  t.clock.now = end - days * DAY;
  for (let i = 0; i < days; i++) {
    const r = await decide(t, login);
    if (r.body.action !== 'allow') throw new Error(`habit login ${i} was ${r.body.action}: ${JSON.stringify(r.body.reasons)}`);
    t.clock.advance(DAY);
  }
  t.clock.now = end;
}
