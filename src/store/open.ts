import { join } from 'node:path';
import { PgBackend } from './postgres/backend.js';
import { PgRecord, type StreamTrail } from './postgres/record.js';
import type { Backend } from './ports.js';
import { RedisBackend } from './redis/backend.js';
import { SqliteBackend } from './sqlite/backend.js';

const DAY_MS = 86_400_000;

type Health = { ok: boolean; [detail: string]: unknown };

/** What opening the server's backend needs to know (riskgate.yaml's `store`, the data directory, REDIS_URL, DATABASE_URL). */
export interface StoreSettings {
  /** Where the SQLite file (with Redis alone: this instance's audit trail) lives. */
  dataDir: string;
  /** REDIS_URL: Redis when set. */
  redisUrl?: string | undefined;
  /** DATABASE_URL: PostgreSQL when set: the whole store, or beside Redis the audit trail. */
  databaseUrl?: string | undefined;
  /** A store command without an answer after this long fails. */
  timeoutMs: number;
  /** SQLite: fdatasync each turn's journal write (power loss), not only write it (a killed process). */
  fsync?: boolean | undefined;
  redis: { keyPrefix: string; recordDays: number };
  postgres: { poolSize: number };
}

export interface OpenedStore {
  store: Backend;
  /** For /healthz; absent for the embedded store, which cannot be cut off from the process. */
  health?: () => Promise<Health>;
  /** Waits up to `timeoutMs` for the first connection; false as soon as it failed. */
  ready?: (timeoutMs: number) => Promise<boolean>;
  /** Calls `listener` each time the connection comes up or goes down. */
  watch?: (listener: (up: boolean) => void) => void;
}

/**
 * The backend `riskgate serve` uses:
 *  - neither URL: SQLite alone, in the data directory;
 *  - DATABASE_URL: PostgreSQL alone, the whole store;
 *  - REDIS_URL: Redis, with the audit trail in this instance's own SQLite file, or with
 *    DATABASE_URL too, in PostgreSQL, shared by every instance (fed through a Redis stream:
 *    postgres/record.ts).
 * PostgreSQL is connected and migrated here: settings that cannot work are a ConfigError
 * before anything listens.
 */
export async function openStore(s: StoreSettings): Promise<OpenedStore> {
  const pg = s.databaseUrl ? { url: s.databaseUrl, poolSize: s.postgres.poolSize } : null;
  if (pg && !s.redisUrl) {
    const store = await PgBackend.open(pg);
    return { store, health: () => store.health(s.timeoutMs) };
  }
  const sqlite = () => new SqliteBackend({ path: join(s.dataDir, 'riskgate.db'), fsync: s.fsync });
  if (!s.redisUrl) return { store: sqlite() };
  const record = pg ? await PgRecord.open(pg) : null;
  let trail: StreamTrail | undefined;
  const store = new RedisBackend({
    url: s.redisUrl,
    keyPrefix: s.redis.keyPrefix,
    local: record ? (r) => (trail = record.beside(r)) : sqlite(),
    recordTtlMs: s.redis.recordDays * DAY_MS,
    commandTimeoutMs: s.timeoutMs,
  });
  return {
    store,
    health: async () => {
      const [r, p] = await Promise.all([store.health(s.timeoutMs), trail?.health(s.timeoutMs)]);
      return p ? { ...r, ...p, ok: r.ok && p.ok } : r;
    },
    ready: (timeoutMs) => store.ready(timeoutMs, { failFast: true }),
    watch: (listener) => {
      store.client.on('ready', () => listener(true));
      store.client.on('close', () => listener(false));
    },
  };
}
