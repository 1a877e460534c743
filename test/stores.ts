import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteKeysUnder } from '../src/store/redis.js';
import { SqliteStore, type SqliteStoreOptions } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';
import { REDIS_URL, redisSkip, redisStore, testPrefix } from './redis-helpers.js';

/**
 * One shared state for a test. `open()` gives a handle on it: on Redis another riskgate
 * instance (its own connection, its own audit trail, so audit checks use one handle); on
 * SQLite, which one process owns, the same store again. `close()` closes every handle and
 * deletes what the test left.
 */
export interface World {
  open(): Promise<Store>;
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

function sqliteWorld(o: Omit<SqliteStoreOptions, 'path'> = {}): () => Promise<World> {
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-store-'));
    const store = new SqliteStore({ path: join(dir, 'riskgate.db'), ...o });
    return {
      open: async () => store,
      close: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

/** Every store, for the contract suite; SERVER_STORES for the suites of the server's features. */
export const STORE_KINDS: StoreKind[] = [
  { name: 'SqliteStore', skip: null, server: true, world: sqliteWorld() },
  // Replay's and the rule tests' store: profiles written back on eviction, failures in memory.
  { name: 'SqliteStore (ephemeral)', skip: null, server: false, world: sqliteWorld({ ephemeral: true, profileCache: 2 }) },
  {
    name: 'RedisStore',
    skip: redisSkip,
    server: true,
    world: async () => {
      const prefix = testPrefix();
      const handles: Store[] = [];
      return {
        open: async () => {
          const s = await redisStore(prefix);
          handles.push(s);
          return s;
        },
        close: async () => {
          for (const h of handles) await h.close();
          await deleteKeysUnder(REDIS_URL, prefix);
        },
      };
    },
  },
];

export const SERVER_STORES = STORE_KINDS.filter((k) => k.server);
