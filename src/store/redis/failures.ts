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
} from '../../signals/attempts.js';
import type { FailureCounters } from '../ports.js';
import type { RedisContext } from './keys.js';
import { FAILURE_ADD, FAILURE_READ } from './scripts.js';

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

  /** The keys of a login's failure data: the address's and the network's users sets, then one hash per subject. */
  private keysOf(s: FailureSubjects): { keys: string[]; device: boolean } {
    const k = subjectKeys(s);
    const keys = [this.r.key('fu', k.places[0]), this.r.key('fu', k.places[1]), this.r.key('f', k.user), this.r.key('f', k.ip), this.r.key('f', k.network)];
    if (k.device) keys.push(this.r.key('f', k.device));
    return { keys, device: k.device !== null };
  }
}

function distinctCutoffs(now: number): [number, number] {
  return [now - DISTINCT_USER_WINDOWS.users_1h, now - DISTINCT_USER_WINDOWS.users_24h];
}

/** The counts from what a failure script answered: each subject's hash, then the address's and the network's distinct users in the last hour and day. */
function failureCountsFrom(raw: unknown, device: boolean, now: number): FailureCounts {
  const parts = raw as (string[] | number)[];
  const pairs = (flat: string[] | number | undefined): [number, number][] => {
    const list = (flat as string[] | undefined) ?? [];
    const out: [number, number][] = [];
    for (let i = 0; i + 1 < list.length; i += 2) out.push([Number(list[i]), Number(list[i + 1])]);
    return out;
  };
  const [user, ip, network] = [pairs(parts[0]), pairs(parts[1]), pairs(parts[2])];
  const dev = device ? pairs(parts[3]) : [];
  const tail = (parts.slice(device ? 4 : 3) as number[]).map((n) => Number(n ?? 0));
  if (!user.length && !ip.length && !network.length && !dev.length) return NO_FAILURES;
  return countsFrom({ user, ip, network, device: dev }, { ip: { users_1h: tail[0] ?? 0, users_24h: tail[1] ?? 0 }, network: { users_1h: tail[2] ?? 0, users_24h: tail[3] ?? 0 } }, now);
}
