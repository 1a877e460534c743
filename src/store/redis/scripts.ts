import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Redis backend's Lua scripts: each is one atomic step on the keys it names (keys.ts has
 * the layout). Every TTL is relative: Redis expires on its own clock, riskgate's is injected
 * (tests, replay).
 */

export class Script {
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

// Profiles (profiles.ts): compare-and-set on the profile's version.

/**
 * Reads the profile at KEYS[`key`] as a client holding it at version ARGV[`held`] needs it:
 * appends its version ('0' when there is none) to `out`, then its document when that version
 * is not the one held. Versions are random and never reused (LEARN, UNLEARN), so the same
 * version is the same document.
 */
const profileRead = (key: string, held: string) => `
local ver = redis.call('HGET', KEYS[${key}], 'ver') or '0'
out[#out + 1] = ver
if ver ~= ARGV[${held}] then out[#out + 1] = redis.call('HGET', KEYS[${key}], 'doc') end`;

/** KEYS: profile. ARGV: the version held ('' for none). Answers the version, then the document unless it is the one held. */
export const PROFILE_READ = new Script(`
local out = {}
${profileRead('1', '1')}
return out`);

/** KEYS: profile, learned record. ARGV: version read, new profile, learned record, its TTL (ms), the new version. -1 already learned, 0 conflict, 1 done. */
export const LEARN = new Script(`
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if (redis.call('HGET', KEYS[1], 'ver') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'ver', ARGV[5])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1`);

/** KEYS: profile, learned record. ARGV: version read, new profile ('' when there is none), the new version. -1 nothing to unlearn, 0 conflict, 1 done. */
export const UNLEARN = new Script(`
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if (redis.call('HGET', KEYS[1], 'ver') or '0') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'ver', ARGV[3]) end
redis.call('DEL', KEYS[2])
return 1`);

/**
 * Failed passwords (src/signals/attempts.ts). KEYS: [1] rg:fu:<ip> and [2] rg:fu:<network>
 * (sorted sets: user → latest failure time), [3] rg:f:c:<userId> (the user's wrong codes,
 * read here, counted by WRONG_CODE_ADD), [4..] rg:f:<subject> (hash: 5-minute bucket →
 * failures) for user, ip, network and, when there is one, device. Both scripts answer with
 * what the counts are made from: each hash from [3] on, then the address's distinct users in
 * the last hour and the last day, then the network's. `last`: the last failure key's index.
 */
const failureRead = (last: string) => `
local out = {}
for i = 3, ${last} do out[#out + 1] = redis.call('HGETALL', KEYS[i]) end
for i = 1, 2 do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i], ARGV[#ARGV - 1], '+inf')
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i], ARGV[#ARGV], '+inf')
end`;

/** ARGV: bucket, now, retention ms, oldest bucket kept, userId, then the two distinct-user cutoffs. Counts one failure, atomically, then reads. */
export const FAILURE_ADD = new Script(`
for i = 4, #KEYS do
  redis.call('HINCRBY', KEYS[i], ARGV[1], 1)
  if redis.call('HLEN', KEYS[i]) > 300 then
    for _, b in ipairs(redis.call('HKEYS', KEYS[i])) do
      if tonumber(b) < tonumber(ARGV[4]) then redis.call('HDEL', KEYS[i], b) end
    end
  end
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], 'GT', ARGV[2], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. (tonumber(ARGV[2]) - tonumber(ARGV[3])))
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
${failureRead('#KEYS')}
return out`);

/** ARGV: the two distinct-user cutoffs. */
export const FAILURE_READ = new Script(`${failureRead('#KEYS')}
return out`);

/**
 * Everything a decision reads (logins.ts), in one step: KEYS the failure keys as FAILURE_READ's,
 * then the profile; ARGV the profile version held ('' for none), then the two distinct-user
 * cutoffs. Answers FAILURE_READ's answer, then PROFILE_READ's.
 */
export const LOGIN_READ = new Script(`${failureRead('#KEYS - 1')}
${profileRead('#KEYS', '1')}
return out`);

/** KEYS: rg:f:c:<userId>. ARGV: bucket, retention ms, oldest bucket kept. Counts one wrong answer to a challenge of the user. */
export const WRONG_CODE_ADD = new Script(`
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if redis.call('HLEN', KEYS[1]) > 300 then
  for _, b in ipairs(redis.call('HKEYS', KEYS[1])) do
    if tonumber(b) < tonumber(ARGV[3]) then redis.call('HDEL', KEYS[1], b) end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])`);

// Challenges and second factors (challenges.ts).

/** KEYS: challenge, pending index. ARGV: id, doc, dl, st, at, sn, ex, va, how long the key lives (ms). */
export const CHALLENGE_CREATE = new Script(`
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'dl', ARGV[3], 'st', ARGV[4], 'at', ARGV[5], 'sn', ARGV[6], 'ex', ARGV[7], 'va', ARGV[8], 'v', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[9])
if ARGV[4] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1]) end
return 1`);

/** KEYS: challenge, pending index. ARGV: id, version read, st, at, va. -1 no such challenge, 0 conflict, 1 done. */
export const CHALLENGE_SET_STATE = new Script(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'st', ARGV[3], 'at', ARGV[4], 'va', ARGV[5], 'v', tostring(tonumber(v) + 1))
if ARGV[3] ~= 'pending' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1`);

/** KEYS: challenge, pending index. ARGV: id, dl, ex. A new code for a pending challenge (its key lives longer by as much): 1, else 0. */
export const CHALLENGE_DELIVERY = new Script(`
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
export const CHALLENGE_EXPIRE = new Script(`
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
export const TOTP_STEP = new Script(`
local s = redis.call('HGET', KEYS[1], 'step')
if s and tonumber(s) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'step', ARGV[1])
  return 1
end
return 0`);

/** KEYS: TOTP enrolment. ARGV: sealed secret expected, its replacement. 1 when replaced. */
export const TOTP_RESEAL = new Script(`
if redis.call('HGET', KEYS[1], 'sec') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'sec', ARGV[2])
return 1`);

/** KEYS: the user's trusted devices. ARGV: id, device JSON, its expiry, now. Adds it, drops expired ones, and keeps the key as long as the latest expiry. */
export const TRUST_ADD = new Script(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local latest = tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local e = cjson.decode(all[i + 1]).expiresAt
  if e <= tonumber(ARGV[4]) then redis.call('HDEL', KEYS[1], all[i]) elseif e > latest then latest = e end
end
redis.call('PEXPIRE', KEYS[1], string.format('%d', latest - tonumber(ARGV[4])))
return 1`);

// Passkeys (passkeys.ts): rg:pk:<userId> holds <id> (the passkey's JSON), <id>:n (its counter), <id>:u (last used, '' for never) and, once seen cloned, <id>:x (when).

/** KEYS: the user's passkeys, the credential id's owner key. ARGV: id, JSON, counter. 0 when the credential id is taken (by anyone), 1 added. */
export const PASSKEY_ADD = new Script(`
if not redis.call('SET', KEYS[2], ARGV[1], 'NX') then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[1] .. ':n', ARGV[3], ARGV[1] .. ':u', '')
return 1`);

/** KEYS: the user's passkeys. ARGV: id, the owner keys' prefix (rg:pkc:). Frees the credential id too. 0 when there is no such passkey. */
export const PASSKEY_DELETE = new Script(`
local doc = redis.call('HGET', KEYS[1], ARGV[1])
if not doc then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. ':n', ARGV[1] .. ':u', ARGV[1] .. ':x')
redis.call('DEL', ARGV[2] .. cjson.decode(doc).credentialId)
return 1`);

/** KEYS: the user's passkeys. ARGV: id, now. Marks the passkey cloned unless it already is: 0 when there is no such passkey. */
export const PASSKEY_CLONED = new Script(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[1], ARGV[1] .. ':x', ARGV[2])
return 1`);

/** KEYS: the user's passkeys. ARGV: id, counter, now. Moves the counter only forward (or 0 to 0): 1 moved, 0 not (or no such passkey). */
export const PASSKEY_COUNTER = new Script(`
local n = redis.call('HGET', KEYS[1], ARGV[1] .. ':n')
if not n then return 0 end
local stored, new = tonumber(n), tonumber(ARGV[2])
if stored < new or (stored == 0 and new == 0) then
  redis.call('HSET', KEYS[1], ARGV[1] .. ':n', ARGV[2], ARGV[1] .. ':u', ARGV[3])
  return 1
end
return 0`);

// Idempotency keys (idempotency.ts): the value is JSON {fingerprint, expires, answer?}.

/** KEYS: the key. ARGV: the claim, now, its TTL (ms). Nil when claimed; else what the key holds, live at now. */
export const IDEMPOTENCY_CLAIM = new Script(`
local held = redis.call('GET', KEYS[1])
if held and cjson.decode(held).expires > tonumber(ARGV[2]) then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return false`);

/** KEYS: the key. ARGV: fingerprint, the answer held, its TTL (ms). Only the claim's holder completes it. */
export const IDEMPOTENCY_COMPLETE = new Script(`
local held = redis.call('GET', KEYS[1])
if held and cjson.decode(held).fingerprint == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`);

/** KEYS: the key. ARGV: fingerprint. Drops the claim if it is still that request's, without an answer. */
export const IDEMPOTENCY_RELEASE = new Script(`
local held = redis.call('GET', KEYS[1])
if held then
  local h = cjson.decode(held)
  if h.fingerprint == ARGV[1] and h.answer == nil then redis.call('DEL', KEYS[1]) end
end
return 1`);
