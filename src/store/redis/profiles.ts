import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { learnProfile, parseProfile, unlearnProfile, type LearnedRecord, type Observation, type Profile } from '../../profile/profile.js';
import type { ProfileStore } from '../ports.js';
import { compareAndSet } from '../cas.js';
import type { RedisContext } from './keys.js';
import { LEARN, PROFILE_READ, UNLEARN } from './scripts.js';

/** Profiles held parsed, by user (the most recently used): 4.1 KiB of heap each (bench/profile-memory.ts), ~41 MB at the bound. */
const PROFILE_CACHE = 10_000;

interface StoredLearned {
  userId: string;
  record: LearnedRecord;
}

/** A profile as read at a version: '0' and null when the user has none. */
export interface HeldProfile {
  ver: string;
  profile: Profile | null;
}

/**
 * Profiles are learned in JavaScript (profile.ts, the same code as SQLite) and written with
 * optimistic concurrency: read the profile and its version, compute, then a compare-and-set
 * script (LEARN) writes profile and learned record together only if the version is unchanged
 * and the decision has not taught yet; on a conflict the round runs again. Logins of one user
 * on several instances at once never lose an update, and one decision teaches once.
 *
 * Each write gives the profile a new random version, never one it had before, so a profile
 * held parsed at a version is the profile Redis holds at that version: a read names the version
 * held and Redis sends the document only when it is another (PROFILE_READ_BODY), and learn's
 * first round starts from what is held (a stale one only costs a retry).
 */
export class RedisProfiles implements ProfileStore {
  private readonly held = new LRUCache<string, HeldProfile>({ max: PROFILE_CACHE });

  constructor(private readonly r: RedisContext) {}

  /** The version this instance holds the user's profile at ('' for none): what a read hands Redis. */
  heldVersion(userId: string): string {
    return this.held.get(userId)?.ver ?? '';
  }

  /** What a read answered (PROFILE_READ_BODY): the version, and the document when it is not the one held. */
  answered(userId: string, ver: string, doc: string | null | undefined): Profile | null {
    const held = this.held.get(userId);
    if (held && held.ver === ver) return held.profile;
    const profile = doc ? parseProfile(doc, userId) : null;
    this.held.set(userId, { ver, profile });
    return profile;
  }

  async get(userId: string): Promise<Profile | null> {
    return (await this.read(userId)).profile;
  }

  async learn(userId: string, decisionId: string, observation: Observation): Promise<boolean> {
    const { client, key } = this.r;
    const keys = [key('p', userId), key('l', decisionId)];
    let round = 0;
    return compareAndSet(async () => {
      // Whether this decision already taught is the script's to tell (-1): it is rare, and checking first costs a command.
      const { ver, profile } = (round++ === 0 && this.held.get(userId)) || (await this.read(userId));
      const next = learnProfile(profile, observation);
      const stored: StoredLearned = { userId, record: { observation, previousLast: profile?.last ?? null } };
      const nextVer = randomUUID();
      const done = await LEARN.run(client, keys, [ver, JSON.stringify(next), JSON.stringify(stored), this.r.recordTtlMs, nextVer]);
      if (done === 1) this.held.set(userId, { ver: nextVer, profile: next });
      return done;
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
      const { ver, profile } = await this.read(userId);
      const next = profile ? unlearnProfile(profile, record) : null;
      const nextVer = randomUUID();
      const done = await UNLEARN.run(client, [pkey, lkey], [ver, next ? JSON.stringify(next) : '', nextVer]);
      if (done === 1 && next) this.held.set(userId, { ver: nextVer, profile: next });
      return done;
    });
  }

  /** The user's profile as Redis holds it now, the document sent only when it is not the one held. */
  private async read(userId: string): Promise<HeldProfile> {
    const [ver, doc] = (await PROFILE_READ.run(this.r.client, [this.r.key('p', userId)], [this.heldVersion(userId)])) as [string, string | null | undefined];
    return { ver, profile: this.answered(userId, ver, doc) };
  }
}
