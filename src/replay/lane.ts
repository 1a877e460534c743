import Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { AddressCache, enrich, judge, type History } from '../engine/engine.js';
import { Population } from '../signals/familiarity.js';
import { DeviceProofs } from '../engine/device-proof.js';
import { keyObservation, learnProfile, parseProfile, type Observation, type Profile } from '../profile/profile.js';
import { decisiveRules, reasonsOf } from '../rules/evaluate.js';
import type { RuleSet } from '../rules/ruleset.js';
import { FailureMemory } from '../store/sqlite/failure-memory.js';
import { geoipLite, type GeoLookup } from '../signals/geoip.js';
import { UserAgentParser } from '../signals/useragent.js';
import { LEGIT, type LoginEvent } from './event.js';
import { MeasureWindow, Tally, type Verdict } from './tally.js';

/** Profiles held as objects; colder ones are written to the lane's spill file and read back when their user returns. */
export const HOT_PROFILES = 50_000;
/** Addresses parsed and located, and user agents parsed, kept: logins repeat both. */
const ADDRESS_CACHE = 50_000;
const USER_AGENT_CACHE = 20_000;

/**
 * Profiles of a replay: the hot ones in memory, the rest in a SQLite file of the lane's own
 * (one JSON document per user, as the stores keep them), opened only when the first profile
 * leaves memory. Bounded by HOT_PROFILES profiles in memory whatever the number of users.
 */
class ReplayProfiles {
  private readonly hot: LRUCache<string, Profile>;
  private db: Database.Database | null = null;
  private stmt: { get: Database.Statement; put: Database.Statement } | null = null;
  /** Users whose profile is in the spill file (a miss in memory for anyone else needs no read). */
  private spilled = 0;

  constructor(
    private readonly path: string,
    max: number,
  ) {
    this.hot = new LRUCache<string, Profile>({ max, dispose: (p, userId, reason) => reason === 'evict' && this.spill(userId, p) });
  }

  get(userId: string): Profile | null {
    const hit = this.hot.get(userId);
    if (hit !== undefined) return hit;
    if (this.spilled === 0) return null;
    const row = this.stmt!.get.get(userId) as { doc: string } | undefined;
    if (!row) return null;
    const p = parseProfile(row.doc, userId);
    this.hot.set(userId, p);
    return p;
  }

  set(userId: string, p: Profile): void {
    this.hot.set(userId, p);
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  private spill(userId: string, p: Profile): void {
    if (!this.db) {
      this.db = new Database(this.path);
      this.db.pragma('journal_mode = OFF');
      this.db.pragma('synchronous = OFF');
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.exec('CREATE TABLE IF NOT EXISTS profiles (user_id TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID');
      this.stmt = {
        get: this.db.prepare('SELECT doc FROM profiles WHERE user_id = ?'),
        put: this.db.prepare('INSERT INTO profiles (user_id, doc) VALUES (?, ?) ON CONFLICT(user_id) DO UPDATE SET doc = excluded.doc'),
      };
    }
    this.stmt!.put.run(userId, JSON.stringify(p));
    this.spilled++;
  }
}

/**
 * One rule set's replay on state of its own, in memory: the same decision core as the server
 * (`enrich`, `judge`, `learnProfile`, the failure arithmetic of FailureMemory), called
 * synchronously per event, with no store, no promise and no audit trail. What the engine
 * would keep in its store, the lane keeps here: profiles (bounded, spilling to a file),
 * failure and wrong-code counts (FailureMemory, bounded), and the device keys it simulated
 * (in the profiles, as the engine keeps them). docs/replay.md#how-it-runs.
 */
export class Lane {
  readonly tally: Tally;
  private readonly profiles: ReplayProfiles;
  private readonly failures = new FailureMemory();
  /** All users' learned logins, counted: what familiarity compares with (as the engine's). */
  private readonly population = new Population();
  private readonly userAgents = new UserAgentParser(USER_AGENT_CACHE);
  private readonly addresses: AddressCache;

  /**
   * `geo`: where addresses are located, when not the geolocation database (replay's `--geo
   * csv`, which answers for the event at hand and so is never cached). `spillPath`: the file
   * cold profiles go to.
   */
  constructor(
    private readonly rules: RuleSet,
    window: MeasureWindow,
    private readonly attacksPass: boolean,
    geo: GeoLookup | undefined,
    spillPath: string,
    hotProfiles = HOT_PROFILES,
  ) {
    this.tally = new Tally(window);
    this.profiles = new ReplayProfiles(spillPath, hotProfiles);
    this.addresses = new AddressCache(geo ?? geoipLite, ADDRESS_CACHE);
  }

  step(ev: LoginEvent): Verdict {
    const now = ev.time;
    const rules = this.rules;
    const place = this.addresses.get(ev.ip);
    const facts = enrich(ev, this.userAgents, () => place.geo, place.net);
    const subjects = { userId: ev.userId, ip: place.net.ip, deviceId: facts.deviceId };
    if (ev.outcome === 'failure') {
      const counts = this.failures.add(subjects, now);
      const history: History = { profile: this.profiles.get(ev.userId), counts, trusted: false, passkeyClonedAt: null, proof: 'none', population: this.population };
      const e = judge(facts, history, now, rules, true).evaluation;
      const blocked = e.action === 'block';
      const reasons = reasonsOf(e);
      return { action: blocked ? 'block' : 'allow', score: e.score, fired: reasons.map((r) => r.rule), messages: reasons.map((r) => r.message), decisive: blocked ? decisiveRules(e, rules.thresholds) : [], shadow: [], forced: false };
    }
    let profile = this.profiles.get(ev.userId);
    const deviceId = facts.deviceId;
    let key = DeviceProofs.keyOf(profile, deviceId);
    // A device's first valid proof: its login page registered a key (simulated: the recorded outcomes prove it).
    if (ev.deviceProof === 'valid' && deviceId !== undefined && key === undefined) {
      profile = this.learn(ev.userId, profile, keyObservation(deviceId, '', '', now));
      key = DeviceProofs.keyOf(profile, deviceId);
    }
    const history: History = {
      profile,
      counts: this.failures.counts(subjects, now),
      trusted: false,
      passkeyClonedAt: null,
      // A replay's proofs are recorded outcomes, never signatures: `recorded` always answers.
      proof: DeviceProofs.recorded(key, deviceId, ev.deviceProof) ?? 'invalid',
      population: this.population,
    };
    const { evaluation: e, observation } = judge(facts, history, now, rules, false);
    // Allowed, the login teaches the profile; challenged, a legitimate user passes (and teaches), an attacker fails unless told to pass.
    if (e.action === 'allow' || (e.action === 'challenge' && (ev.label === LEGIT || this.attacksPass))) this.learn(ev.userId, profile, observation);
    const reasons = reasonsOf(e);
    return {
      action: e.action,
      score: e.score,
      fired: reasons.map((r) => r.rule),
      messages: reasons.map((r) => r.message),
      decisive: decisiveRules(e, rules.thresholds),
      shadow: e.shadow.map((h) => h.rule.id),
      forced: e.hits.some((h) => h.rule.force !== null),
    };
  }

  close(): void {
    this.profiles.close();
  }

  private learn(userId: string, current: Profile | null, obs: Observation): Profile {
    // In place: the lane holds the only copy of its profiles, and judged the login before.
    const p = learnProfile(current, obs, true);
    if (p !== current) this.profiles.set(userId, p);
    this.population.add(obs);
    return p;
  }
}
