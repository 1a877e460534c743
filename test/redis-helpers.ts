import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { RedisBackend, type RedisBackendOptions } from '../src/store/redis/backend.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { DAY } from './helpers.js';

/**
 * Redis for the tests: the one on this machine (REDIS_URL, which test/setup-env.ts hands over as
 * RISKGATE_TEST_REDIS_URL, else 127.0.0.1:6379). Without it
 * the Redis tests are skipped with a message, so a newcomer's `npm test` stays green; with
 * RISKGATE_REQUIRE_REDIS=1 (set by .ci/run) a missing Redis fails the run instead.
 */
export const REDIS_URL = process.env.RISKGATE_TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const REQUIRED = process.env.RISKGATE_REQUIRE_REDIS === '1';

async function probe(url: string): Promise<string | null> {
  const c = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  let cause: Error | null = null;
  c.on('error', (e: Error) => void (cause ??= e));
  try {
    await c.connect();
    await c.ping();
    return null;
  } catch (e) {
    // connect() rejects with "Connection is closed."; the error event has the reason (ECONNREFUSED...).
    return (cause ?? (e as Error)).message;
  } finally {
    c.disconnect();
  }
}

function skipReason(what: string, why: string): string {
  const message = `${what} (${why})`;
  if (REQUIRED) throw new Error(`RISKGATE_REQUIRE_REDIS=1 but ${message}`);
  process.stderr.write(`\n[riskgate] Redis tests SKIPPED: ${message}. Start Redis (or point REDIS_URL at one) to run them; CI sets RISKGATE_REQUIRE_REDIS=1 and fails instead.\n`);
  return message;
}

const down = await probe(REDIS_URL);
/** Why the Redis tests are skipped; null when they run. */
export const redisSkip: string | null = down === null ? null : skipReason(`no Redis at ${REDIS_URL}`, down);

/** Why tests that start their own redis-server are skipped (no binary); null when they run. */
export const redisServerSkip: string | null = (() => {
  if (redisSkip) return redisSkip;
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : skipReason('no redis-server binary to start a throwaway Redis', r.error?.message ?? `exit ${r.status}`);
})();

export function skippedTitle(title: string, skip: string | null): string {
  return skip ? `${title} [skipped: ${skip}]` : title;
}

/** A key prefix of its own for each test, so parallel test files never see each other's keys. */
export function testPrefix(): string {
  return `rgtest:${randomUUID().slice(0, 8)}:`;
}

/** A RedisBackend with its own in-memory local backend (the audit trail), connected before it is returned (unless `connect` is false). */
export async function redisBackend(prefix: string, o: { url?: string; local?: RedisBackendOptions['local']; timeoutMs?: number; connect?: boolean } = {}): Promise<RedisBackend> {
  const store = new RedisBackend({
    url: o.url ?? REDIS_URL,
    keyPrefix: prefix,
    local: o.local ?? new SqliteBackend({ path: ':memory:' }),
    recordTtlMs: 90 * DAY,
    commandTimeoutMs: o.timeoutMs ?? 1000,
    // Tests wait for reconnection after a restart; keep the pauses between attempts short.
    reconnectMaxMs: 50,
  });
  if (o.connect !== false && !(await store.ready(2000))) throw new Error(`RedisBackend could not connect to ${o.url ?? REDIS_URL}`);
  return store;
}

/** A port nothing listens on (free a moment ago). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, 'close');
  return port;
}

/** A redis-server of the test's own, to kill, pause and bring back. */
export class ThrowawayRedis {
  private proc: ChildProcess | null = null;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(port?: number): Promise<ThrowawayRedis> {
    const r = new ThrowawayRedis(port ?? (await freePort()));
    await r.start();
    return r;
  }

  /** Starts (again) on the same port, empty: like the machine's Redis, it keeps nothing on disk. Resolves once it says it accepts connections. */
  async start(): Promise<void> {
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`redis-server on port ${this.port} exited with ${code}`));
      proc.once('exit', exited);
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        if (!line.includes('Ready to accept connections')) return;
        proc.off('exit', exited);
        resolve();
      });
    });
  }

  /** SIGKILL: connections drop at once, the data is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await once(proc, 'exit');
    this.proc = null;
  }

  /** SIGSTOP: connections stay open and nothing answers, like a hung server or a black-holed network. */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  /** SIGCONT; resolves once it answers again. */
  async resume(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGCONT');
    const down = await probe(this.url);
    if (down !== null) throw new Error(`redis-server on port ${this.port} does not answer after SIGCONT: ${down}`);
  }

  async stop(): Promise<void> {
    this.proc?.kill('SIGCONT');
    await this.kill();
  }
}
