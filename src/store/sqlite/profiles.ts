import type Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { learnProfile, parseProfile, unlearnProfile, type LearnedRecord, type Observation, type Profile } from '../../profile/profile.js';
import type { ProfileStore } from '../ports.js';
import type { AuditTable } from './audit.js';
import type { DeferredRedo, SqliteDb } from './db.js';

const GET = 'SELECT doc, seq FROM profiles WHERE user_id = ?';
/** `seq`: the last journal turn whose change the row holds (0 without a journal). */
const PUT = 'INSERT INTO profiles (user_id, doc, updated, seq) VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET doc = excluded.doc, updated = excluded.updated, seq = excluded.seq';

/**
 * Profiles as one JSON document per user, parsed ones kept in memory (one process owns the
 * file). Learning is marked on the decision's audit row (AuditTable): no second write per login.
 * Each learn and unlearn runs inside the batch transaction (SqliteDb.write), which makes it atomic.
 *
 * On a file, a profile's change is deferred (SqliteDb.defer): the journal keeps the login it
 * learned (a few hundred bytes, not the whole document), the changed profile stays in memory,
 * and every few seconds the documents changed since are sealed and written to the table over
 * the next commits, one write per user however often they logged in meanwhile. At start, `profileRedo` learns again from the
 * journal what the table had not been given.
 */
export class SqliteProfiles implements ProfileStore {
  private readonly cache: LRUCache<string, Profile>;
  /** Ephemeral stores: users whose cached profile is newer than the database's. */
  private readonly unwritten = new Set<string>();
  /** Journaled stores: profiles changed since the last seal (pinned: not in the bounded cache). */
  private readonly dirty = new Map<string, Profile>();
  /** Profiles as they were when sealed, being written to the table (SqliteDb's DeferredWriter). */
  private readonly sealed = new Map<string, Profile>();
  /** What `dirty` held for a user before the open batch changed it (undefined: nothing), to undo a failed batch. */
  private readonly beforeBatch = new Map<string, Profile | undefined>();
  private readonly stmt;
  /** At most this many profiles in memory: cached, changed and being written together (a burst's changes shrink the cache). */
  private readonly bound: number;

  constructor(
    private readonly sql: SqliteDb,
    private readonly audit: AuditTable,
    cacheSize: number,
  ) {
    this.stmt = sql.prepare({ get: GET, put: PUT });
    this.bound = cacheSize;
    // An ephemeral store writes profiles back only when they leave the cache (or at close):
    // a replay learns millions of logins, most of them users it will see again soon.
    this.cache = new LRUCache<string, Profile>({
      max: cacheSize,
      ...(sql.ephemeral ? { dispose: (p: Profile, userId: string, reason: string) => reason !== 'set' && this.writeBack(userId, p) } : {}),
    });
    sql.onCommitted(() => this.beforeBatch.clear());
    sql.onRollback((lost) => {
      // The cache may hold profiles that were never committed.
      this.cache.clear();
      if (lost) {
        // The tables were brought back from the journal, deferred profiles included.
        this.dirty.clear();
        this.sealed.clear();
      } else {
        for (const [userId, before] of this.beforeBatch) {
          if (before) this.dirty.set(userId, before);
          else this.dirty.delete(userId);
        }
      }
      this.beforeBatch.clear();
    });
    sql.onDeferred({
      seal: () => {
        for (const [userId, p] of this.dirty) this.sealed.set(userId, p);
        this.dirty.clear();
        return this.sealed.size;
      },
      drain: (max, turn) => {
        let n = 0;
        for (const [userId, p] of this.sealed) {
          if (n++ >= max) break;
          this.stmt.put.run(userId, JSON.stringify(p), p.lastSeen, turn);
          this.sealed.delete(userId);
          if (!this.dirty.has(userId)) this.cache.set(userId, p);
        }
        this.trim();
        return this.sealed.size;
      },
    });
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
      const next = learnProfile(current, observation);
      if (this.sql.defers) {
        this.sql.defer(LEARN, [userId, observation]);
        this.hold(userId, next);
      } else this.put(userId, next, observation.time);
      return true;
    });
  }

  async unlearn(decisionId: string): Promise<boolean> {
    return this.sql.write(() => {
      const learned = this.audit.learned(decisionId);
      if (!learned) return false;
      const current = this.read(learned.userId);
      const { previousLast } = JSON.parse(learned.mark) as Pick<LearnedRecord, 'previousLast'>;
      if (current) {
        const next = unlearnProfile(current, { observation: learned.observation, previousLast });
        if (this.sql.defers) {
          this.sql.defer(SET, [learned.userId, JSON.stringify(next)]);
          this.hold(learned.userId, next);
        } else this.put(learned.userId, next, current.lastSeen);
      }
      this.audit.clearLearned(decisionId);
      return true;
    });
  }

  /** Ephemeral stores: writes back every changed profile (at close). */
  flush(): void {
    for (const userId of [...this.unwritten]) {
      const p = this.cache.peek(userId);
      if (p) this.writeBack(userId, p);
    }
  }

  private read(userId: string): Profile | null {
    const hit = this.dirty.get(userId) ?? this.sealed.get(userId) ?? this.cache.get(userId);
    if (hit) return hit;
    const row = this.stmt.get.get(userId) as { doc: string } | undefined;
    if (!row) return null;
    const p = parseProfile(row.doc, userId);
    this.cache.set(userId, p);
    this.trim();
    return p;
  }

  /** A deferred change: in memory until the next flush (the journal has it). */
  private hold(userId: string, p: Profile): void {
    if (!this.beforeBatch.has(userId)) this.beforeBatch.set(userId, this.dirty.get(userId));
    this.dirty.set(userId, p);
    this.cache.delete(userId); // one copy in memory: the cache gets it back at the flush
    this.trim();
  }

  /** Profiles held in memory: cached, changed since the last seal, and sealed but not yet written. */
  get held(): number {
    return this.cache.size + this.dirty.size + this.sealed.size;
  }

  /** Keeps `held` within the bound, the least recently used cached profiles leaving first (changed ones stay until written). */
  private trim(): void {
    while (this.cache.size > 0 && this.held > this.bound) this.cache.pop();
  }

  private put(userId: string, p: Profile, time: number): void {
    if (this.sql.ephemeral) this.unwritten.add(userId);
    else this.stmt.put.run(userId, JSON.stringify(p), time, 0);
    this.cache.set(userId, p);
  }

  /** Ephemeral stores: a changed profile reaches the database when it leaves the cache. */
  private writeBack(userId: string, p: Profile): void {
    if (!this.unwritten.delete(userId) || !this.sql.db.open) return;
    this.stmt.put.run(userId, JSON.stringify(p), p.lastSeen, 0);
  }
}

/** The journal's names of a profile's deferred changes: a login learned, a whole document set (unlearning). */
const LEARN = 'profile.learn';
const SET = 'profile.set';

/**
 * Runs the journal's deferred profile changes again at start (SqliteDb's `redo`): those of a
 * turn after the one the user's row holds (a sealed profile may have reached the table before
 * the rest of its seal did).
 */
export function profileRedo(): DeferredRedo {
  const touched = new Map<string, { p: Profile | null; seq: number }>();
  const current = (db: Database.Database, userId: string): { p: Profile | null; seq: number } => {
    const hit = touched.get(userId);
    if (hit) return hit;
    const row = db.prepare(GET).get(userId) as { doc: string; seq: number } | undefined;
    return row ? { p: parseProfile(row.doc, userId), seq: row.seq } : { p: null, seq: 0 };
  };
  return {
    apply(db, name, args, turn) {
      const userId = args[0] as string;
      const now = current(db, userId);
      if (turn <= now.seq) return;
      if (name === LEARN) touched.set(userId, { p: learnProfile(now.p, args[1] as Observation), seq: turn });
      else if (name === SET) touched.set(userId, { p: parseProfile(args[1] as string, userId), seq: turn });
      else throw new Error(`unknown deferred change "${name}" in the journal`);
    },
    finish(db) {
      const put = db.prepare(PUT);
      for (const [userId, { p, seq }] of touched) if (p) put.run(userId, JSON.stringify(p), p.lastSeen, seq);
      touched.clear();
    },
  };
}
