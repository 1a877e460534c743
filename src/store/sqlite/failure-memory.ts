import {
  countsFrom,
  DISTINCT_USER_WINDOWS,
  failureBucket,
  FAILURE_RETENTION_MS,
  NO_FAILURES,
  NO_USERS,
  oldestBucket,
  subjectKeys,
  type DistinctUsers,
  type FailureCounts,
  type FailureSubjects,
} from '../../signals/attempts.js';

const NONE: ReadonlyMap<number, number> = new Map();

/** Old failure data is deleted once every this many failures. */
const PRUNE_EVERY = 1024;

/**
 * Failure counts held in memory: the same data and arithmetic as the stores' tables
 * (src/signals/attempts.ts), without a query per login. The SQLite store, which one process
 * owns, reads its counts from here and writes them through to its tables, from which it
 * restores this at start. Bounded: nothing older than a day (on the injected clock) is kept.
 */
export class FailureMemory {
  /** subject key → bucket → failures */
  private readonly buckets = new Map<string, Map<number, number>>();
  /** place (address or network) → user → latest failure time */
  private readonly users = new Map<string, Map<string, number>>();
  private sincePrune = 0;

  /** Puts back what a store kept: a subject's bucket, or a user's latest failure from an address. */
  restoreBucket(key: string, bucket: number, count: number): void {
    let m = this.buckets.get(key);
    if (!m) this.buckets.set(key, (m = new Map()));
    m.set(bucket, count);
  }

  restoreUser(place: string, userId: string, last: number): void {
    let u = this.users.get(place);
    if (!u) this.users.set(place, (u = new Map()));
    u.set(userId, last);
  }

  add(s: FailureSubjects, now: number): FailureCounts {
    const k = subjectKeys(s);
    const bucket = failureBucket(now);
    for (const key of [k.user, k.ip, k.network, k.device]) {
      if (key === null) continue;
      let m = this.buckets.get(key);
      if (!m) this.buckets.set(key, (m = new Map()));
      m.set(bucket, (m.get(bucket) ?? 0) + 1);
    }
    for (const place of k.places) {
      let u = this.users.get(place);
      if (!u) this.users.set(place, (u = new Map()));
      u.set(s.userId, Math.max(u.get(s.userId) ?? now, now));
    }
    if (++this.sincePrune >= PRUNE_EVERY) this.prune(now);
    return this.counts(s, now);
  }

  counts(s: FailureSubjects, now: number): FailureCounts {
    const k = subjectKeys(s);
    const user = this.buckets.get(k.user);
    const ip = this.buckets.get(k.ip);
    const network = this.buckets.get(k.network);
    const device = k.device === null ? undefined : this.buckets.get(k.device);
    if (!user && !ip && !network && !device) return NO_FAILURES;
    return countsFrom(
      { user: user ?? NONE, ip: ip ?? NONE, network: network ?? NONE, device: device ?? NONE },
      { ip: this.distinct(k.places[0], now), network: this.distinct(k.places[1], now) },
      now,
    );
  }

  private distinct(place: string, now: number): DistinctUsers {
    const users = this.users.get(place);
    if (!users) return NO_USERS;
    let h1 = 0;
    let h24 = 0;
    for (const last of users.values()) {
      if (last >= now - DISTINCT_USER_WINDOWS.users_24h && last <= now) {
        h24++;
        if (last >= now - DISTINCT_USER_WINDOWS.users_1h) h1++;
      }
    }
    return { users_1h: h1, users_24h: h24 };
  }

  private prune(now: number): void {
    this.sincePrune = 0;
    const oldest = oldestBucket(now);
    for (const [key, m] of this.buckets) {
      for (const b of m.keys()) if (b < oldest) m.delete(b);
      if (m.size === 0) this.buckets.delete(key);
    }
    for (const [ip, m] of this.users) {
      for (const [user, last] of m) if (last < now - FAILURE_RETENTION_MS) m.delete(user);
      if (m.size === 0) this.users.delete(ip);
    }
  }
}
