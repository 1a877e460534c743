import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe } from 'vitest';
import type { Backend } from '../src/store/ports.js';
import type { RedisBackend } from '../src/store/redis/backend.js';
import { SqliteBackend, type SqliteBackendOptions } from '../src/store/sqlite/backend.js';
import type { PgBackend } from '../src/store/postgres/backend.js';
import { pgBackend, pgSkip, testSchema } from './postgres-helpers.js';
import { REDIS_URL, redisBackend, redisSkip, skippedTitle, testPrefix } from './redis-helpers.js';
import { deleteKeysUnder } from './redis-keys.js';

/**
 * One shared state for a test. `open()` gives a handle on it: on Redis another riskgate
 * instance (its own connection, its own audit trail, so audit checks use one handle); on
 * PostgreSQL another instance's pool on the same schema; on SQLite, which one process owns,
 * the same backend again. `close()` closes every handle and
 * deletes what the test left. `writeProfileDoc` stores a profile document as it is, bypassing
 * the ports (to show what reading a foreign one does).
 */
export interface World {
  open(): Promise<Backend>;
  writeProfileDoc(userId: string, doc: string): Promise<void>;
  close(): Promise<void>;
}

export interface StoreKind {
  name: string;
  /** Why tests on this store are skipped; null when they run. */
  skip: string | null;
  /** A store `riskgate serve` runs on (the ephemeral one is replay's and the rule tests'). */
  server: boolean;
  world(): Promise<World>;
}

function sqliteWorld(o: Omit<SqliteBackendOptions, 'path'> = {}): () => Promise<World> {
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-store-'));
    const store = new SqliteBackend({ path: join(dir, 'riskgate.db'), ...o });
    return {
      open: async () => store,
      writeProfileDoc: async (userId, doc) => void store.db.prepare('INSERT INTO profiles (user_id, doc, updated) VALUES (?, ?, 0)').run(userId, doc),
      close: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

async function redisWorld(): Promise<World> {
  const prefix = testPrefix();
  const handles: RedisBackend[] = [];
  const open = async () => {
    const s = await redisBackend(prefix);
    handles.push(s);
    return s;
  };
  return {
    open,
    writeProfileDoc: async (userId, doc) => void (await (handles[0] ?? (await open())).client.hset(`${prefix}p:${userId}`, 'doc', doc, 'ver', '1')),
    close: async () => {
      for (const h of handles) await h.close();
      await deleteKeysUnder(REDIS_URL, prefix);
    },
  };
}

/** A schema of its own in the test file's database; each handle is another instance's pool on it. */
async function postgresWorld(): Promise<World> {
  const schema = await testSchema();
  const handles: PgBackend[] = [];
  const open = async () => {
    const s = await pgBackend(schema.url);
    handles.push(s);
    return s;
  };
  return {
    open,
    writeProfileDoc: async (userId, doc) => void (await (handles[0] ?? (await open())).db.pool.query('INSERT INTO profiles (user_id, doc, ver) VALUES ($1, $2, 1)', [userId, doc])),
    close: async () => {
      for (const h of handles) await h.close();
      await schema.drop();
    },
  };
}

/**
 * Every backend, for the contract suite; SERVER_STORES for the suites of the server's
 * features. A new backend is one more entry here.
 */
export const STORE_KINDS: StoreKind[] = [
  { name: 'SQLite', skip: null, server: true, world: sqliteWorld() },
  // Replay's and the rule tests' store: profiles written back on eviction, failures in memory.
  { name: 'SQLite (ephemeral)', skip: null, server: false, world: sqliteWorld({ ephemeral: true, profileCache: 2 }) },
  { name: 'Redis', skip: redisSkip, server: true, world: redisWorld },
  { name: 'PostgreSQL', skip: pgSkip, server: true, world: postgresWorld },
];

export const SERVER_STORES = STORE_KINDS.filter((k) => k.server);

/**
 * A stand-in for the value of the test that is running: every property read (or write) goes
 * to what `current()` answers then. Suites are defined before their tests run, so they hold
 * this instead of the value itself.
 */
export function handle<T extends object>(current: () => T): T {
  return new Proxy({} as T, {
    get: (_, p) => Reflect.get(current(), p),
    set: (_, p, v) => Reflect.set(current(), p, v),
  });
}

/**
 * Defines `suite` once per store kind, in a describe titled "title (store)" that is skipped,
 * saying why, when the store is not reachable. Before each test, `open` makes what the test
 * runs on; it is closed after. `suite` gets a handle on it (see handle()).
 */
export function describeEachStore<T extends { close(): Promise<void> }>(kinds: readonly StoreKind[], title: string, open: (kind: StoreKind) => Promise<T>, suite: (t: T, kind: StoreKind) => void): void {
  for (const kind of kinds) {
    describe.skipIf(kind.skip !== null)(skippedTitle(`${title} (${kind.name})`, kind.skip), () => {
      let current: T | undefined;
      beforeEach(async () => {
        current = await open(kind);
      });
      afterEach(async () => {
        await current?.close();
        current = undefined;
      });
      suite(
        handle(() => {
          if (!current) throw new Error(`no ${kind.name} value outside a test`);
          return current;
        }),
        kind,
      );
    });
  }
}
