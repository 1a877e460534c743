import type { Redis } from 'ioredis';

/**
 * Key layout of the Redis backend (every key starts with the key prefix, "rg:" by default):
 *
 *   rg:p:<userId>          hash {doc: profile JSON, ver: n}   no TTL (see below)
 *   rg:l:<decisionId>      string {userId, record}             TTL recordTtlMs: what a login taught, to unlearn it
 *   rg:d:<decisionId>      string DecisionRecord JSON          TTL recordTtlMs: so feedback works on any instance
 *   rg:f:<subject>         hash {5-min bucket: failures}      TTL a day after the last failure (attempts.ts)
 *   rg:fu:<ip>             zset {userId: latest failure ms}    TTL a day after the last failure
 *   rg:rl:<limit>:<key>    rate-limiter-flexible counters      TTL = the counter's lifetime (challenge abuse limits)
 *   rg:c:<challengeId>     hash (see ChallengeFields)          TTL recordTtlMs past its expiry: step-up challenges
 *   rg:cx                  zset {challengeId: expiresAt}       pending challenges, for the expiry sweep
 *   rg:t:<userId>          hash {doc, sec: sealed secret, step} no TTL: the user's authenticator enrolment
 *   rg:r:<userId>          set of unused recovery code hashes  no TTL: a used code leaves the set
 *   rg:td:<userId>         hash {trusted device id: JSON}      TTL the latest expiry among them: trusted devices
 *   rg:pk:<userId>         hash {id: passkey JSON, id:n: counter, id:u: last used} no TTL: the user's passkeys
 *   rg:pkc:<credentialId>  string: the passkey id holding it    no TTL: a credential id is registered once, to one user
 *   rg:pr:<userId>:<chal>  string: its expiry (ms)              TTL its lifetime: a passkey registration challenge
 *   rg:i:<scope:key>       string {fingerprint, expires, answer?} TTL the claim's, then 24 h: idempotency keys
 *   rg:audit               stream {e: audit entry JSON}        with DATABASE_URL only: entries until drained into PostgreSQL
 *
 * Profiles keep no TTL on purpose: like SQLite rows they are one per user, each bounded by
 * PROFILE_LIMITS and aged out entry by entry. Expiring a whole profile would turn a dormant
 * account into a cold start, which the rules judge more leniently than "known user, all new".
 *
 * Scripts name their keys in KEYS, but a profile and a decision key do not share a hash slot,
 * and the expiry sweep builds challenge keys from ids: this runs on one Redis (or Sentinel),
 * not Cluster.
 */
export interface RedisKeys {
  (kind: 'p' | 'l' | 'd' | 'f' | 'fu' | 'c' | 't' | 'r' | 'td' | 'pk' | 'pkc' | 'pr' | 'i', id: string): string;
  (kind: 'cx' | 'audit'): string;
}

export function redisKeys(prefix: string): RedisKeys {
  return ((kind: string, id?: string) => (id === undefined ? `${prefix}${kind}` : `${prefix}${kind}:${id}`)) as RedisKeys;
}

/** What every port of the Redis backend works with. */
export interface RedisContext {
  client: Redis;
  prefix: string;
  key: RedisKeys;
  /** How long decision records, learned records and closed challenges live (the audit retention by default). */
  recordTtlMs: number;
}
