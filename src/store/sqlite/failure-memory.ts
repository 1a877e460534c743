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
import { halfSipHash, out, Slots } from './slots.js';

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
 * Bounded, and expired in amortised O(1) (docs/abuse.md): subjects and places are held in
 * Slots (typed arrays, keys known by a keyed 64-bit hash: a flood of new ids leaves no
 * objects for the garbage collector to walk), whose queue knows which entry failed least
 * recently, in 5-minute buckets. Each failure counted drops up to EXPIRE_STEP expired entries
 * from the front of the queue and never scans the rest. Per subject at most a day of buckets
 * is kept, per place at most MAX_PLACE_USERS users; past `limits`, the least recently failed
 * entries are dropped first (`evicted` counts them), so a flood of new ids costs bounded
 * memory. What is dropped stays in the tables and is restored at the next start.
 */
export class FailureMemory {
  /**
   * subject key → its buckets, stamped with its latest. A subject with one bucket (most, in a
   * flood of new ids) keeps it in its two integers [bucket, count] and no value; with more,
   * its value is [bucket, count, bucket, count...], oldest bucket first.
   */
  private readonly buckets = new Slots<number[]>(2);
  /**
   * place (address or network) → its users' latest failures, stamped with the bucket of its
   * latest failure (its `times`). A place with one user keeps that user's hash in its two
   * integers and no value; with more, its value holds them all.
   */
  private readonly users = new Slots<PlaceUsers>(2);
  /** Entries dropped over the limits before they expired. */
  evicted = 0;

  constructor(private readonly limits: FailureMemoryLimits = DEFAULT_MEMORY_LIMITS) {}

  /** Puts back what a store kept: a subject's bucket (in bucket order), or a user's latest failure from a place (in time order). */
  restoreBucket(key: string, bucket: number, count: number): void {
    this.count(key, bucket, count);
  }

  restoreUser(place: string, userId: string, last: number): void {
    this.seeUser(place, userId, last);
  }

  /** After a restore: the queues in order of latest failure, as counting keeps them. */
  settle(): void {
    this.buckets.requeue();
    this.users.requeue();
  }

  /** Counts a failed password, and returns the counts it makes. */
  add(s: FailureSubjects, now: number): FailureCounts {
    this.record(s, now);
    return this.counts(s, now);
  }

  /** Counts a failed password. */
  record(s: FailureSubjects, now: number): void {
    const k = subjectKeys(s);
    const bucket = failureBucket(now);
    for (const key of [k.user, k.ip, k.network, k.device]) if (key !== null) this.count(key, bucket);
    for (const place of k.places) this.seeUser(place, s.userId, now);
    this.expire(now);
  }

  /** A wrong answer to one of the user's challenges. */
  addWrongCode(userId: string, now: number): void {
    this.count(codesKey(userId), failureBucket(now));
    this.expire(now);
  }

  counts(s: FailureSubjects, now: number): FailureCounts {
    const k = subjectKeys(s);
    const user = this.pairs(k.user);
    const ip = this.pairs(k.ip);
    const network = this.pairs(k.network);
    const device = k.device === null ? NONE : this.pairs(k.device);
    const codes = this.pairs(k.codes);
    if (user === NONE && ip === NONE && network === NONE && device === NONE && codes === NONE) return NO_FAILURES;
    return countsFrom({ user, ip, network, device, codes }, { ip: this.distinct(k.places[0], now), network: this.distinct(k.places[1], now) }, now);
  }

  /** How many subjects and places are held (the bench reads it). */
  get size(): { subjects: number; places: number } {
    return { subjects: this.buckets.size, places: this.users.size };
  }

  /** A subject's buckets as countsFrom reads them (one pass per subject, for all its windows). */
  private pairs(key: string): Iterable<readonly [number, number]> {
    const b = this.buckets;
    const slot = b.locate(key);
    if (slot < 0) return NONE;
    const more = b.value(slot);
    if (more) return pairsOf(more);
    const i = b.ints(slot);
    return [[b.data[i]!, b.data[i + 1]!]];
  }

  /** Adds `n` failures in `bucket` (never older than the subject's latest). */
  private count(key: string, bucket: number, n = 1): void {
    const b = this.buckets;
    const slot = b.locate(key);
    if (slot < 0) {
      const i = b.ints(b.add(bucket));
      b.data[i] = bucket;
      b.data[i + 1] = n;
      return;
    }
    let pairs = b.value(slot);
    if (!pairs) {
      const i = b.ints(slot);
      if (b.data[i] === bucket) {
        b.data[i + 1]! += n;
        return;
      }
      b.setValue(slot, (pairs = [b.data[i]!, b.data[i + 1]!, bucket, n]));
    } else if (pairs[pairs.length - 2] === bucket) pairs[pairs.length - 1]! += n;
    else {
      pairs.push(bucket, n);
      if (pairs.length > 2 * MAX_BUCKETS) pairs.splice(0, pairs.length - 2 * MAX_BUCKETS);
    }
    b.touch(slot, bucket);
  }

  /** A user failed from a place at `time`: the place keeps its most recent MAX_PLACE_USERS users. */
  private seeUser(place: string, userId: string, time: number): void {
    const u = this.users;
    halfSipHash(userId);
    const h1 = out[0]!;
    const h2 = out[1]!;
    let slot = u.locate(place);
    if (slot < 0) {
      slot = u.add(failureBucket(time));
      u.data[u.ints(slot)] = h1;
      u.data[u.ints(slot) + 1] = h2;
      u.times[slot] = time;
      return;
    }
    let p = u.value(slot);
    if (!p) {
      const i = u.ints(slot);
      if (u.data[i] === h1 && u.data[i + 1] === h2) {
        u.times[slot] = Math.max(u.times[slot]!, time);
        u.touch(slot, failureBucket(u.times[slot]!));
        return;
      }
      u.setValue(slot, (p = new PlaceUsers(u.data[i]!, u.data[i + 1]!, u.times[slot]!)));
    }
    p.see(h1, h2, time);
    u.times[slot] = Math.max(u.times[slot]!, time);
    u.touch(slot, failureBucket(u.times[slot]!));
  }

  private distinct(place: string, now: number): DistinctUsers {
    const u = this.users;
    const slot = u.locate(place);
    if (slot < 0) return NO_USERS;
    const p = u.value(slot);
    const from1h = now - DISTINCT_USER_WINDOWS.users_1h;
    const from24h = now - DISTINCT_USER_WINDOWS.users_24h;
    let h1 = 0;
    let h24 = 0;
    const tally = (last: number) => {
      if (last >= from24h && last <= now) {
        h24++;
        if (last >= from1h) h1++;
      }
    };
    if (!p) tally(u.times[slot]!);
    else for (let j = 0; j < p.n; j++) tally(p.lasts[j]!);
    return { users_1h: h1, users_24h: h24 };
  }

  /** Drops up to EXPIRE_STEP expired entries from the front of each queue, and whatever is over the limits. */
  private expire(now: number): void {
    const oldest = oldestBucket(now);
    const before = now - FAILURE_RETENTION_MS;
    for (let n = 0; n < EXPIRE_STEP; n++) {
      const slot = this.buckets.front();
      if (slot < 0 || this.buckets.stamp(slot) >= oldest) break;
      this.buckets.remove(slot);
    }
    for (let n = 0; n < EXPIRE_STEP; n++) {
      const slot = this.users.front();
      if (slot < 0 || this.users.times[slot]! >= before) break;
      this.users.remove(slot);
    }
    while (this.buckets.size > this.limits.subjects) {
      this.buckets.remove(this.buckets.front());
      this.evicted++;
    }
    while (this.users.size > this.limits.places) {
      this.users.remove(this.users.front());
      this.evicted++;
    }
  }
}

/**
 * The users of a place with more than one, as hashes of their ids, each with its latest
 * failure; unordered, at most MAX_PLACE_USERS: a new user past that replaces the one that
 * failed least recently.
 */
class PlaceUsers {
  hashes = new Int32Array(8);
  lasts = new Float64Array(4);
  n = 1;

  constructor(h1: number, h2: number, last: number) {
    this.hashes[0] = h1;
    this.hashes[1] = h2;
    this.lasts[0] = last;
  }

  see(h1: number, h2: number, time: number): void {
    let oldest = 0;
    for (let j = 0; j < this.n; j++) {
      if (this.hashes[2 * j] === h1 && this.hashes[2 * j + 1] === h2) {
        this.lasts[j] = Math.max(this.lasts[j]!, time);
        return;
      }
      if (this.lasts[j]! < this.lasts[oldest]!) oldest = j;
    }
    let j = this.n;
    if (j === MAX_PLACE_USERS) j = oldest;
    else {
      if (j === this.lasts.length) {
        const size = Math.min(2 * j, MAX_PLACE_USERS);
        const hashes = new Int32Array(2 * size);
        hashes.set(this.hashes);
        const lasts = new Float64Array(size);
        lasts.set(this.lasts);
        this.hashes = hashes;
        this.lasts = lasts;
      }
      this.n++;
    }
    this.hashes[2 * j] = h1;
    this.hashes[2 * j + 1] = h2;
    this.lasts[j] = time;
  }
}

const NONE: readonly (readonly [number, number])[] = [];

function pairsOf(pairs: number[]): Iterable<readonly [number, number]> {
  return {
    *[Symbol.iterator]() {
      for (let i = 0; i < pairs.length; i += 2) yield [pairs[i]!, pairs[i + 1]!] as const;
    },
  };
}
