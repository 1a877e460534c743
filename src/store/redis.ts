import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { learnProfile, unlearnProfile, type LearnedRecord, type Observation, type Profile } from '../profile/profile.js';
import { nextVerifyState } from './verify-attempt.js';
import {
  countsFrom,
  DISTINCT_USER_WINDOWS,
  failureBucket,
  FAILURE_RETENTION_MS,
  NO_FAILURES,
  oldestBucket,
  subjectKeys,
  type FailureCounts,
  type FailureSubjects,
} from '../signals/attempts.js';
import type { VerifyOutcome, VerifyResult, ChallengeDelivery, ChallengeRecord, TotpRecord, TrustedDevice } from '../challenge/model.js';
import type { AuditEntry, AuditQuery, DecisionRecord, Store } from './store.js';

/**
 * The shared store for several riskgate instances behind a load balancer: everything that an
 * instance must see of the others' traffic lives in one Redis; the audit trail stays local.
 *
 * Key layout (every key starts with `keyPrefix`, "rg:" by default):
 *
 *   rg:p:<userId>          hash {doc: profile JSON, ver: n}   no TTL (see below)
 *   rg:l:<decisionId>      string {userId, record}             TTL recordTtlMs: what a login taught, to unlearn it
 *   rg:d:<decisionId>      string DecisionRecord JSON          TTL recordTtlMs: so feedback works on any instance
 *   rg:f:<subject>         hash {5-min bucket: failures}      TTL a day after the last failure (attempts.ts)
 *   rg:fu:<ip>             zset {userId: latest failure ms}    TTL a day after the last failure
 *   rg:rl:<limiter>:<key>  rate-limiter-flexible counters      TTL = the limiter's duration (challenge abuse limits)
 *   rg:c:<challengeId>     hash (see ChallengeFields)          TTL recordTtlMs past its expiry: step-up challenges
 *   rg:cx                  zset {challengeId: expiresAt}       pending challenges, for the expiry sweep
 *   rg:t:<userId>          hash {doc, sec: sealed secret, step} no TTL: the user's authenticator enrolment
 *   rg:r:<userId>          set of unused recovery code hashes  no TTL: a used code leaves the set
 *   rg:td:<userId>         hash {trusted device id: JSON}      TTL the latest expiry among them: trusted devices
 *
 * Profiles keep no TTL on purpose: like SQLite rows they are one per user, each bounded by
 * PROFILE_LIMITS and aged out entry by entry. Expiring a whole profile would turn a dormant
 * account into a cold start, which the rules judge more leniently than "known user, all new".
 *
 * Atomicity. A failure is counted by one Lua script (FAILURE_ADD) for all its subjects, so
 * instances counting at once never lose one; a login's counts are read by one script too.
 * The abuse limits go through RateLimiterRedis, whose increments are one script each. Profiles are learned in JavaScript
 * (profile.ts, the same code as SQLite) and written with optimistic concurrency: read the
 * profile and its version, compute, then a Lua compare-and-set writes profile and learned
 * record together only if the version is unchanged and the decision has not taught yet; on a
 * conflict the loop reads again. A script rather than WATCH/MULTI because WATCH belongs to a
 * connection, and ioredis multiplexes all of an instance's requests over one connection: one
 * request's EXEC would end another's WATCH. Scripts name their keys in KEYS, but a profile and
 * a decision key do not share a hash slot, so this runs on one Redis (or Sentinel), not Cluster.
 *
 * Challenge state is shared too, so a challenge issued by one instance verifies on any other.
 * A verify attempt goes through the same compare-and-set as profiles: read the challenge and
 * its version, apply nextVerifyState (attempt.ts, the rules SQLite applies), write only if the
 * version is unchanged; concurrent attempts on several instances therefore count one by one and
 * never pass maxAttempts. A recovery code is spent by SREM (one instance gets 1), a TOTP step
 * by a script that moves `step` only forward, a resend and the expiry sweep by one script each.
 *
 * Failures: no offline queue and no retries of commands, so a command fails at once while the
 * connection is down instead of piling up; each command also times out. The engine turns those
 * errors into its fail mode; ioredis reconnects in the background, and the next request after
 * it has succeeds as usual.
 */

/** What stays in this instance's own store (a SqliteStore in its data directory): the audit trail, by choice (README). */
export type LocalState = Pick<Store, 'saveDecision' | 'audit' | 'queryAudit' | 'prune' | 'close'>;

export interface RedisStoreOptions {
  /** redis://[user:password@]host:port[/db], or rediss:// for TLS. */
  url: string;
  /** Prepended to every key, so several deployments (or tests) can share one Redis. */
  keyPrefix?: string;
  /** This instance's own store: audit entries, decisions included. */
  local: LocalState;
  /** How long decision records, learned records and closed challenges live (the audit retention by default). */
  recordTtlMs: number;
  /** A command without an answer after this long fails (the engine has its own deadline too). */
  commandTimeoutMs?: number;
  /** The longest pause between reconnection attempts, so recovery is noticed soon. */
  reconnectMaxMs?: number;
}

/** How many profile reads learn() may start from; beyond, they are dropped (a learn then reads again). */
const LAST_READ_LIMIT = 10_000;

/** Compare-and-set writes retry on conflicts; this many means a user (or a challenge) is hammered absurdly often. */
const MAX_CAS_ATTEMPTS = 100;

class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** EVALSHA, loading the script on the first NOSCRIPT (a restarted or flushed Redis forgets scripts). */
  async run(client: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('NOSCRIPT')) return client.eval(this.lua, keys.length, ...keys, ...args);
      throw e;
    }
  }
}

/** KEYS: profile, learned record. ARGV: version read, new profile, learned record, its TTL (ms). -1 already learned, 0 conflict, 1 done. */
const LEARN = new Script(`
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if (redis.call('HGET', KEYS[1], 'ver') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'ver', tostring(tonumber(ARGV[1]) + 1))
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1`);

/** KEYS: profile, learned record. ARGV: version read, new profile ('' when there is none). -1 nothing to unlearn, 0 conflict, 1 done. */
const UNLEARN = new Script(`
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if (redis.call('HGET', KEYS[1], 'ver') or '0') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'ver', tostring(tonumber(ARGV[1]) + 1)) end
redis.call('DEL', KEYS[2])
return 1`);

/**
 * Failed passwords (src/signals/attempts.ts). KEYS: [1] rg:fu:<ip> (sorted set: user → latest
 * failure time), [2..] rg:f:<subject> (hash: 5-minute bucket → failures) for user, ip and,
 * when there is one, device. Both scripts answer with what the counts are made from: each
 * subject hash, then the address's distinct users in the last hour and the last day.
 */
const FAILURE_READ_BODY = `
local out = {}
for i = 2, #KEYS do out[#out + 1] = redis.call('HGETALL', KEYS[i]) end
out[#out + 1] = redis.call('ZCOUNT', KEYS[1], ARGV[#ARGV - 1], '+inf')
out[#out + 1] = redis.call('ZCOUNT', KEYS[1], ARGV[#ARGV], '+inf')
return out`;

/** ARGV: bucket, now, retention ms, oldest bucket kept, userId, then the two distinct-user cutoffs. Counts one failure, atomically, then reads. */
const FAILURE_ADD = new Script(`
for i = 2, #KEYS do
  redis.call('HINCRBY', KEYS[i], ARGV[1], 1)
  if redis.call('HLEN', KEYS[i]) > 300 then
    for _, b in ipairs(redis.call('HKEYS', KEYS[i])) do
      if tonumber(b) < tonumber(ARGV[4]) then redis.call('HDEL', KEYS[i], b) end
    end
  end
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(ARGV[2]) - tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
${FAILURE_READ_BODY}`);

/** ARGV: the two distinct-user cutoffs. */
const FAILURE_READ = new Script(FAILURE_READ_BODY);

function distinctCutoffs(now: number): [number, number] {
  return [now - DISTINCT_USER_WINDOWS.ip_users_1h, now - DISTINCT_USER_WINDOWS.ip_users_24h];
}

function failureCountsFrom(raw: unknown, device: boolean, now: number): FailureCounts {
  const parts = raw as (string[] | number)[];
  const pairs = (flat: string[] | number | undefined): [number, number][] => {
    const list = (flat as string[] | undefined) ?? [];
    const out: [number, number][] = [];
    for (let i = 0; i + 1 < list.length; i += 2) out.push([Number(list[i]), Number(list[i + 1])]);
    return out;
  };
  const [user, ip] = [pairs(parts[0]), pairs(parts[1])];
  const dev = device ? pairs(parts[2]) : [];
  const tail = parts.slice(device ? 3 : 2) as number[];
  if (!user.length && !ip.length && !dev.length) return NO_FAILURES;
  return countsFrom({ user, ip, device: dev }, { ip_users_1h: Number(tail[0] ?? 0), ip_users_24h: Number(tail[1] ?? 0) }, now);
}

/**
 * Challenges. The hash holds `doc` (what never changes, JSON), `dl` (the current delivery,
 * JSON), and what the scripts read and change: st (status), at (attempts), sn (sends),
 * ex (expiresAt), va (verifiedAt, '' for none) and v (version, for compare-and-set).
 */
interface ChallengeFields {
  doc: string;
  dl: string;
  st: string;
  at: string;
  sn: string;
  ex: string;
  va: string;
}

type ChallengeDoc = Pick<ChallengeRecord, 'id' | 'decisionId' | 'userId' | 'ip' | 'deviceId' | 'phone' | 'email' | 'maxAttempts' | 'createdAt'>;
type DeliveryDoc = Pick<ChallengeRecord, 'channel' | 'destination' | 'provider' | 'providerRef' | 'codeHash'>;

function challengeFields(c: ChallengeRecord): ChallengeFields {
  const doc: ChallengeDoc = { id: c.id, decisionId: c.decisionId, userId: c.userId, ip: c.ip, deviceId: c.deviceId, phone: c.phone, email: c.email, maxAttempts: c.maxAttempts, createdAt: c.createdAt };
  const dl: DeliveryDoc = { channel: c.channel, destination: c.destination, provider: c.provider, providerRef: c.providerRef, codeHash: c.codeHash };
  return { doc: JSON.stringify(doc), dl: JSON.stringify(dl), st: c.status, at: String(c.attempts), sn: String(c.sends), ex: String(c.expiresAt), va: c.verifiedAt === null ? '' : String(c.verifiedAt) };
}

function challengeFrom(h: Record<string, string>): { record: ChallengeRecord; version: string } | null {
  if (!h.doc || !h.dl) return null;
  const record: ChallengeRecord = {
    ...(JSON.parse(h.doc) as ChallengeDoc),
    ...(JSON.parse(h.dl) as DeliveryDoc),
    status: h.st as ChallengeRecord['status'],
    attempts: Number(h.at),
    sends: Number(h.sn),
    expiresAt: Number(h.ex),
    verifiedAt: h.va ? Number(h.va) : null,
  };
  return { record, version: h.v ?? '0' };
}

function pairsToObject(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}

/** The results of a MULTI, throwing the first command's error. */
function failedIn(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('Redis transaction aborted');
  for (const [err] of results) if (err) throw err;
  return results.map(([, v]) => v);
}

/**
 * KEYS: challenge, pending index. ARGV: id, doc, dl, st, at, sn, ex, va, how long the key lives (ms).
 * TTLs are always relative: Redis expires on its own clock, riskgate's is injected (tests, replay).
 */
const CHALLENGE_CREATE = new Script(`
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'dl', ARGV[3], 'st', ARGV[4], 'at', ARGV[5], 'sn', ARGV[6], 'ex', ARGV[7], 'va', ARGV[8], 'v', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[9])
if ARGV[4] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1]) end
return 1`);

/** KEYS: challenge, pending index. ARGV: id, version read, st, at, va. -1 no such challenge, 0 conflict, 1 done. */
const CHALLENGE_SET_STATE = new Script(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'st', ARGV[3], 'at', ARGV[4], 'va', ARGV[5], 'v', tostring(tonumber(v) + 1))
if ARGV[3] ~= 'pending' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1`);

/** KEYS: challenge, pending index. ARGV: id, dl, ex. A new code for a pending challenge (its key lives longer by as much): 1, else 0. */
const CHALLENGE_DELIVERY = new Script(`
if redis.call('HGET', KEYS[1], 'st') ~= 'pending' then return 0 end
local later = tonumber(ARGV[3]) - tonumber(redis.call('HGET', KEYS[1], 'ex'))
redis.call('HSET', KEYS[1], 'dl', ARGV[2], 'ex', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'sn', 1)
redis.call('HINCRBY', KEYS[1], 'v', 1)
local ttl = redis.call('PTTL', KEYS[1])
if later > 0 and ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl + later) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1`);

/**
 * KEYS: pending index. ARGV: now, limit, the challenge key prefix. Takes up to `limit` due
 * challenges off the index; those still pending become expired and are returned (HGETALL),
 * each to one caller only. A challenge key is built from its id here, so this needs one
 * Redis (or Sentinel), not Cluster, like the profile scripts.
 */
const CHALLENGE_EXPIRE = new Script(`
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local k = ARGV[3] .. id
  if redis.call('HGET', k, 'st') == 'pending' and tonumber(redis.call('HGET', k, 'ex')) <= tonumber(ARGV[1]) then
    redis.call('HSET', k, 'st', 'expired')
    redis.call('HINCRBY', k, 'v', 1)
    out[#out + 1] = redis.call('HGETALL', k)
  end
end
return out`);

/** KEYS: TOTP enrolment. ARGV: step. Moves the last accepted step forward only: 1, else 0 (a replay, or no enrolment). */
const TOTP_STEP = new Script(`
local s = redis.call('HGET', KEYS[1], 'step')
if s and tonumber(s) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'step', ARGV[1])
  return 1
end
return 0`);

/** KEYS: TOTP enrolment. ARGV: sealed secret expected, its replacement. 1 when replaced. */
const TOTP_RESEAL = new Script(`
if redis.call('HGET', KEYS[1], 'sec') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'sec', ARGV[2])
return 1`);

/** KEYS: the user's trusted devices. ARGV: id, device JSON, its expiry, now. Adds it, drops expired ones, and keeps the key as long as the latest expiry. */
const TRUST_ADD = new Script(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local latest = tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local e = cjson.decode(all[i + 1]).expiresAt
  if e <= tonumber(ARGV[4]) then redis.call('HDEL', KEYS[1], all[i]) elseif e > latest then latest = e end
end
redis.call('PEXPIRE', KEYS[1], string.format('%d', latest - tonumber(ARGV[4])))
return 1`);

/** Every key under `prefix` (SCAN, never KEYS: KEYS would stop a shared Redis while it runs). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

/** Deletes every key under `prefix`, on a connection of its own (tests, benches, retiring a key prefix); returns how many. */
export async function deleteKeysUnder(url: string, prefix: string): Promise<number> {
  const c = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    const keys = await keysUnder(c, prefix);
    for (let i = 0; i < keys.length; i += 1000) await c.unlink(...keys.slice(i, i + 1000));
    return keys.length;
  } finally {
    c.disconnect();
  }
}

interface StoredLearned {
  userId: string;
  record: LearnedRecord;
}

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly client: Redis;
  readonly keyPrefix: string;
  readonly limiter: (name: string, durationSec: number) => RateLimiterAbstract;
  private readonly local: LocalState;
  private readonly recordTtlMs: number;
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  /** Each user's profile as getProfile last read it, for learn's first compare-and-set round. */
  private readonly lastRead = new Map<string, { doc: string | null; ver: string | null }>();

  constructor(opts: RedisStoreOptions) {
    this.keyPrefix = opts.keyPrefix ?? 'rg:';
    this.local = opts.local;
    this.recordTtlMs = Math.max(1, Math.round(opts.recordTtlMs));
    const reconnectMaxMs = opts.reconnectMaxMs ?? 1000;
    this.client = new Redis(opts.url, {
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
    // Without a listener ioredis prints every failed reconnection; the engine reports outages once.
    this.client.on('error', () => undefined);

    this.limiter = (name, durationSec) => {
      const key = `${name}:${durationSec}`;
      let l = this.limiters.get(key);
      if (!l) {
        l = new RateLimiterRedis({
          storeClient: this.client,
          keyPrefix: `${this.keyPrefix}rl:${name}`,
          points: Number.MAX_SAFE_INTEGER,
          duration: durationSec,
          // Fail at once while disconnected, like every other call here.
          rejectIfRedisNotReady: true,
        });
        this.limiters.set(key, l);
      }
      return l;
    };
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

  private key(kind: 'p' | 'l' | 'd' | 'f' | 'fu' | 'c' | 't' | 'r' | 'td', id: string): string;
  private key(kind: 'cx'): string;
  private key(kind: string, id?: string): string {
    return id === undefined ? `${this.keyPrefix}${kind}` : `${this.keyPrefix}${kind}:${id}`;
  }

  /** The keys of a login's failure data: the address's users set, then one hash per subject. */
  private failureKeys(s: FailureSubjects): { keys: string[]; device: boolean } {
    const k = subjectKeys(s);
    const keys = [this.key('fu', s.ip), this.key('f', k.user), this.key('f', k.ip)];
    if (k.device) keys.push(this.key('f', k.device));
    return { keys, device: k.device !== null };
  }

  async addFailure(s: FailureSubjects, now: number): Promise<FailureCounts> {
    const { keys, device } = this.failureKeys(s);
    const raw = await FAILURE_ADD.run(this.client, keys, [failureBucket(now), now, FAILURE_RETENTION_MS, oldestBucket(now), s.userId, ...distinctCutoffs(now)]);
    return failureCountsFrom(raw, device, now);
  }

  async failureCounts(s: FailureSubjects, now: number): Promise<FailureCounts> {
    const { keys, device } = this.failureKeys(s);
    const raw = await FAILURE_READ.run(this.client, keys, distinctCutoffs(now));
    return failureCountsFrom(raw, device, now);
  }

  async getProfile(userId: string): Promise<Profile | null> {
    const [doc, ver] = await this.client.hmget(this.key('p', userId), 'doc', 'ver');
    // The login being decided usually teaches this profile next: its compare-and-set starts from this read.
    if (this.lastRead.size >= LAST_READ_LIMIT) this.lastRead.clear();
    this.lastRead.set(userId, { doc: doc ?? null, ver: ver ?? null });
    return doc ? (JSON.parse(doc) as Profile) : null;
  }

  async learn(userId: string, decisionId: string, observation: Observation): Promise<boolean> {
    const pkey = this.key('p', userId);
    const lkey = this.key('l', decisionId);
    return this.compareAndSet(async () => {
      // Whether this decision already taught is the script's to tell (-1): it is rare, and checking first costs a command.
      // The first round starts from the decision's own read when there is one (a stale one only costs a retry).
      const read = this.lastRead.get(userId);
      this.lastRead.delete(userId);
      const [doc, ver] = read ? [read.doc, read.ver] : await this.client.hmget(pkey, 'doc', 'ver');
      const current = doc ? (JSON.parse(doc) as Profile) : null;
      const stored: StoredLearned = { userId, record: { observation, previousLast: current?.last ?? null } };
      return LEARN.run(this.client, [pkey, lkey], [ver ?? '0', JSON.stringify(learnProfile(current, observation)), JSON.stringify(stored), this.recordTtlMs]);
    });
  }

  async unlearn(decisionId: string): Promise<boolean> {
    const lkey = this.key('l', decisionId);
    const raw = await this.client.get(lkey);
    if (!raw) return false;
    const { userId, record } = JSON.parse(raw) as StoredLearned;
    const pkey = this.key('p', userId);
    return this.compareAndSet(async () => {
      const [doc, ver] = await this.client.hmget(pkey, 'doc', 'ver');
      const next = doc ? JSON.stringify(unlearnProfile(JSON.parse(doc) as Profile, record)) : '';
      return UNLEARN.run(this.client, [pkey, lkey], [ver ?? '0', next]);
    });
  }

  /** Runs a read-compute-script round (profiles, challenge attempts) until it applies (1) or finds nothing to do (-1). */
  private async compareAndSet(round: () => Promise<unknown>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const result = await round();
      if (result === 1) return true;
      if (result === -1) return false;
      if (attempt >= MAX_CAS_ATTEMPTS) throw new Error(`update lost ${attempt} races in a row`);
      // Another instance wrote in between: read again after a short random pause,
      // so that many logins of one user at once do not retry in lockstep.
      await sleep(Math.random() * Math.min(attempt, 10));
    }
  }

  async saveDecision(r: DecisionRecord): Promise<void> {
    // Both at once, each on its own: the local audit entry is written even when Redis is down,
    // so decisions made in the fail mode are audited too.
    await Promise.all([this.local.saveDecision(r), this.client.set(this.key('d', r.id), JSON.stringify(r), 'PX', this.recordTtlMs)]);
  }

  async getDecision(id: string): Promise<DecisionRecord | null> {
    const raw = await this.client.get(this.key('d', id));
    return raw ? (JSON.parse(raw) as DecisionRecord) : null;
  }

  audit(entry: AuditEntry): Promise<void> {
    return this.local.audit(entry);
  }

  queryAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.local.queryAudit(query);
  }

  /** The local audit trail only: decision and learned records and challenges in Redis expire by their TTL. */
  prune(before: number): Promise<number> {
    return this.local.prune(before);
  }

  // Challenge state, shared by every instance (see the top of this file).

  async createChallenge(c: ChallengeRecord): Promise<void> {
    const f = challengeFields(c);
    await CHALLENGE_CREATE.run(this.client, [this.key('c', c.id), this.key('cx')], [c.id, f.doc, f.dl, f.st, f.at, f.sn, f.ex, f.va, Math.max(1, c.expiresAt - c.createdAt) + this.recordTtlMs]);
  }

  async getChallenge(id: string): Promise<ChallengeRecord | null> {
    return challengeFrom(await this.client.hgetall(this.key('c', id)))?.record ?? null;
  }

  async recordVerifyAttempt(id: string, result: VerifyResult, now: number): Promise<VerifyOutcome | null> {
    const keys = [this.key('c', id), this.key('cx')];
    let outcome: VerifyOutcome | null = null;
    const found = await this.compareAndSet(async () => {
      const read = challengeFrom(await this.client.hgetall(keys[0]!));
      if (!read) return -1;
      const c = read.record;
      const next = nextVerifyState(c, result, now);
      outcome = next.outcome;
      // Nothing changes (an answer to a closed challenge): the state read is the answer.
      if (next.status === c.status && next.attempts === c.attempts) return 1;
      return CHALLENGE_SET_STATE.run(this.client, keys, [id, read.version, next.status, next.attempts, next.verifiedAt ?? '']);
    });
    return found ? outcome : null;
  }

  async recordDelivery(id: string, d: ChallengeDelivery): Promise<boolean> {
    const dl = JSON.stringify({ channel: d.channel, destination: d.destination, provider: d.provider, providerRef: d.providerRef, codeHash: d.codeHash });
    return (await CHALLENGE_DELIVERY.run(this.client, [this.key('c', id), this.key('cx')], [id, dl, d.expiresAt])) === 1;
  }

  async expireChallenges(now: number, limit: number): Promise<ChallengeRecord[]> {
    const raw = (await CHALLENGE_EXPIRE.run(this.client, [this.key('cx')], [now, limit, `${this.keyPrefix}c:`])) as string[][];
    return raw.map((flat) => challengeFrom(pairsToObject(flat))!.record);
  }

  async getTotp(userId: string): Promise<TotpRecord | null> {
    const [doc, sec, step] = await this.client.hmget(this.key('t', userId), 'doc', 'sec', 'step');
    if (!doc || !sec) return null;
    const d = JSON.parse(doc) as Pick<TotpRecord, 'confirmed' | 'createdAt'>;
    return { userId, secretEnc: sec, confirmed: d.confirmed, lastStep: Number(step ?? 0), createdAt: d.createdAt };
  }

  async putTotp(r: TotpRecord): Promise<void> {
    await this.client.hset(this.key('t', r.userId), 'doc', JSON.stringify({ confirmed: r.confirmed, createdAt: r.createdAt }), 'sec', r.secretEnc, 'step', r.lastStep);
  }

  async resealTotp(userId: string, from: string, to: string): Promise<boolean> {
    return (await TOTP_RESEAL.run(this.client, [this.key('t', userId)], [from, to])) === 1;
  }

  async deleteTotp(userId: string): Promise<boolean> {
    return (await this.client.del(this.key('t', userId))) === 1;
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return (await TOTP_STEP.run(this.client, [this.key('t', userId)], [step])) === 1;
  }

  async replaceRecoveryCodes(userId: string, hashes: string[], _now: number): Promise<void> {
    const key = this.key('r', userId);
    const tx = this.client.multi().del(key);
    if (hashes.length) tx.sadd(key, ...hashes);
    failedIn(await tx.exec());
  }

  async useRecoveryCode(userId: string, hash: string, _now: number): Promise<boolean> {
    // SREM answers 1 to exactly one caller: the code is spent once, whichever instance asks first.
    return (await this.client.srem(this.key('r', userId), hash)) === 1;
  }

  async addTrustedDevice(d: TrustedDevice): Promise<void> {
    await TRUST_ADD.run(this.client, [this.key('td', d.userId)], [d.id, JSON.stringify(d), d.expiresAt, d.createdAt]);
  }

  async listTrustedDevices(userId: string, now: number): Promise<TrustedDevice[]> {
    const all = (await this.client.hvals(this.key('td', userId))).map((v) => JSON.parse(v) as TrustedDevice);
    return all.filter((d) => d.expiresAt > now).sort((x, y) => y.createdAt - x.createdAt);
  }

  async revokeTrustedDevices(userId: string, id?: string): Promise<number> {
    const key = this.key('td', userId);
    if (id !== undefined) return this.client.hdel(key, id);
    const [count] = failedIn(await this.client.multi().hlen(key).del(key).exec());
    return Number(count);
  }

  async close(): Promise<void> {
    // QUIT lets answers in flight arrive; a Redis that does not answer it is simply dropped.
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
    await this.local.close();
  }
}
