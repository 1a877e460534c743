import type { FailureSubjects } from '../../signals/attempts.js';
import type { LoginHistory, LoginReads } from '../ports.js';
import { distinctCutoffs, failureCountsFrom, failureParts, type RedisFailures } from './failures.js';
import type { RedisContext } from './keys.js';
import type { RedisProfiles } from './profiles.js';
import { LOGIN_READ } from './scripts.js';

/**
 * What a decision reads, in one script (LOGIN_READ): the failure counts as FAILURE_READ reads
 * them and the profile as PROFILE_READ does, its document only when this instance does not
 * already hold that version parsed. With the connection's one write per turn (client.ts), the
 * reads of every decision of a turn are one round trip.
 */
export class RedisLogins implements LoginReads {
  constructor(
    private readonly r: RedisContext,
    private readonly profiles: RedisProfiles,
    private readonly failures: RedisFailures,
  ) {}

  async read(s: FailureSubjects, now: number): Promise<LoginHistory> {
    const { keys, device } = this.failures.keysOf(s);
    const raw = (await LOGIN_READ.run(this.r.client, [...keys, this.r.key('p', s.userId)], [this.profiles.heldVersion(s.userId), ...distinctCutoffs(now)])) as unknown[];
    const n = failureParts(keys);
    return { counts: failureCountsFrom(raw.slice(0, n), device, now), profile: this.profiles.answered(s.userId, raw[n] as string, raw[n + 1] as string | null | undefined) };
  }
}
