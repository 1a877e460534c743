import { accountTakeover, bruteForce, cookieTheft, credentialStuffing, impossibleTravel, localTakeover, type AttackContext } from './attacks.js';
import { LegitUser, Offices } from './legit.js';
import { Random } from './random.js';
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
 * A deterministic, labelled login stream: the same options give the same events, byte for
 * byte. Every user and every attack draws from its own seeded stream, so adding attacks
 * leaves the legitimate logins as they were.
 */
export function generate(o: GenerateOptions): GenEvent[] {
  const root = new Random(`riskgate-stream:${o.seed}`);
  const end = o.start + o.days * DAY_MS;
  const offices = new Offices(root.fork('offices'));
  const users = Array.from({ length: o.users }, (_, i) => new LegitUser(root.fork(`user-${i}`), i, o.users, offices, o.deviceKeys));
  const legit: GenEvent[] = [];
  for (const u of users) for (let day = o.start; day < end; day += DAY_MS) u.simulateDay(day, legit);

  const successes = new Map<string, GenEvent[]>();
  for (const e of legit) {
    if (e.outcome !== 'success') continue;
    let list = successes.get(e.userId);
    if (!list) successes.set(e.userId, (list = []));
    list.push(e);
  }
  for (const list of successes.values()) list.sort((a, b) => a.time - b.time);
  const ctx: AttackContext = { start: o.start, end, users, historyOf: (id) => successes.get(id) ?? [] };
  const attacks: GenEvent[] = [];
  credentialStuffing(root.fork('credential-stuffing'), ctx, attacks);
  bruteForce(root.fork('brute-force'), ctx, attacks);
  accountTakeover(root.fork('account-takeover'), ctx, attacks);
  impossibleTravel(root.fork('impossible-travel'), ctx, attacks);
  localTakeover(root.fork('local-takeover'), ctx, attacks);
  cookieTheft(root.fork('cookie-theft'), ctx, attacks);

  // Array.prototype.sort is stable: equal times keep generation order, so the output is reproducible.
  return [...legit, ...attacks].filter((e) => e.time >= o.start && e.time < end).sort((a, b) => a.time - b.time);
}
