import { randomBytes } from 'node:crypto';
import { Keys } from './challenge/keys.js';
import { TrustTokens } from './challenge/trust.js';
import { Engine } from './engine/engine.js';
import type { RuleSet } from './rules/ruleset.js';
import type { GeoLookup } from './signals/geoip.js';
import type { Population } from './signals/familiarity.js';
import { SqliteBackend } from './store/sqlite/backend.js';
import type { Clock } from './types.js';

export interface OfflineEngineOptions {
  rules: RuleSet;
  /** The caller moves it: to each step of a test (rule tests). */
  clock: Clock;
  /** Where the state lives: a file in a directory the caller owns and removes, or memory (the default). */
  path?: string | undefined;
  geo?: GeoLookup | undefined;
  /** The familiarity population; the engine's default (neutral until it holds POPULATION_MIN_LOGINS) when absent. */
  population?: Population | undefined;
}

export interface OfflineEngine {
  engine: Engine;
  /** Issues trust tokens that this engine, and no other, accepts: keys of its own, made for it. */
  trust: TrustTokens;
  /** Counts a wrong code given to one of the user's challenges (a rule test's history). */
  wrongCode(userId: string, now: number): Promise<void>;
  /** Closes the state; what it held is gone. */
  close(): Promise<void>;
}

/** A trust token is issued for the login at hand (a rule test's `trusted: true`): a day is ample. */
const TRUST_DAYS = 1;

/**
 * The one way the offline doors that need a whole engine (rule tests, explain) get one: the
 * same Engine as the server, on a SQLite state of its own that nothing else reads, so it skips
 * the durability work (ephemeral) and writes no audit trail (the test result is the record).
 * Store errors are loud: there is no fail mode offline. Replay does not use it: it calls the
 * engine's decision core on state of its own (src/replay/lane.ts).
 */
export function offlineEngine(o: OfflineEngineOptions): OfflineEngine {
  const store = new SqliteBackend({ path: o.path ?? ':memory:', ephemeral: true });
  const trust = new TrustTokens(store.challenges, new Keys(randomBytes(32)), TRUST_DAYS);
  const engine = new Engine({ store, rules: () => o.rules, clock: o.clock, trust, audit: false, ...(o.geo ? { geo: o.geo } : {}), ...(o.population ? { population: o.population } : {}) });
  return { engine, trust, wrongCode: (userId, now) => store.failures.addWrongCode(userId, now), close: () => store.close() };
}
