import { learnProfile, parseProfile, unlearnProfile, type LearnedRecord, type Observation, type Profile } from '../../profile/profile.js';
import type { ProfileStore } from '../ports.js';
import { compareAndSet } from '../cas.js';
import type { RedisContext } from './keys.js';
import { LEARN, UNLEARN } from './scripts.js';

/** How many profile reads learn() may start from; beyond, they are dropped (a learn then reads again). */
const LAST_READ_LIMIT = 10_000;

interface StoredLearned {
  userId: string;
  record: LearnedRecord;
}

/**
 * Profiles are learned in JavaScript (profile.ts, the same code as SQLite) and written with
 * optimistic concurrency: read the profile and its version, compute, then a compare-and-set
 * script (LEARN) writes profile and learned record together only if the version is unchanged
 * and the decision has not taught yet; on a conflict the round runs again. Logins of one user
 * on several instances at once never lose an update, and one decision teaches once.
 */
export class RedisProfiles implements ProfileStore {
  /** Each user's profile as get() last read it, for learn's first compare-and-set round. */
  private readonly lastRead = new Map<string, { doc: string | null; ver: string | null }>();

  constructor(private readonly r: RedisContext) {}

  async get(userId: string): Promise<Profile | null> {
    const [doc, ver] = await this.r.client.hmget(this.r.key('p', userId), 'doc', 'ver');
    // The login being decided usually teaches this profile next: its compare-and-set starts from this read.
    if (this.lastRead.size >= LAST_READ_LIMIT) this.lastRead.clear();
    this.lastRead.set(userId, { doc: doc ?? null, ver: ver ?? null });
    return doc ? parseProfile(doc, userId) : null;
  }

  async learn(userId: string, decisionId: string, observation: Observation): Promise<boolean> {
    const { client, key } = this.r;
    const pkey = key('p', userId);
    const lkey = key('l', decisionId);
    return compareAndSet(async () => {
      // Whether this decision already taught is the script's to tell (-1): it is rare, and checking first costs a command.
      // The first round starts from the decision's own read when there is one (a stale one only costs a retry).
      const read = this.lastRead.get(userId);
      this.lastRead.delete(userId);
      const [doc, ver] = read ? [read.doc, read.ver] : await client.hmget(pkey, 'doc', 'ver');
      const current = doc ? parseProfile(doc, userId) : null;
      const stored: StoredLearned = { userId, record: { observation, previousLast: current?.last ?? null } };
      return LEARN.run(client, [pkey, lkey], [ver ?? '0', JSON.stringify(learnProfile(current, observation)), JSON.stringify(stored), this.r.recordTtlMs]);
    });
  }

  async unlearn(decisionId: string): Promise<boolean> {
    const { client, key } = this.r;
    const lkey = key('l', decisionId);
    const raw = await client.get(lkey);
    if (!raw) return false;
    const { userId, record } = JSON.parse(raw) as StoredLearned;
    const pkey = key('p', userId);
    return compareAndSet(async () => {
      const [doc, ver] = await client.hmget(pkey, 'doc', 'ver');
      const next = doc ? JSON.stringify(unlearnProfile(parseProfile(doc, userId), record)) : '';
      return UNLEARN.run(client, [pkey, lkey], [ver ?? '0', next]);
    });
  }
}
