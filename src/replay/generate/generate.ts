import { accountTakeover, bruteForce, cookieTheft, credentialStuffing, impossibleTravel, localTakeover, type AttackContext, type Schedule } from './attacks.js';
import { LegitUser, Offices } from './legit.js';
import { Random } from './random.js';
import { Sightings } from './sightings.js';
import type { GenEvent } from './stream.js';

export interface GenerateOptions {
  seed: string;
  users: number;
  days: number;
  /** UTC midnight of the first day. */
  start: number;
  /** Share of legitimate devices whose browser registers a device-bound key. */
  deviceKeys: number;
}

/** The default stream: what README's figures are measured on. */
export const DEFAULT_STREAM: GenerateOptions = { seed: '1', users: 2000, days: 42, start: Date.parse('2026-03-02T00:00:00Z'), deviceKeys: 0.3 };

const DAY_MS = 86_400_000;
/**
 * Nothing generated while a day is simulated is earlier than this before the day starts (a
 * login just after local midnight at UTC+14, and a forgotten password's failures before it),
 * so once a day is done, what lies more than this before the next day is final.
 */
const LOOKBACK_MS = 15 * 3_600_000;

/**
 * A deterministic, labelled login stream in time order: the same options give the same events,
 * byte for byte. Every user and every attack draws from its own seeded stream, so adding attacks
 * leaves the legitimate logins as they were. The stream is made day by day and handed out as it
 * is settled: memory holds the users, about a day of events and the attacks still to come.
 */
export function* generate(o: GenerateOptions): Generator<GenEvent> {
  const root = new Random(`riskgate-stream:${o.seed}`);
  const end = o.start + o.days * DAY_MS;
  const offices = new Offices(root.fork('offices'));
  const users = Array.from({ length: o.users }, (_, i) => new LegitUser(root.fork(`user-${i}`), i, o.users, offices, o.deviceKeys));
  const seen = new Map(users.map((u) => [u.id, new Sightings()]));
  let today = new Map<string, GenEvent[]>();
  const ctx: AttackContext = { start: o.start, end, users, seenOf: (id) => seen.get(id) ?? new Sightings(), todayOf: (id) => today.get(id) ?? [] };

  const tasks = new Map<number, ((out: GenEvent[]) => void)[]>();
  const schedule: Schedule = (day, task) => {
    const list = tasks.get(day);
    if (list) list.push(task);
    else tasks.set(day, [task]);
  };
  credentialStuffing(root.fork('credential-stuffing'), ctx, schedule);
  bruteForce(root.fork('brute-force'), ctx, schedule);
  accountTakeover(root.fork('account-takeover'), ctx, schedule);
  impossibleTravel(root.fork('impossible-travel'), ctx, schedule);
  localTakeover(root.fork('local-takeover'), ctx, schedule);
  cookieTheft(root.fork('cookie-theft'), ctx, schedule);

  let pending: GenEvent[] = [];
  for (let day = o.start; day < end; day += DAY_MS) {
    const legit: GenEvent[] = [];
    for (const u of users) u.simulateDay(day, legit);
    today = new Map();
    for (const e of legit) {
      pending.push(e);
      if (e.outcome !== 'success') continue;
      seen.get(e.userId)!.observe(e);
      const list = today.get(e.userId);
      if (list) list.push(e);
      else today.set(e.userId, [e]);
    }
    for (const task of tasks.get(day) ?? []) task(pending);
    tasks.delete(day);
    // Array.prototype.sort is stable: equal times keep generation order, so the output is reproducible.
    pending.sort((a, b) => a.time - b.time);
    const settled = day + DAY_MS - LOOKBACK_MS;
    let n = 0;
    while (n < pending.length && pending[n]!.time < settled) n++;
    for (let i = 0; i < n; i++) if (pending[i]!.time >= o.start) yield pending[i]!;
    pending = pending.slice(n);
  }
  for (const e of pending) if (e.time < end) yield e;
}
