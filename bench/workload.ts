import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { Engine } from '../src/engine/engine.js';
import { loadRuleSet } from '../src/rules/compile.js';
import { DEFAULT_STREAM, generate } from '../src/replay/generate/generate.js';
import type { GenEvent } from '../src/replay/generate/stream.js';
import { openStore, type StoreSettings } from '../src/store/open.js';
import type { LoginAttempt } from '../src/types.js';

const DAY_MS = 86_400_000;
/** Days of history the server learns before it is measured, and days of traffic it is measured on. */
const HISTORY_DAYS = 14;
const MEASURED_DAYS = 7;

export interface Workload {
  /** Two weeks of logins and failures, taught to the store before the server starts. */
  history: GenEvent[];
  /** The third week's successful logins (legitimate and attacks), as POST /v1/decisions bodies. */
  requests: LoginAttempt[];
}

/**
 * The load: the fixture generator's stream (homes, ISP and mobile networks, several devices,
 * travel, typos, and labelled attacks) for `users` users, ending today, so that the server's
 * real clock meets profiles of the right age.
 */
export function workload(users: number, maxRequests: number): Workload {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const start = today - (HISTORY_DAYS + MEASURED_DAYS) * DAY_MS;
  const events = [...generate({ ...DEFAULT_STREAM, seed: 'bench', users, days: HISTORY_DAYS + MEASURED_DAYS, start })];
  const cut = start + HISTORY_DAYS * DAY_MS;
  const history = events.filter((e) => e.time < cut);
  const requests = events
    .filter((e) => e.time >= cut && e.outcome === 'success')
    .slice(0, maxRequests)
    .map((e) => ({ userId: e.userId, ip: e.ip, ...(e.userAgent ? { userAgent: e.userAgent } : {}), ...(e.deviceId ? { deviceId: e.deviceId } : {}) }));
  return { history, requests };
}

export type StoreKind = 'sqlite' | 'redis' | 'postgres';

/** A data directory (for Redis a key prefix, for PostgreSQL the database at `databaseUrl`) whose store has learned `history`, as a replay would. */
export async function warmState(kind: StoreKind, history: readonly GenEvent[], redisUrl: string, databaseUrl?: string): Promise<{ dir: string; prefix: string; settings: StoreSettings }> {
  const dir = mkdtempSync(join(tmpdir(), `riskgate-bench-${kind}-`));
  const prefix = `rgbench:${process.pid}:${kind}:`;
  const file = join(dir, 'riskgate.yaml');
  writeFileSync(file, `store:\n  redis:\n    keyPrefix: "${prefix}"\n`);
  // The server (riskgate-server.ts) reads the same file and data directory.
  const config = loadConfig({ config: file, data: dir, rules: 'rules', port: '0' });
  const settings: StoreSettings = {
    dataDir: config.dataDir,
    redisUrl: kind === 'redis' ? redisUrl : undefined,
    databaseUrl: kind === 'postgres' ? databaseUrl : undefined,
    timeoutMs: 10_000, // teaching is not the measured path: a loaded machine must not time it out (ioredis commandTimeout)
    redis: config.store.redis,
    postgres: config.store.postgres,
  };
  const opened = await openStore(settings);
  const { store } = opened;
  // Commands fail at once until Redis is connected (no offline queue): wait for it.
  if (opened.ready && !(await opened.ready(5000))) throw new Error(`no Redis at ${redisUrl}`);
  const rules = await loadRuleSet('rules');
  let now = 0;
  const engine = new Engine({ store, rules: () => rules, clock: () => now });
  for (const e of history) {
    now = e.time;
    const attempt = { userId: e.userId, ip: e.ip, userAgent: e.userAgent, deviceId: e.deviceId };
    if (e.outcome === 'failure') await engine.recordFailure(attempt);
    else {
      const d = await engine.decide(attempt);
      if (d.action === 'challenge' && e.label === 'legit') await engine.passChallenge(d.record);
    }
  }
  await store.close();
  return { dir, prefix, settings };
}

/**
 * Decides `requests` in order, `concurrency` at a time, as a server would see them from that
 * many connections. A cursor, not `shift()`: shifting an array this large copies what is left
 * each time (it is too big for V8 to trim in place), which was ~11% of a profile of the engine.
 */
export async function decideAll(engine: { decide(r: LoginAttempt): Promise<unknown> }, requests: readonly LoginAttempt[], concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) await engine.decide(requests[next++]!);
    }),
  );
}
