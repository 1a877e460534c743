import { LRUCache } from 'lru-cache';
import { learnProfile, parseProfile, unlearnProfile, type LearnedRecord, type Observation, type Profile } from '../../profile/profile.js';
import type { ProfileStore } from '../ports.js';
import type { AuditTable } from './audit.js';
import type { SqliteDb } from './db.js';

/**
 * Profiles as one JSON document per user, parsed ones kept in memory (one process owns the
 * file). Learning is marked on the decision's audit row (AuditTable): no second write per login.
 * Each learn and unlearn runs inside the batch transaction (SqliteDb.write), which makes it atomic.
 */
export class SqliteProfiles implements ProfileStore {
  private readonly cache: LRUCache<string, Profile>;
  /** Ephemeral stores: users whose cached profile is newer than the database's. */
  private readonly dirty = new Set<string>();
  private readonly stmt;

  constructor(
    private readonly sql: SqliteDb,
    private readonly audit: AuditTable,
    cacheSize: number,
  ) {
    this.stmt = sql.prepare({
      get: 'SELECT doc FROM profiles WHERE user_id = ?',
      put: 'INSERT INTO profiles (user_id, doc, updated) VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET doc = excluded.doc, updated = excluded.updated',
    });
    // An ephemeral store writes profiles back only when they leave the cache (or at close):
    // a replay learns millions of logins, most of them users it will see again soon.
    this.cache = new LRUCache<string, Profile>({
      max: cacheSize,
      ...(sql.ephemeral ? { dispose: (p: Profile, userId: string, reason: string) => reason !== 'set' && this.writeBack(userId, p) } : {}),
    });
    // The cache may hold profiles that were never committed.
    sql.onRollback(() => this.cache.clear());
  }

  /** The returned profile is shared with the cache: callers must not modify it. */
  async get(userId: string): Promise<Profile | null> {
    return this.read(userId);
  }

  async learn(userId: string, decisionId: string, observation: Observation): Promise<boolean> {
    return this.sql.write(() => {
      const current = this.read(userId);
      const mark = JSON.stringify({ previousLast: current?.last ?? null });
      if (this.audit.markLearned(decisionId, mark) === 'taught') return false;
      this.put(userId, learnProfile(current, observation), observation.time);
      return true;
    });
  }

  async unlearn(decisionId: string): Promise<boolean> {
    return this.sql.write(() => {
      const learned = this.audit.learned(decisionId);
      if (!learned) return false;
      const current = this.read(learned.userId);
      const { previousLast } = JSON.parse(learned.mark) as Pick<LearnedRecord, 'previousLast'>;
      if (current) this.put(learned.userId, unlearnProfile(current, { observation: learned.observation, previousLast }), current.lastSeen);
      this.audit.clearLearned(decisionId);
      return true;
    });
  }

  /** Ephemeral stores: writes back every changed profile (at close). */
  flush(): void {
    for (const userId of [...this.dirty]) {
      const p = this.cache.peek(userId);
      if (p) this.writeBack(userId, p);
    }
  }

  private read(userId: string): Profile | null {
    const hit = this.cache.get(userId);
    if (hit) return hit;
    const row = this.stmt.get.get(userId) as { doc: string } | undefined;
    if (!row) return null;
    const p = parseProfile(row.doc, userId);
    this.cache.set(userId, p);
    return p;
  }

  private put(userId: string, p: Profile, time: number): void {
    if (this.sql.ephemeral) this.dirty.add(userId);
    else this.stmt.put.run(userId, JSON.stringify(p), time);
    this.cache.set(userId, p);
  }

  /** Ephemeral stores: a changed profile reaches the database when it leaves the cache. */
  private writeBack(userId: string, p: Profile): void {
    if (!this.dirty.delete(userId) || !this.sql.db.open) return;
    this.stmt.put.run(userId, JSON.stringify(p), p.lastSeen);
  }
}
