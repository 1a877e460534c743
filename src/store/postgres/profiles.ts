import { learnProfile, parseProfile, unlearnProfile, type LearnedRecord, type Observation, type Profile } from '../../profile/profile.js';
import { compareAndSet } from '../cas.js';
import type { ProfileStore } from '../ports.js';
import { sqlState, type PgDb } from './db.js';
import type { DayPartitions } from './partitions.js';

/** How many profile reads learn() may start from; beyond, they are dropped (a learn then reads again). */
const LAST_READ_LIMIT = 10_000;
const UNIQUE_VIOLATION = '23505';
/** What riskgate_unlearn raises when the profile changed since it was read. */
const CHANGED = 'RGCAS';

interface Read {
  doc: string | null;
  ver: number;
}

/**
 * Profiles, one JSON document per user with a version. Learning is computed in JavaScript
 * (profile.ts, the code every store runs) and written by one statement (riskgate_learn,
 * schema.ts) only if the version is still the one read, together with the decision's learned
 * mark; otherwise it reads again (compareAndSet). So logins of one user on several instances
 * never lose an update, one decision teaches once, and no row lock is held while JavaScript
 * computes.
 */
export class PgProfiles implements ProfileStore {
  private readonly stmt;
  /** Each user's profile as get() last read it, for learn's first round. */
  private readonly lastRead = new Map<string, Read>();
  /** Per user, when this instance's last change to the profile is settled. */
  private readonly turns = new Map<string, Promise<void>>();

  constructor(
    db: PgDb,
    private readonly partitions: DayPartitions,
  ) {
    this.stmt = db.prepare('profiles', {
      get: 'SELECT doc, ver FROM profiles WHERE user_id = $1',
      learn: 'SELECT riskgate_learn($1, $2, $3, $4, $5, $6) AS r',
      learned: 'SELECT user_id, time, record FROM learned WHERE decision_id = $1 LIMIT 1',
      unlearn: 'SELECT riskgate_unlearn($1, $2, $3, $4, $5) AS r',
    });
  }

  async get(userId: string): Promise<Profile | null> {
    const read = await this.read(userId);
    // The login being decided usually teaches this profile next: its first round starts from this read.
    if (this.lastRead.size >= LAST_READ_LIMIT) this.lastRead.clear();
    this.lastRead.set(userId, read);
    return read.doc ? parseProfile(read.doc, userId) : null;
  }

  async learn(userId: string, decisionId: string, observation: Observation): Promise<boolean> {
    return this.inTurn(userId, () => this.learnNow(userId, decisionId, observation));
  }

  /**
   * Runs `op` after this instance's earlier changes to the user's profile: concurrent logins
   * of one user on one instance then do not race each other's compare-and-set (each losing
   * round costs two round trips); only other instances' writes can make a round lose.
   */
  private inTurn<T>(userId: string, op: () => Promise<T>): Promise<T> {
    const before = this.turns.get(userId);
    const mine = (before ? before.then(op, op) : op());
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(userId, settled);
    void settled.then(() => this.turns.get(userId) === settled && this.turns.delete(userId));
    return mine;
  }

  private async learnNow(userId: string, decisionId: string, observation: Observation): Promise<boolean> {
    return compareAndSet(async () => {
      // A stale first read only costs a round.
      const read = this.lastRead.get(userId) ?? (await this.read(userId));
      this.lastRead.delete(userId);
      const current = read.doc ? parseProfile(read.doc, userId) : null;
      const record: LearnedRecord = { observation, previousLast: current?.last ?? null };
      const doc = JSON.stringify(learnProfile(current, observation));
      try {
        const { rows } = await this.partitions.insertInto('learned', [observation.time], () =>
          this.stmt.learn<{ r: number }>(userId, decisionId, new Date(observation.time), read.ver, doc, JSON.stringify(record)),
        );
        // The next learn of this user here (inTurn) starts from what this one wrote.
        if (rows[0]?.r === 1) this.lastRead.set(userId, { doc, ver: read.ver + 1 });
        return rows[0]?.r;
      } catch (e) {
        if (sqlState(e) === UNIQUE_VIOLATION) return -1; // this decision already taught
        throw e;
      }
    });
  }

  async unlearn(decisionId: string): Promise<boolean> {
    const { rows } = await this.stmt.learned<{ user_id: string; time: Date; record: string }>(decisionId);
    const mark = rows[0];
    if (!mark) return false;
    const learned = JSON.parse(mark.record) as LearnedRecord;
    return this.inTurn(mark.user_id, () => this.unlearnNow(decisionId, mark, learned));
  }

  private unlearnNow(decisionId: string, mark: { user_id: string; time: Date }, learned: LearnedRecord): Promise<boolean> {
    return compareAndSet(async () => {
      const read = await this.read(mark.user_id);
      const next = read.doc ? JSON.stringify(unlearnProfile(parseProfile(read.doc, mark.user_id), learned)) : null;
      try {
        return (await this.stmt.unlearn<{ r: number }>(mark.user_id, decisionId, mark.time, read.ver, next)).rows[0]?.r;
      } catch (e) {
        if (sqlState(e) === CHANGED) return 0;
        throw e;
      }
    });
  }

  private async read(userId: string): Promise<Read> {
    const { rows } = await this.stmt.get<{ doc: string; ver: number }>(userId);
    return rows[0] ?? { doc: null, ver: 0 };
  }
}
