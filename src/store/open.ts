import { join } from 'node:path';
import type { Backend } from './ports.js';
import { RedisBackend } from './redis/backend.js';
import { SqliteBackend } from './sqlite/backend.js';

const DAY_MS = 86_400_000;

/** What opening the server's backend needs to know (riskgate.yaml's `store`, the data directory, REDIS_URL). */
export interface StoreSettings {
  /** Where the SQLite file (with Redis: this instance's audit trail) lives. */
  dataDir: string;
  /** REDIS_URL: Redis when set. */
  redisUrl?: string | undefined;
  /** A Redis command without an answer after this long fails. */
  timeoutMs: number;
  redis: { keyPrefix: string; recordDays: number };
}

export interface OpenedStore {
  store: Backend;
  /** For /healthz; absent for the embedded store, which cannot be cut off from the process. */
  health?: () => Promise<{ ok: boolean; [detail: string]: unknown }>;
  /** Waits up to `timeoutMs` for the first connection; false as soon as it failed. */
  ready?: (timeoutMs: number) => Promise<boolean>;
  /** Calls `listener` each time the connection comes up or goes down. */
  watch?: (listener: (up: boolean) => void) => void;
}

/**
 * The backend `riskgate serve` uses: Redis when a URL is set, with this instance's audit
 * trail in its own SQLite file; SQLite alone otherwise.
 */
export function openStore(s: StoreSettings): OpenedStore {
  const local = new SqliteBackend({ path: join(s.dataDir, 'riskgate.db') });
  if (!s.redisUrl) return { store: local };
  const store = new RedisBackend({
    url: s.redisUrl,
    keyPrefix: s.redis.keyPrefix,
    local,
    recordTtlMs: s.redis.recordDays * DAY_MS,
    commandTimeoutMs: s.timeoutMs,
  });
  return {
    store,
    health: () => store.health(s.timeoutMs),
    ready: (timeoutMs) => store.ready(timeoutMs, { failFast: true }),
    watch: (listener) => {
      store.client.on('ready', () => listener(true));
      store.client.on('close', () => listener(false));
    },
  };
}
