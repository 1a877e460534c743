import { join } from 'node:path';
import type { Config } from '../config.js';
import { RedisStore } from './redis.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

const DAY_MS = 86_400_000;

export interface OpenedStore {
  store: Store;
  /** For /healthz; absent for the embedded store, which cannot be cut off from the process. */
  health?: () => Promise<{ ok: boolean; [detail: string]: unknown }>;
  /** Waits up to `timeoutMs` for the first connection; false as soon as it failed. */
  ready?: (timeoutMs: number) => Promise<boolean>;
  /** Calls `listener` each time the connection comes up or goes down. */
  watch?: (listener: (up: boolean) => void) => void;
}

/**
 * The store `riskgate serve` uses: Redis when REDIS_URL is set, with this instance's audit
 * trail in its own SQLite file; SQLite alone otherwise.
 */
export function openStore(config: Config, env: NodeJS.ProcessEnv): OpenedStore {
  const local = new SqliteStore({ path: join(config.dataDir, 'riskgate.db') });
  const url = env.REDIS_URL;
  if (!url) return { store: local };
  const store = new RedisStore({
    url,
    keyPrefix: config.store.redis.keyPrefix,
    local,
    recordTtlMs: config.store.redis.recordDays * DAY_MS,
    commandTimeoutMs: config.store.timeoutMs,
  });
  return {
    store,
    health: async () => ({ ...(await store.health(config.store.timeoutMs)), failMode: config.store.failMode }),
    ready: (timeoutMs) => store.ready(timeoutMs, { failFast: true }),
    watch: (listener) => {
      store.client.on('ready', () => listener(true));
      store.client.on('close', () => listener(false));
    },
  };
}
