import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { FamilySignals } from './schema.js';

/**
 * Failed-password counters over sliding windows, kept in rate-limiter-flexible limiters so
 * that every store (SQLite, Redis, memory) counts the same way and several instances share
 * one count.
 *
 * A window of length W is read as the sum of its sub-buckets of W/4: it counts the failures
 * of the last W to W + W/4, never fewer. It can be read with 5 keys, and one that errs on the
 * side of a step-up. Keys carry the bucket number computed from the injected clock, so tests
 * and replay are deterministic; the limiter's own expiry (real time) only reclaims space.
 * Nothing may depend on that expiry for its meaning: a replay runs weeks of logins in seconds.
 */

export type AttemptCounts = FamilySignals<'attempts'>;

const MINUTE = 60;
const RESOLUTION = 4;

interface Window {
  readonly name: string;
  readonly seconds: number;
}
const W30M: Window = { name: '30m', seconds: 30 * MINUTE };
const W1H: Window = { name: '1h', seconds: 60 * MINUTE };
const W24H: Window = { name: '24h', seconds: 24 * 60 * MINUTE };

/** Which windows each subject is counted over; the names match the `attempts.*` signals. */
const COUNTERS = {
  user: [W30M, W24H],
  ip: [W1H, W24H],
  device: [W1H],
  ip_users: [W1H, W24H],
} as const;

type Subject = keyof typeof COUNTERS;

/** Makes (or returns) the limiter a store keeps under `name`; its keys live `durationSec`. */
export type LimiterFactory = (name: string, durationSec: number) => RateLimiterAbstract;

export interface FailureSubjects {
  userId: string;
  ip: string;
  deviceId?: string | undefined;
}

export const NO_FAILURES: AttemptCounts = Object.freeze({
  user_30m: 0,
  user_24h: 0,
  ip_1h: 0,
  ip_24h: 0,
  device_1h: 0,
  ip_users_1h: 0,
  ip_users_24h: 0,
});

function bucketSeconds(w: Window): number {
  return w.seconds / RESOLUTION;
}

const MINUTE_MS = MINUTE * 1000;
/** How long after its last failure a subject can still have one in some window. */
const GATE_SECONDS = W24H.seconds + bucketSeconds(W24H) + MINUTE;

export class FailureCounters {
  private readonly buckets = new Map<string, RateLimiterAbstract>();
  private readonly pairs = new Map<string, RateLimiterAbstract>();
  /** The minute of a subject's last failure: a subject with none young enough to count stops here, as most do. */
  private readonly gate: RateLimiterAbstract;

  constructor(makeLimiter: LimiterFactory) {
    for (const windows of Object.values(COUNTERS)) {
      for (const w of windows) {
        if (!this.buckets.has(w.name)) this.buckets.set(w.name, makeLimiter(`fail_${w.name}`, w.seconds + bucketSeconds(w) + MINUTE));
      }
    }
    for (const w of COUNTERS.ip_users) this.pairs.set(w.name, makeLimiter(`pair_${w.name}`, w.seconds));
    this.gate = makeLimiter('fail_gate', GATE_SECONDS);
  }

  /** Counts one failed password and returns the counts including it. */
  async record(s: FailureSubjects, now: number): Promise<AttemptCounts> {
    const ops: Promise<unknown>[] = [];
    const add = (subject: Subject, key: string) => {
      for (const w of COUNTERS[subject]) ops.push(this.limiter(w).penalty(bucketKey(subject, key, w, now), 1));
    };
    add('user', s.userId);
    add('ip', s.ip);
    if (s.deviceId) add('device', s.deviceId);
    for (const w of COUNTERS.ip_users) {
      // A user counts once per address and window epoch (fixed windows of W on the injected
      // clock): only the first failure of the pair in the epoch opens it, in one atomic step.
      // A user failing on both sides of an epoch boundary counts twice, erring towards a step-up.
      const pair = `${s.ip}|${s.userId}|${Math.floor(now / (w.seconds * 1000))}`;
      ops.push(
        this.pairs
          .get(w.name)!
          .penalty(pair, 1)
          .then((res) => (res.consumedPoints === 1 ? this.limiter(w).penalty(bucketKey('ip_users', s.ip, w, now), 1) : undefined)),
      );
    }
    for (const key of gateKeys(s)) ops.push(this.gate.set(key, Math.floor(now / MINUTE_MS), GATE_SECONDS));
    await Promise.all(ops);
    return this.read(s, now);
  }

  async read(s: FailureSubjects, now: number): Promise<AttemptCounts> {
    const keys = gateKeys(s);
    const open = (await Promise.all(keys.map((k) => this.gate.get(k)))).map((g) => g !== null && now - g.consumedPoints * MINUTE_MS <= GATE_SECONDS * 1000);
    if (!open.some(Boolean)) return NO_FAILURES;
    const [userOpen, ipOpen, deviceOpen] = open;
    const out = { ...NO_FAILURES };
    const jobs: Promise<void>[] = [];
    const count = (subject: Subject, key: string) => {
      for (const w of COUNTERS[subject]) {
        jobs.push(this.sum(subject, key, w, now).then((n) => void ((out as Record<string, number>)[`${subject}_${w.name}`] = n)));
      }
    };
    if (userOpen) count('user', s.userId);
    if (ipOpen) {
      count('ip', s.ip);
      count('ip_users', s.ip);
    }
    if (deviceOpen && s.deviceId) count('device', s.deviceId);
    await Promise.all(jobs);
    return out;
  }

  private limiter(w: Window): RateLimiterAbstract {
    return this.buckets.get(w.name)!;
  }

  private async sum(subject: Subject, key: string, w: Window, now: number): Promise<number> {
    const size = bucketSeconds(w) * 1000;
    const last = Math.floor(now / size);
    const first = Math.floor((now - w.seconds * 1000) / size);
    const reads: Promise<{ consumedPoints: number } | null>[] = [];
    for (let b = first; b <= last; b++) reads.push(this.limiter(w).get(`${subject}|${key}|${b}`));
    const res = await Promise.all(reads);
    return res.reduce((n, r) => n + (r?.consumedPoints ?? 0), 0);
  }
}

function bucketKey(subject: Subject, key: string, w: Window, now: number): string {
  return `${subject}|${key}|${Math.floor(now / (bucketSeconds(w) * 1000))}`;
}

function gateKeys(s: FailureSubjects): string[] {
  const keys = [`user|${s.userId}`, `ip|${s.ip}`];
  if (s.deviceId) keys.push(`device|${s.deviceId}`);
  return keys;
}
