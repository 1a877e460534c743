import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { setupChallenges } from '../src/challenge/index.js';
import { Keys } from '../src/challenge/keys.js';
import { OutboxProvider } from '../src/challenge/providers/outbox.js';
import type { Provider } from '../src/challenge/providers/provider.js';
import type { ChallengeService } from '../src/challenge/service.js';
import type { ConfigFile } from '../src/config.js';
import { Engine } from '../src/engine/engine.js';
import { ApiKeys } from '../src/http/auth.js';
import { buildApp } from '../src/http/app.js';
import { challengeAppOptions } from '../src/http/challenge-routes.js';
import { Metrics } from '../src/http/metrics.js';
import { RuleHolder } from '../src/rules/holder.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { API_KEY, AUTH, IP, RULES_DIR, TestClock, UA } from './helpers.js';

export const TEST_SECRET = Buffer.alloc(32, 7);

export interface ChallengeApp {
  app: FastifyInstance;
  engine: Engine;
  store: SqliteStore;
  rules: RuleHolder;
  clock: TestClock;
  metrics: Metrics;
  service: ChallengeService;
  outbox: OutboxProvider;
  keys: Keys;
  close(): Promise<void>;
}

/** The server's wiring, in memory, with an injected clock; the outbox delivers unless other providers are given. */
export async function makeChallengeApp(o: { providers?: Provider[]; file?: ConfigFile; dbPath?: string } = {}): Promise<ChallengeApp> {
  const clock = new TestClock();
  const rules = await RuleHolder.load(RULES_DIR);
  const store = new SqliteStore({ path: o.dbPath ?? ':memory:' });
  const metrics = new Metrics(false);
  const keys = new Keys(TEST_SECRET);
  const outbox = new OutboxProvider('outbox', ['sms', 'whatsapp', 'voice', 'email']);
  const setup = setupChallenges({ store, keys, clock: clock.read, metrics, file: o.file ?? {}, env: {}, providers: o.providers ?? [outbox] });
  let service: ChallengeService | undefined;
  const engine = new Engine({
    store,
    rules: rules.current,
    clock: clock.read,
    trust: setup.trust,
    onConfirmedFraud: async (r) => void (await service?.revokeAllTrust(r.userId, r.id)),
  });
  service = setup.service(engine);
  const app = await buildApp({ engine, rules, apiKeys: new ApiKeys([API_KEY]), clock: clock.read, metrics, ...challengeAppOptions(service) });
  return {
    app,
    engine,
    store,
    rules,
    clock,
    metrics,
    service,
    outbox,
    keys,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/** A login riskgate challenges for a user with a habit at home: a new phone from another network. */
export const HOME = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' };
export const NEW_PHONE = { userId: 'alice', ip: IP.osloNO, userAgent: UA.safariIphone, deviceId: 'd-new-phone' };

export async function post(t: { app: FastifyInstance }, url: string, payload?: unknown) {
  const res = await t.app.inject({ method: 'POST', url, headers: AUTH, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return { status: res.statusCode, body: res.json(), raw: res.body };
}

export async function send(t: { app: FastifyInstance }, method: 'GET' | 'DELETE', url: string) {
  const res = await t.app.inject({ method, url, headers: AUTH });
  return { status: res.statusCode, body: res.json() };
}

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

/** What a fake provider answers: status and JSON, or "hang" to never answer (a timeout). */
export type FakeAnswer = { status: number; json?: unknown } | 'hang';

export interface FakeServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** A provider's API on 127.0.0.1, answering each request with `answer(request)`. */
export async function fakeServer(answer: (r: Recorded) => FakeAnswer): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const r: Recorded = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      const a = answer(r);
      if (a === 'hang') return void hanging.push(res);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.json === undefined ? '' : JSON.stringify(a.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The code in the newest outbox message to `to`. */
export function lastCode(outbox: OutboxProvider, to?: string): string {
  const m = outbox.last(to);
  if (!m) throw new Error(`no message${to ? ` to ${to}` : ''} in the outbox`);
  return m.code;
}
