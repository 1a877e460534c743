import {
  codesKey,
  countsFrom,
  DISTINCT_USER_WINDOWS,
  failureBucket,
  FAILURE_RETENTION_MS,
  NO_FAILURES,
  oldestBucket,
  subjectKeys,
  type FailureCounts,
  type FailureSubjects,
} from '../../signals/attempts.js';
import type { FailureCounters } from '../ports.js';
import type { RedisContext } from './keys.js';
import { FAILURE_ADD, FAILURE_READ, WRONG_CODE_ADD } from './scripts.js';

/**
 * Failed passwords (src/signals/attempts.ts). A failure is counted by one script (FAILURE_ADD)
 * for all its subjects, so instances counting at once never lose one; a login's counts are
 * read by one script too.
 */
export class RedisFailures implements FailureCounters {
  constructor(private readonly r: RedisContext) {}

  async add(s: FailureSubjects, now: number): Promise<FailureCounts> {
    const { keys, device } = this.keysOf(s);
    const raw = await FAILURE_ADD.run(this.r.client, keys, [failureBucket(now), now, FAILURE_RETENTION_MS, oldestBucket(now), s.userId, ...distinctCutoffs(now)]);
    return failureCountsFrom(raw, device, now);
  }

  async counts(s: FailureSubjects, now: number): Promise<FailureCounts> {
    const { keys, device } = this.keysOf(s);
    const raw = await FAILURE_READ.run(this.r.client, keys, distinctCutoffs(now));
    return failureCountsFrom(raw, device, now);
  }

  async addWrongCode(userId: string, now: number): Promise<void> {
    await WRONG_CODE_ADD.run(this.r.client, [this.r.key('f', codesKey(userId))], [failureBucket(now), FAILURE_RETENTION_MS, oldestBucket(now)]);
  }

  /** The keys of a login's failure data: the address's and the network's users sets, the user's wrong codes, then one hash per subject. */
  keysOf(s: FailureSubjects): { keys: string[]; device: boolean } {
    const k = subjectKeys(s);
    const keys = [this.r.key('fu', k.places[0]), this.r.key('fu', k.places[1]), this.r.key('f', k.codes), this.r.key('f', k.user), this.r.key('f', k.ip), this.r.key('f', k.network)];
    if (k.device) keys.push(this.r.key('f', k.device));
    return { keys, device: k.device !== null };
  }
}

export function distinctCutoffs(now: number): [number, number] {
  return [now - DISTINCT_USER_WINDOWS.users_1h, now - DISTINCT_USER_WINDOWS.users_24h];
}

/** How many parts a failure script's answer has for `keys` (keysOf): one per hash, then four counts. */
export function failureParts(keys: readonly string[]): number {
  return keys.length - 2 + 4;
}

/** The counts from what a failure script answered: each subject's hash, then the address's and the network's distinct users in the last hour and day. */
export function failureCountsFrom(raw: unknown, device: boolean, now: number): FailureCounts {
  const parts = raw as (string[] | number)[];
  const pairs = (flat: string[] | number | undefined): [number, number][] => {
    const list = (flat as string[] | undefined) ?? [];
    const out: [number, number][] = [];
    for (let i = 0; i + 1 < list.length; i += 2) out.push([Number(list[i]), Number(list[i + 1])]);
    return out;
  };
  const [codes, user, ip, network] = [pairs(parts[0]), pairs(parts[1]), pairs(parts[2]), pairs(parts[3])];
  const dev = device ? pairs(parts[4]) : [];
  const tail = (parts.slice(device ? 5 : 4) as number[]).map((n) => Number(n ?? 0));
  if (!codes.length && !user.length && !ip.length && !network.length && !dev.length) return NO_FAILURES;
  return countsFrom({ user, ip, network, device: dev, codes }, { ip: { users_1h: tail[0] ?? 0, users_24h: tail[1] ?? 0 }, network: { users_1h: tail[2] ?? 0, users_24h: tail[3] ?? 0 } }, now);
}
