import {
  codesKey,
  countsFrom,
  DISTINCT_USER_WINDOWS,
  failureBucket,
  FAILURE_BUCKET_MS,
  FAILURE_RETENTION_MS,
  NO_FAILURES,
  NO_USERS,
  oldestBucket,
  subjectKeys,
  type DistinctUsers,
  type FailureCounts,
  type FailureSubjects,
} from '../../signals/attempts.js';

/** The buckets one subject can have in a day: more are never read. */
const MAX_BUCKETS = Math.ceil(FAILURE_RETENTION_MS / FAILURE_BUCKET_MS) + 1;

/**
 * The distinct users kept per place (address or network): the most recent ones. The rules
 * read 3 to 10; past this, `ip_users_*` and `network_users_*` read this many (SQLite only:
 * Redis and PostgreSQL count every user).
 */
export const MAX_PLACE_USERS = 1000;

/** The bounds of the memory: subjects and places held at once (docs/abuse.md). */
export interface FailureMemoryLimits {
  /** Subjects (users, addresses, networks, devices, users' wrong codes) with failures in the last day. */
  subjects: number;
  /** Places (addresses, networks) with distinct failing users in the last day. */
  places: number;
}

export const DEFAULT_MEMORY_LIMITS: FailureMemoryLimits = { subjects: 1_000_000, places: 500_000 };

/** Expired entries dropped per failure counted: enough to keep up, few enough never to stall. */
const EXPIRE_STEP = 16;

/**
 * Failure counts held in memory: the same data and arithmetic as the stores' tables
 * (src/signals/attempts.ts), without a query per login. The SQLite store, which one process
 * owns, reads its counts from here and writes them through to its tables, from which it
 * restores this at start.
 *
 * Bounded, and expired in amortised O(1) (issue 14, finding 12): both maps are kept in order
 * of each entry's latest failure (an entry is moved to the end when it fails again), so the
 * entries that expire first are at the front. Each failure counted drops up to EXPIRE_STEP
 * expired entries from the fronts, and never scans the rest. Per subject at most a day of
 * 5-minute buckets is kept, per place at most MAX_PLACE_USERS users; past `limits`, the
 * least recently failed entries are dropped first (`evicted` counts them), so a flood of new
 * ids costs bounded memory. What is dropped stays in the tables and is restored at the next
 * start.
 */
export class FailureMemory {
  /** subject key → [bucket, count, bucket, count...], oldest bucket first; map in order of latest failure */
  private readonly buckets = new Map<string, number[]>();
  /** place (address or network) → its users' latest failures; map in order of latest failure */
  private readonly users = new Map<string, Place>();
  /** Entries dropped over the limits before they expired. */
  evicted = 0;

  constructor(private readonly limits: FailureMemoryLimits = DEFAULT_MEMORY_LIMITS) {}

  /** Puts back what a store kept: a subject's bucket (in bucket order), or a user's latest failure from a place (in time order). */
  restoreBucket(key: string, bucket: number, count: number): void {
    const pairs = this.buckets.get(key);
    if (pairs) pairs.push(bucket, count);
    else this.buckets.set(key, [bucket, count]);
  }

  restoreUser(place: string, userId: string, last: number): void {
    let p = this.users.get(place);
    if (!p) this.users.set(place, (p = { last, users: new Map() }));
    p.users.delete(userId);
    p.users.set(userId, last);
    if (p.users.size > MAX_PLACE_USERS) p.users.delete(p.users.keys().next().value!);
    p.last = Math.max(p.last, last);
  }

  /** After a restore: both maps in order of latest failure, as counting keeps them. */
  settle(): void {
    const byLast = <V>(m: Map<string, V>, last: (v: V) => number) => {
      const sorted = [...m.entries()].sort((a, b) => last(a[1]) - last(b[1]));
      m.clear();
      for (const [k, v] of sorted) m.set(k, v);
    };
    byLast(this.buckets, (p) => p[p.length - 2]!);
    byLast(this.users, (p) => p.last);
  }

  add(s: FailureSubjects, now: number): FailureCounts {
    const k = subjectKeys(s);
    const bucket = failureBucket(now);
    for (const key of [k.user, k.ip, k.network, k.device]) if (key !== null) this.count(key, bucket);
    for (const place of k.places) {
      let p = this.users.get(place);
      if (p) this.users.delete(place);
      else p = { last: now, users: new Map() };
      this.users.set(place, p);
      const last = Math.max(p.users.get(s.userId) ?? now, now);
      p.users.delete(s.userId);
      p.users.set(s.userId, last);
      if (p.users.size > MAX_PLACE_USERS) p.users.delete(p.users.keys().next().value!);
      p.last = Math.max(p.last, last);
    }
    this.expire(now);
    return this.counts(s, now);
  }

  /** A wrong answer to one of the user's challenges. */
  addWrongCode(userId: string, now: number): void {
    this.count(codesKey(userId), failureBucket(now));
    this.expire(now);
  }

  counts(s: FailureSubjects, now: number): FailureCounts {
    const k = subjectKeys(s);
    const user = this.buckets.get(k.user);
    const ip = this.buckets.get(k.ip);
    const network = this.buckets.get(k.network);
    const device = k.device === null ? undefined : this.buckets.get(k.device);
    const codes = this.buckets.get(k.codes);
    if (!user && !ip && !network && !device && !codes) return NO_FAILURES;
    return countsFrom(
      { user: pairsOf(user), ip: pairsOf(ip), network: pairsOf(network), device: pairsOf(device), codes: pairsOf(codes) },
      { ip: this.distinct(k.places[0], now), network: this.distinct(k.places[1], now) },
      now,
    );
  }

  /** How many subjects and places are held (the bench reads it). */
  get size(): { subjects: number; places: number } {
    return { subjects: this.buckets.size, places: this.users.size };
  }

  private count(key: string, bucket: number): void {
    let pairs = this.buckets.get(key);
    if (pairs) this.buckets.delete(key);
    else pairs = [];
    this.buckets.set(key, pairs);
    const n = pairs.length;
    if (n >= 2 && pairs[n - 2] === bucket) pairs[n - 1]! += 1;
    else pairs.push(bucket, 1);
    if (pairs.length > 2 * MAX_BUCKETS) pairs.splice(0, pairs.length - 2 * MAX_BUCKETS);
  }

  private distinct(place: string, now: number): DistinctUsers {
    const p = this.users.get(place);
    if (!p) return NO_USERS;
    let h1 = 0;
    let h24 = 0;
    for (const last of p.users.values()) {
      if (last >= now - DISTINCT_USER_WINDOWS.users_24h && last <= now) {
        h24++;
        if (last >= now - DISTINCT_USER_WINDOWS.users_1h) h1++;
      }
    }
    return { users_1h: h1, users_24h: h24 };
  }

  /** Drops up to EXPIRE_STEP expired entries from the front of each map, and whatever is over the limits. */
  private expire(now: number): void {
    const oldest = oldestBucket(now);
    const before = now - FAILURE_RETENTION_MS;
    let n = 0;
    for (const [key, pairs] of this.buckets) {
      if (n++ >= EXPIRE_STEP || pairs[pairs.length - 2]! >= oldest) break;
      this.buckets.delete(key);
    }
    n = 0;
    for (const [place, p] of this.users) {
      if (n++ >= EXPIRE_STEP || p.last >= before) break;
      this.users.delete(place);
    }
    while (this.buckets.size > this.limits.subjects) {
      this.buckets.delete(this.buckets.keys().next().value!);
      this.evicted++;
    }
    while (this.users.size > this.limits.places) {
      this.users.delete(this.users.keys().next().value!);
      this.evicted++;
    }
  }
}

interface Place {
  /** The latest failure of any of its users. */
  last: number;
  /** user → latest failure time, in order of failure; at most MAX_PLACE_USERS, the most recent. */
  users: Map<string, number>;
}

const NONE: readonly (readonly [number, number])[] = [];

/** A subject's pairs as countsFrom reads them (once per window: an iterable, not an iterator). */
function pairsOf(pairs: number[] | undefined): Iterable<readonly [number, number]> {
  if (!pairs) return NONE;
  return {
    *[Symbol.iterator]() {
      for (let i = 0; i < pairs.length; i += 2) yield [pairs[i]!, pairs[i + 1]!] as const;
    },
  };
}
