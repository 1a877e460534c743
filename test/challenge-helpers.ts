import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Deadline } from '../src/challenge/providers/http.js';
import type { OutboxProvider } from '../src/challenge/providers/outbox.js';
import type { Provider } from '../src/challenge/providers/provider.js';
import type { ConfigFile } from '../src/config.js';
import type { Backend } from '../src/store/ports.js';
import { PgBackend } from '../src/store/postgres/backend.js';
import { RedisBackend } from '../src/store/redis/backend.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { AUTH, IP, UA, habit, makeApp, type TestApp } from './helpers.js';
import type { StoreKind } from './stores.js';

export { TEST_SECRET } from './helpers.js';

export interface ChallengeApp extends TestApp {
  store: SqliteBackend;
}

/** makeApp on a store of `kind` (test/stores.ts); closing it also deletes what the test left. */
export async function challengeAppOn(kind: StoreKind, o: { providers?: Provider[]; file?: ConfigFile } = {}): Promise<TestApp> {
  const world = await kind.world();
  const t = await makeApp({ store: await world.open(), providers: o.providers, file: o.file });
  return {
    ...t,
    async close() {
      await t.app.close();
      await world.close();
    },
  };
}

/** challengeAppOn, where alice has logged in from HOME every day for weeks. */
export async function challengeAppAtHome(kind: StoreKind): Promise<TestApp> {
  const t = await challengeAppOn(kind);
  await habit(t, HOME);
  return t;
}

/** What a store keeps of the user's unused recovery codes, read behind its interface (to show that no code is kept in clear). */
export async function storedRecoveryHashes(store: Backend, userId: string): Promise<string[]> {
  if (store instanceof SqliteBackend) return (store.db.prepare('SELECT hash FROM recovery_codes WHERE user_id = ? AND used_at IS NULL').all(userId) as { hash: string }[]).map((r) => r.hash);
  if (store instanceof RedisBackend) return store.client.smembers(`${store.keyPrefix}r:${userId}`);
  if (store instanceof PgBackend) return (await store.db.pool.query<{ hash: string }>('SELECT hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId])).rows.map((r) => r.hash);
  throw new Error(`no way to read the recovery codes of a ${store.kind} store`);
}

/** makeApp on a SQLite store (in memory, or at `dbPath`), whose tables the tests read. */
export async function makeChallengeApp(o: { providers?: Provider[]; file?: ConfigFile; dbPath?: string } = {}): Promise<ChallengeApp> {
  const store = new SqliteBackend({ path: o.dbPath ?? ':memory:' });
  return { ...(await makeApp({ store, providers: o.providers, file: o.file })), store };
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
  /**
   * A provider's deadline (src/challenge/providers/http.ts) that passes the moment this
   * server holds a request without answering: the timeout path, without waiting for a timer.
   */
  deadline: Deadline;
  close(): Promise<void>;
}

/** A provider's API on 127.0.0.1, answering each request with `answer(request)`. */
export async function fakeServer(answer: (r: Recorded) => FakeAnswer): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const hanging: ServerResponse[] = [];
  const waiting = new Set<AbortController>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const r: Recorded = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      const a = answer(r);
      if (a === 'hang') {
        hanging.push(res);
        for (const c of waiting) c.abort(new DOMException('the fake server holds the request', 'TimeoutError'));
        waiting.clear();
        return;
      }
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.json === undefined ? '' : JSON.stringify(a.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    deadline: () => {
      const c = new AbortController();
      waiting.add(c);
      return c.signal;
    },
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
