import {
  countsFrom,
  DISTINCT_USER_WINDOWS,
  failureBucket,
  FAILURE_RETENTION_MS,
  NO_FAILURES,
  oldestBucket,
  subjectKeys,
  type FailureCounts,
  type FailureSubject,
  type FailureSubjects,
} from '../../signals/attempts.js';
import type { FailureCounters } from '../ports.js';
import { pgValue, type PgDb } from './db.js';

/** Old failure data is deleted once every this many failures counted by this instance. */
const PRUNE_EVERY = 1024;

interface CountsRow {
  subjects: string[] | null;
  buckets: number[] | null;
  counts: number[] | null;
  /** Per place: the address, then its network. */
  users_1h: number[];
  users_24h: number[];
}

/**
 * Failed passwords (src/signals/attempts.ts) in the `failures` and `failure_users` tables.
 * A failure is counted by one statement (riskgate_failure_add: an upsert per subject, then the
 * read), so instances counting at once never lose one; a login's counts are one statement too.
 */
export class PgFailures implements FailureCounters {
  private readonly stmt;
  private sincePrune = 0;

  constructor(db: PgDb) {
    this.stmt = db.prepare('failures', {
      add: 'SELECT * FROM riskgate_failure_add2($1, $2, $3, $4, $5, $6, $7, $8)',
      counts: 'SELECT * FROM riskgate_failure_counts2($1, $2, $3, $4, $5)',
      prune: 'DELETE FROM failures WHERE bucket < $1',
      pruneUsers: 'DELETE FROM failure_users WHERE last < $1',
    });
  }

  async add(s: FailureSubjects, now: number): Promise<FailureCounts> {
    const { subjects, kinds, places } = subjectsOf(s);
    if (++this.sincePrune >= PRUNE_EVERY) {
      this.sincePrune = 0;
      await Promise.all([this.stmt.prune(oldestBucket(now)), this.stmt.pruneUsers(now - FAILURE_RETENTION_MS)]);
    }
    const { rows } = await this.stmt.add<CountsRow>(subjects, failureBucket(now), places, s.userId, now, oldestBucket(now), ...cutoffs(now));
    return countsOf(rows[0], kinds, now);
  }

  async counts(s: FailureSubjects, now: number): Promise<FailureCounts> {
    const { subjects, kinds, places } = subjectsOf(s);
    const { rows } = await this.stmt.counts<CountsRow>(subjects, oldestBucket(now), places, ...cutoffs(now));
    return countsOf(rows[0], kinds, now);
  }
}

function subjectsOf(s: FailureSubjects): { subjects: string[]; kinds: Map<string, FailureSubject>; places: string[] } {
  const k = subjectKeys(s);
  // Keyed as PostgreSQL gives them back (pgValue).
  const kinds = new Map<string, FailureSubject>([
    [pgValue(k.user) as string, 'user'],
    [pgValue(k.ip) as string, 'ip'],
    [pgValue(k.network) as string, 'network'],
  ]);
  if (k.device) kinds.set(pgValue(k.device) as string, 'device');
  return { subjects: [...kinds.keys()], kinds, places: k.places.map((p) => pgValue(p) as string) };
}

function cutoffs(now: number): [number, number] {
  return [now - DISTINCT_USER_WINDOWS.users_1h, now - DISTINCT_USER_WINDOWS.users_24h];
}

function countsOf(row: CountsRow | undefined, kinds: Map<string, FailureSubject>, now: number): FailureCounts {
  if (!row) return NO_FAILURES;
  const buckets: Record<FailureSubject, [number, number][]> = { user: [], ip: [], network: [], device: [] };
  row.subjects?.forEach((subject, i) => buckets[kinds.get(subject)!].push([row.buckets![i]!, row.counts![i]!]));
  const place = (i: number) => ({ users_1h: row.users_1h?.[i] ?? 0, users_24h: row.users_24h?.[i] ?? 0 });
  return countsFrom(buckets, { ip: place(0), network: place(1) }, now);
}
