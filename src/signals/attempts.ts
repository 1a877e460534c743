import { failureNetwork } from './network.js';
import type { FamilySignals } from './schema.js';

/**
 * Failed-password counts over sliding windows, per user, per address, per network (the
 * address's IPv4 /24 or IPv6 /64: one host owns a whole /64, and a botnet rents neighbouring
 * addresses) and per device, and the distinct users that failed from one address or network
 * (credential stuffing).
 *
 * Every store keeps the same two things, on the injected clock (so tests, replay and several
 * instances count alike, and nothing depends on real-time expiry for its meaning):
 *  - per subject, failures per 5-minute bucket; a window of W counts the buckets that overlap
 *    it, so "30 minutes" reads the last 30 to 35 minutes and never fewer;
 *  - per address and per network (its "places"), each user's latest failure time; the
 *    distinct users of a window are those whose latest failure falls in it, which is exact.
 * A store reads all of a login's counts in one step (one query, one script) and counts a
 * failure atomically. This module holds the arithmetic; the stores hold the data.
 *
 * (rate-limiter-flexible, which the store still provides for the challenge abuse limits,
 * keeps one fixed-window counter per key: a sliding window from it took 35 reads per login,
 * and it has no distinct count.)
 */

/** Failed passwords, as rules read them (`attempts.*`); not a challenge's verify attempts. */
export type AttemptCounts = FamilySignals<'attempts'>;

/**
 * What a store reads for a login: its failed-password counts, and the wrong codes given to
 * the user's challenges in the last 24 hours (`user.failed_challenges_24h`), kept the same way
 * (5-minute buckets of a subject of its own).
 */
export type FailureCounts = AttemptCounts & { failed_challenges_24h: number };

/** The wrong-code window of `user.failed_challenges_24h`. */
export const WRONG_CODE_WINDOW_MS = 24 * 60 * 60_000;

export const FAILURE_BUCKET_MS = 5 * 60_000;
const MINUTE_MS = 60_000;

export type FailureSubject = 'user' | 'ip' | 'network' | 'device' | 'codes';

/** The windows of the `attempts.*` signals: which subject, how long. */
export const FAILURE_WINDOWS = {
  user_30m: { subject: 'user', ms: 30 * MINUTE_MS },
  user_24h: { subject: 'user', ms: 24 * 60 * MINUTE_MS },
  ip_1h: { subject: 'ip', ms: 60 * MINUTE_MS },
  ip_24h: { subject: 'ip', ms: 24 * 60 * MINUTE_MS },
  network_1h: { subject: 'network', ms: 60 * MINUTE_MS },
  network_24h: { subject: 'network', ms: 24 * 60 * MINUTE_MS },
  device_1h: { subject: 'device', ms: 60 * MINUTE_MS },
} as const satisfies Record<string, { subject: FailureSubject; ms: number }>;

export const DISTINCT_USER_WINDOWS = {
  users_1h: 60 * MINUTE_MS,
  users_24h: 24 * 60 * MINUTE_MS,
} as const;

/** Distinct users that failed from one place (an address or a network) in the last hour and day. */
export interface DistinctUsers {
  users_1h: number;
  users_24h: number;
}

export const NO_USERS: DistinctUsers = Object.freeze({ users_1h: 0, users_24h: 0 });

/** How long a store must keep failure data: the longest window and a bucket. */
export const FAILURE_RETENTION_MS = 24 * 60 * MINUTE_MS + FAILURE_BUCKET_MS;

export interface FailureSubjects {
  userId: string;
  ip: string;
  deviceId?: string | undefined;
}

export const NO_FAILURES: FailureCounts = Object.freeze({
  failed_challenges_24h: 0,
  user_30m: 0,
  user_24h: 0,
  ip_1h: 0,
  ip_24h: 0,
  network_1h: 0,
  network_24h: 0,
  device_1h: 0,
  ip_users_1h: 0,
  ip_users_24h: 0,
  network_users_1h: 0,
  network_users_24h: 0,
});

export function failureBucket(time: number): number {
  return Math.floor(time / FAILURE_BUCKET_MS);
}

/** The first bucket a window ending at `now` counts (the one that overlaps its start). */
export function firstBucket(now: number, windowMs: number): number {
  return failureBucket(now - windowMs);
}

/** The oldest bucket any window can count at `now`; older data may be deleted. */
export function oldestBucket(now: number): number {
  return firstBucket(now, FAILURE_RETENTION_MS - FAILURE_BUCKET_MS);
}

export interface SubjectKeys {
  user: string;
  ip: string;
  network: string;
  device: string | null;
  /** The user's wrong answers to challenges: read with the failures, counted apart. */
  codes: string;
  /**
   * The places whose distinct failing users are counted: the address itself, then its
   * network as a prefix ("5.9.0.0/24", "2a01:4f8:1:2::/64"), which no address spells.
   */
  places: readonly [ip: string, network: string];
}

/** Storage keys of a login's subjects: the same strings in every store. */
export function subjectKeys(s: FailureSubjects): SubjectKeys {
  const network = failureNetwork(s.ip);
  return { user: `u:${s.userId}`, ip: `i:${s.ip}`, network: `n:${network}`, device: s.deviceId ? `d:${s.deviceId}` : null, codes: codesKey(s.userId), places: [s.ip, network] };
}

/** The storage key of a user's wrong answers to challenges. */
export function codesKey(userId: string): string {
  return `c:${userId}`;
}

/** The windows of FAILURE_WINDOWS grouped by subject (the wrong codes' window as `codes`): one pass over a subject's buckets fills all its windows. */
const WINDOWS_BY_SUBJECT: readonly { subject: FailureSubject; windows: readonly { name: string; ms: number }[] }[] = (['user', 'ip', 'network', 'device', 'codes'] as const).map((subject) => ({
  subject,
  windows:
    subject === 'codes'
      ? [{ name: 'failed_challenges_24h', ms: WRONG_CODE_WINDOW_MS }]
      : Object.entries(FAILURE_WINDOWS)
          .filter(([, w]) => w.subject === subject)
          .map(([name, w]) => ({ name, ms: w.ms })),
}));
if (WINDOWS_BY_SUBJECT.some((s) => s.windows.length > 2)) throw new Error('countsFrom reads at most two windows per subject');

/**
 * Counts from what a store read: failures per bucket for each subject, and the distinct
 * users of the address and of its network (which the store counts itself, from latest
 * failure times). Each subject's buckets are read once, whatever the number of its windows.
 */
export function countsFrom(
  buckets: Readonly<Record<FailureSubject, Iterable<readonly [bucket: number, count: number]>>>,
  distinct: { ip: DistinctUsers; network: DistinctUsers },
  now: number,
): FailureCounts {
  const out: Record<string, number> = {
    ...NO_FAILURES,
    ip_users_1h: distinct.ip.users_1h,
    ip_users_24h: distinct.ip.users_24h,
    network_users_1h: distinct.network.users_1h,
    network_users_24h: distinct.network.users_24h,
  };
  const to = failureBucket(now);
  for (const { subject, windows } of WINDOWS_BY_SUBJECT) {
    const [a, b] = windows;
    const fromA = firstBucket(now, a!.ms);
    const fromB = b ? firstBucket(now, b.ms) : Infinity;
    let na = 0;
    let nb = 0;
    for (const [bucket, c] of buckets[subject]) {
      if (bucket > to) continue;
      if (bucket >= fromA) na += c;
      if (bucket >= fromB) nb += c;
    }
    out[a!.name] = na;
    if (b) out[b.name] = nb;
  }
  return out as FailureCounts;
}
