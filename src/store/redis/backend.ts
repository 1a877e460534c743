import type { ChainableCommander } from 'ioredis';
import { TurnRedis } from './client.js';
import type { AuditEntry, Backend, DecisionRecord, LimitCounters } from '../ports.js';
import { RedisChallengeState } from './challenges.js';
import { RedisDecisionLog } from './decisions.js';
import { RedisFailures } from './failures.js';
import { RedisIdempotency } from './idempotency.js';
import { redisKeys, type RedisContext } from './keys.js';
import { redisLimits } from './limits.js';
import { RedisLogins } from './logins.js';
import { RedisPasskeys } from './passkeys.js';
import { RedisProfiles } from './profiles.js';

/**
 * Where the audit trail goes, not in Redis's memory (README: the audit choice): this instance's
 * own SQLite file, or with DATABASE_URL PostgreSQL, fed through a stream in this Redis.
 */
export interface LocalTrail extends Pick<Backend, 'audit' | 'prune' | 'close'> {
  /** A trail fed through this Redis: adds a decision's entry to the MULTI that stores its record, so both are acknowledged together. */
  addDecision?(tx: ChainableCommander, entry: AuditEntry): void;
  /** A decision Redis no longer (or never) had, from the trail's own store. */
  decision?(id: string): Promise<DecisionRecord | null>;
}

export interface RedisBackendOptions {
  /** redis://[user:password@]host:port[/db], or rediss:// for TLS. */
  url: string;
  /** Prepended to every key, so several deployments (or tests) can share one Redis. */
  keyPrefix?: string | undefined;
  /** The audit trail (decisions' entries included), or what makes it on this backend's connection. */
  local: LocalTrail | ((r: RedisContext) => LocalTrail);
  /** How long decision records, learned records and closed challenges live (the audit retention by default). */
  recordTtlMs: number;
  /** A command without an answer after this long fails (the store guard has its own deadline too). */
  commandTimeoutMs?: number | undefined;
  /** The longest pause between reconnection attempts, so recovery is noticed soon. */
  reconnectMaxMs?: number | undefined;
}

/**
 * The shared backend for several riskgate instances behind a load balancer: everything that
 * an instance must see of the others' traffic lives in one Redis (keys.ts has the layout);
 * the audit trail stays local.
 *
 * Failures: no offline queue and no retries of commands, so a command fails at once while the
 * connection is down instead of piling up; each command also times out. The store guard turns
 * those errors into the fail mode; ioredis reconnects in the background, and the next request
 * after it has succeeds as usual.
 */
export class RedisBackend implements Backend {
  readonly kind = 'redis';
  readonly client: TurnRedis;
  readonly keyPrefix: string;
  readonly profiles: RedisProfiles;
  readonly decisions: RedisDecisionLog;
  readonly audit: LocalTrail['audit'];
  readonly failures: RedisFailures;
  readonly logins: RedisLogins;
  readonly limits: LimitCounters;
  readonly challenges: RedisChallengeState;
  readonly passkeys: RedisPasskeys;
  readonly idempotency: RedisIdempotency;
  /** Where the audit trail goes. */
  readonly local: LocalTrail;

  constructor(opts: RedisBackendOptions) {
    this.keyPrefix = opts.keyPrefix ?? 'rg:';
    const reconnectMaxMs = opts.reconnectMaxMs ?? 1000;
    this.client = new TurnRedis(opts.url, {
      // RESP2 works with every Redis this needs (Lua, PX); nothing here gains from RESP3.
      protocol: 2,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: opts.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(25 * 2 ** Math.min(times, 10), reconnectMaxMs),
      connectionName: 'riskgate',
    });
    // Without a listener ioredis prints every failed reconnection; the store guard reports outages once.
    this.client.on('error', () => undefined);

    const r: RedisContext = { client: this.client, prefix: this.keyPrefix, key: redisKeys(this.keyPrefix), recordTtlMs: Math.max(1, Math.round(opts.recordTtlMs)) };
    this.local = typeof opts.local === 'function' ? opts.local(r) : opts.local;
    this.profiles = new RedisProfiles(r);
    this.audit = this.local.audit;
    this.decisions = new RedisDecisionLog(r, this.local);
    this.failures = new RedisFailures(r);
    this.logins = new RedisLogins(r, this.profiles, this.failures);
    this.limits = redisLimits(r);
    this.challenges = new RedisChallengeState(r);
    this.passkeys = new RedisPasskeys(r);
    this.idempotency = new RedisIdempotency(r);
  }

  /**
   * Resolves true once connected, false after `timeoutMs` (with `failFast`: as soon as a
   * connection attempt fails). A server starts either way, in its fail mode while Redis is down.
   */
  async ready(timeoutMs: number, opts: { failFast?: boolean } = {}): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('error', onError);
        resolve(ok);
      };
      const onReady = () => done(true);
      const onError = () => opts.failFast && done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.client.on('ready', onReady);
      this.client.on('error', onError);
    });
  }

  /** For /healthz: a PING within `timeoutMs`. */
  async health(timeoutMs: number): Promise<{ ok: boolean; redis: string }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('PING timed out')), timeoutMs))),
      ]);
      return { ok: true, redis: 'ok' };
    } catch {
      return { ok: false, redis: this.client.status === 'ready' ? 'not answering' : 'unreachable' };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The local audit trail only: decision and learned records and challenges in Redis expire by their TTL. */
  prune(before: number): Promise<number> {
    return this.local.prune(before);
  }

  async close(): Promise<void> {
    // The trail first: one fed through this Redis drains what it can before the connection goes.
    await this.local.close();
    // QUIT lets answers in flight arrive; a Redis that does not answer it is simply dropped.
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}
