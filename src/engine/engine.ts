import { LRUCache } from 'lru-cache';
import { homeTimeZone, keyObservation, type Observation, type Profile } from '../profile/profile.js';
import { decisiveRules, evaluate, reasonsOf, type Evaluation } from '../rules/evaluate.js';
import type { EnrollPolicy, RuleSet } from '../rules/ruleset.js';
import { NO_FAILURES, type AttemptCounts, type FailureCounts } from '../signals/attempts.js';
import { deviceSignals, knownDevice, type ProofOutcome } from '../signals/device.js';
import { fingerprintHashes, fingerprintSignals, type Fingerprint } from '../signals/fingerprint.js';
import { checkPublicJwk, DeviceProofs, type PublicJwk } from './device-proof.js';
import type { FingerprintHashes } from '../profile/profile.js';
import { geoSignals } from '../signals/geo.js';
import { familiaritySignals, fingerprintKey, Population } from '../signals/familiarity.js';
import { geoipLite, type GeoInfo, type GeoLookup } from '../signals/geoip.js';
import { failureNetwork, networkSignals, parseIp, type NetworkInfo } from '../signals/network.js';
import type { Signals } from '../signals/schema.js';
import { localHour, timeSignals } from '../signals/time.js';
import { userSignals } from '../signals/user.js';
import { UserAgentParser, type UserAgentInfo } from '../signals/useragent.js';
import type { DecisionRecord, Passkeys, StorePorts } from '../store/ports.js';
import { InputError } from '../errors.js';
import { uuidv7 } from './ids.js';
import { maxAction, type Action, type Clock, type FeedbackOutcome, type LoginAttempt, type LoginFailure, type Reason, type StoreFailMode } from '../types.js';
import { StoreUnavailableError } from '../store/guard.js';

/** The reason a decision carries when the store could not be read or written. Never a rule in rules/. */
export const STORE_UNAVAILABLE_RULE = 'riskgate.store_unavailable';

/** Trust tokens ("trust this device"), provided by the challenge module. */
export interface TrustVerifier {
  verify(token: string, userId: string, deviceId: string | undefined, now: number): Promise<boolean>;
}

/** The store ports the engine works with. */
export type EngineStore = Pick<StorePorts, 'profiles' | 'decisions' | 'audit' | 'failures' | 'logins' | 'limits'>;

export interface EngineOptions {
  store: EngineStore;
  /** The active rule set; read on every decision so that a reload takes effect at once. */
  rules: () => RuleSet;
  clock: Clock;
  geo?: GeoLookup;
  userAgents?: UserAgentParser;
  trust?: TrustVerifier;
  /** Users' passkey clone marks, for `user.passkey_cloned`; only where passkeys are configured (the signal is false without). */
  passkeys?: Pick<Passkeys, 'clonedAt'> | undefined;
  /** Called when a login is confirmed fraudulent, after its learning was taken back (revokes trust). */
  onConfirmedFraud?: (record: DecisionRecord) => Promise<void>;
  /**
   * How to decide when the store answers StoreUnavailableError (ports under guardPorts,
   * src/store/guard.ts: the server's; rule tests and replay use bare ports, whose errors
   * propagate). `closed` by default.
   */
  failMode?: StoreFailMode;
  /**
   * Write decisions and failures to the store's audit trail (default true). Offline replay turns
   * it off: its decisions file is the record, and millions of audit rows would only cost time
   * and disk. Such a decision cannot be found by id later: `passChallenge` takes its record.
   */
  audit?: boolean;
  /**
   * The population the familiarity signals compare users with (src/signals/familiarity.ts),
   * fed by every login this engine teaches; a new, empty one by default. The server hands in
   * the one it flushes to the store and loads from it.
   */
  population?: Population;
}

export interface Decision {
  decisionId: string;
  time: number;
  action: Action;
  score: number;
  reasons: Reason[];
  shadow: Reason[];
  rulesVersion: string;
  /** Rules without which the action would have been lower. */
  decisive: string[];
  learned: boolean;
  signals: Signals;
  evaluation: Evaluation;
  /** The fail mode that decided, when the store could not be read; null normally. */
  fallback: StoreFailMode | null;
  /** What the store keeps of the decision (and what a passed challenge teaches). */
  record: DecisionRecord;
  /** The factor the policy suggests enrolling on this decision (policy.enroll), for a user who has no strong factor; null when none. */
  enroll: EnrollPolicy['suggest'] | null;
}

export interface FailureResult {
  blocked: boolean;
  action: Action;
  score: number;
  reasons: Reason[];
  /** Rules without which the attempt would not have been blocked. */
  decisive: string[];
  counts: AttemptCounts;
  rulesVersion: string;
  /** The fail mode that decided, when the failure could not be counted; null normally. */
  fallback: StoreFailMode | null;
  signals: Signals;
}

export interface FeedbackResult {
  decisionId: string;
  outcome: FeedbackOutcome;
  learned: boolean;
  unlearned: boolean;
}

/** What a login looks like once parsed, located and set against the user's history. */
interface Assessment {
  now: number;
  rules: RuleSet;
  net: NetworkInfo;
  signals: Signals;
  observation: Observation;
  evaluation: Evaluation;
  /** The evaluation's action, or what the fail mode made of it when the store could not be read. */
  action: Action;
  /** Why the store could not be read; null when the decision had the user's history. */
  unavailable: StoreUnavailableError | null;
}

/** What the store knows about a login before it is decided. */
export interface History {
  profile: Profile | null;
  counts: FailureCounts;
  trusted: boolean;
  /** The earliest clone mark among the user's passkeys (a signature counter that went backwards), or null. */
  passkeyClonedAt: number | null;
  /** What the device-bound key proved (DeviceProofs.check); `none` when the device has no key. */
  proof: ProofOutcome;
  /** All users' learned logins, counted: what familiarity compares with. Absent: an empty population. */
  population?: Population | null;
}

/**
 * What the engine reads from a login itself, before any state: its address parsed, its user
 * agent parsed, its place. Nothing here depends on history, so it can be worked out apart
 * (replay does it in worker threads) and handed to `judge`.
 */
export interface LoginFacts {
  userId: string;
  /** What the service asks about: "login" unless it says otherwise. */
  action: string;
  deviceId: string | undefined;
  net: NetworkInfo;
  ua: UserAgentInfo;
  geo: GeoInfo | null;
  /** The /24 (IPv4) or /64 (IPv6) of the address: what a device's history keeps. */
  net64: string;
  fingerprint: Fingerprint | undefined;
  fpHashes: FingerprintHashes | null;
}

/** A login judged against its history: what the rules read, what they made of it, what it would teach. */
export interface Judgement {
  signals: Signals;
  evaluation: Evaluation;
  observation: Observation;
}

/** Parses and locates a login; `net` when its address is already parsed. */
export function enrich(attempt: LoginAttempt, userAgents: UserAgentParser, geo: GeoLookup, net: NetworkInfo = parseIp(attempt.ip)): LoginFacts {
  const fp = attempt.fingerprint;
  return {
    userId: attempt.userId,
    action: attempt.action ?? 'login',
    deviceId: attempt.deviceId || undefined,
    net,
    ua: userAgents.parse(attempt.userAgent),
    geo: geo(net.ip, !net.private),
    net64: failureNetwork(net.ip),
    fingerprint: fp,
    fpHashes: fp ? fingerprintHashes(fp) : null,
  };
}



/**
 * The decision core, pure: a login's facts set against its history, at `now`, under `rules`.
 * `failed`: the attempt is a wrong password. Every door decides through it: the server and
 * rule tests by way of Engine, replay directly on its own in-memory state.
 */
export function judge(facts: LoginFacts, history: History, now: number, rules: RuleSet, failed: boolean): Judgement {
  const { profile, counts, trusted, passkeyClonedAt, proof } = history;
  const hour = localHour(now, homeTimeZone(profile) ?? facts.geo?.tz ?? null);
  const observation = observe(now, facts, hour);
  const signals = gatherSignals({ facts, profile, counts, trusted, passkeyCloned: passkeyClonedAt !== null, proof, hour, now, rules, failed, population: history.population ?? null, observation });
  // What the population counts of this login's fingerprint once it is learned: one more user when it is not yet one of this user's.
  if (observation.device?.fp && !signals.fingerprint.user_matches) observation.device.fpNewForUser = true;
  return { signals, evaluation: evaluate(rules, signals), observation };
}

const NO_HISTORY: History = Object.freeze({ profile: null, counts: NO_FAILURES, trusted: false, passkeyClonedAt: null, proof: 'none' as const });

/** Addresses parsed and located, kept: logins repeat their addresses (homes, offices, carriers). */
const ADDRESS_CACHE = 20_000;

/**
 * Raw address → parsed and located, the last `max` seen. The place is kept only when the
 * lookup is the geolocation database's, which depends on nothing but the address; any other
 * lookup (replay's places from its input, tests' fakes) answers for the login at hand and is
 * asked every time. Throws InputError for a bad address. The engine and replay's lanes share it.
 */
export class AddressCache {
  private readonly cache: LRUCache<string, { net: NetworkInfo; geo: GeoInfo | null | undefined }>;

  constructor(
    private readonly locate: GeoLookup,
    max: number,
  ) {
    this.cache = new LRUCache({ max });
  }

  get(ip: string): { net: NetworkInfo; geo: GeoInfo | null } {
    let hit = this.cache.get(ip);
    if (!hit) {
      const net = parseIp(ip);
      hit = { net, geo: this.locate === geoipLite ? geoipLite(net.ip, !net.private) : undefined };
      this.cache.set(ip, hit);
    }
    return hit.geo === undefined ? { net: hit.net, geo: this.locate(hit.net.ip, !hit.net.private) } : (hit as { net: NetworkInfo; geo: GeoInfo | null });
  }
}

/**
 * The decision pipeline, the same for the HTTP API, replay and rule tests: it is handed its
 * clock, store and rules, and knows nothing of Fastify, files or the wall clock.
 */
export class Engine {
  private readonly store: EngineStore;
  private readonly opts: EngineOptions;
  private readonly userAgents: UserAgentParser;
  private readonly failMode: StoreFailMode;
  private readonly auditing: boolean;
  private readonly proofs: DeviceProofs;
  /** All users' learned logins, counted (familiarity). */
  readonly population: Population;
  private readonly addresses: AddressCache;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.auditing = opts.audit ?? true;
    this.store = opts.store;
    this.addresses = new AddressCache(opts.geo ?? geoipLite, ADDRESS_CACHE);
    this.userAgents = opts.userAgents ?? new UserAgentParser();
    this.failMode = opts.failMode ?? 'closed';
    this.proofs = new DeviceProofs(opts.store.limits);
    this.population = opts.population ?? new Population();
  }

  /** Teaches the user's profile one login and, when it taught it, counts it in the population. */
  private async learn(userId: string, decisionId: string, observation: Observation): Promise<boolean> {
    const learned = await this.store.profiles.learn(userId, decisionId, observation);
    if (learned) this.population.add(observation);
    return learned;
  }

  get rules(): RuleSet {
    return this.opts.rules();
  }

  async decide(attempt: LoginAttempt): Promise<Decision> {
    const a = await this.assess(attempt, this.opts.clock());
    const { evaluation: ev } = a;
    const decisionId = uuidv7(a.now);
    const reasons = reasonsOf(ev);
    if (a.unavailable) reasons.push(this.fallbackReason(a.unavailable, 'decided without history'));
    const shadow = ev.shadow.map((h) => ({ rule: h.rule.id, points: h.points, message: h.message }));
    const record: DecisionRecord = {
      id: decisionId,
      time: a.now,
      userId: attempt.userId,
      ip: a.net.ip,
      requestAction: attempt.action ?? 'login',
      action: a.action,
      score: ev.score,
      reasons: [...reasons],
      shadow: shadow.map((s) => s.rule),
      rulesVersion: a.rules.version,
      observation: a.observation,
    };
    let learned = false;
    try {
      // A login teaches the profile only once it is let through (a challenge teaches when passed),
      // and only when it was judged against the history it would change. Both writes are issued
      // together, so a store that group-commits puts them in one commit.
      [, learned] = await Promise.all([
        this.auditing ? this.store.decisions.save(record) : undefined,
        a.action === 'allow' && !a.unavailable ? this.learn(attempt.userId, decisionId, a.observation) : false,
      ]);
    } catch (e) {
      if (!(e instanceof StoreUnavailableError)) throw e;
      // The answer stands (it was made with the user's history); only its record may be missing.
      if (!a.unavailable) reasons.push(storeReason(e, 'this decision may not have been recorded, so feedback on it may not be found'));
    }
    return {
      decisionId,
      time: a.now,
      action: a.action,
      score: ev.score,
      reasons,
      shadow,
      rulesVersion: a.rules.version,
      decisive: a.action === ev.action ? decisiveRules(ev, a.rules.thresholds) : [STORE_UNAVAILABLE_RULE],
      learned,
      signals: a.signals,
      evaluation: ev,
      fallback: a.unavailable ? this.failMode : null,
      record,
      enroll: a.rules.enroll && (a.rules.enroll.on as readonly Action[]).includes(a.action) ? a.rules.enroll.suggest : null,
    };
  }

  /** A wrong password: counted, then judged like a login so the service knows whether to stop the attempts. */
  async recordFailure(f: LoginFailure): Promise<FailureResult> {
    const net = this.addresses.get(f.ip).net;
    const now = this.opts.clock();
    let counted: FailureCounts | StoreUnavailableError;
    try {
      counted = await this.store.failures.add({ userId: f.userId, ip: net.ip, deviceId: f.deviceId }, now);
    } catch (e) {
      if (!(e instanceof StoreUnavailableError)) throw e;
      counted = e;
    }
    const a = await this.assess({ ...f, ip: net.ip }, now, counted, net);
    const reasons = reasonsOf(a.evaluation);
    if (a.unavailable) reasons.push(this.fallbackReason(a.unavailable, 'this failure may not have been counted; decided without history'));
    const blocked = a.action === 'block';
    const counts = a.signals.attempts;
    if (this.auditing) {
      await this.bestEffort(() =>
        this.store.audit.append({
          time: now,
          kind: 'failure',
          ref: null,
          userId: f.userId,
          ip: net.ip,
          action: blocked ? 'block' : 'allow',
          score: a.evaluation.score,
          rules: reasons.map((r) => r.rule),
          rulesVersion: a.rules.version,
          detail: { counts, deviceId: f.deviceId ?? null },
        }),
      );
    }
    const decisive = blocked ? decisiveRules(a.evaluation, a.rules.thresholds) : [];
    return { blocked, action: a.action, score: a.evaluation.score, reasons, decisive, counts, rulesVersion: a.rules.version, fallback: a.unavailable ? this.failMode : null, signals: a.signals };
  }

  /** What happened after a decision, from the login service (or an analyst). */
  async feedback(decisionId: string, outcome: FeedbackOutcome): Promise<FeedbackResult> {
    // No fail mode here: feedback cannot be answered without the store, so it fails (503) and can be sent again.
    const record = await this.store.decisions.get(decisionId);
    if (!record) throw new InputError('DECISION_NOT_FOUND', `no decision ${decisionId}`);
    let learned = false;
    let unlearned = false;
    switch (outcome) {
      case 'passed_challenge':
        // A step-up passed outside riskgate teaches like a verified challenge; a block stays a block.
        if (record.action !== 'block') learned = await this.learn(record.userId, record.id, record.observation);
        break;
      case 'confirmed_legit':
        learned = await this.learn(record.userId, record.id, record.observation);
        break;
      case 'confirmed_fraud':
        unlearned = await this.store.profiles.unlearn(record.id);
        await this.opts.onConfirmedFraud?.(record);
        break;
      case 'failed_challenge':
        break;
    }
    await this.store.audit.append({
      time: this.opts.clock(),
      kind: 'feedback',
      ref: record.id,
      userId: record.userId,
      ip: record.ip,
      action: record.action,
      score: record.score,
      rules: record.reasons.map((r) => r.rule),
      rulesVersion: record.rulesVersion,
      detail: { outcome, learned, unlearned },
    });
    return { decisionId, outcome, learned, unlearned };
  }

  /**
   * Learns a login as accepted without deciding on it: seeds history (rule tests, imports).
   * Uses the same enrichment as `decide`, so the profile looks as if the login had been allowed.
   */
  async teach(attempt: LoginAttempt): Promise<void> {
    const a = await this.assess(attempt, this.opts.clock());
    if (a.unavailable) throw a.unavailable;
    await this.learn(attempt.userId, uuidv7(a.now), a.observation);
  }

  /**
   * Registers a device-bound key for one of the user's device ids (replacing its earlier key):
   * from then on a decision for that device without a valid proof is `device.proof` missing or
   * invalid. `null` is a replay's simulated key, which only recorded outcomes prove.
   */
  async registerDeviceKey(userId: string, deviceId: string, jwk: PublicJwk | null): Promise<{ registered: number }> {
    const { x, y } = jwk ? checkPublicJwk(jwk) : { x: '', y: '' };
    const now = this.opts.clock();
    await this.store.profiles.learn(userId, uuidv7(now), keyObservation(deviceId, x, y, now));
    return { registered: now };
  }

  /**
   * A challenge for this decision was verified: the login now teaches the profile. Takes the
   * decision's id, or its record when the caller holds it (replay, which keeps no audit trail).
   */
  async passChallenge(decision: string | DecisionRecord): Promise<boolean> {
    const record = typeof decision === 'string' ? await this.store.decisions.get(decision) : decision;
    if (!record) return false;
    return this.learn(record.userId, record.id, record.observation);
  }

  /**
   * Sets a login against the user's history and runs the rules. `known` is what recording a
   * failure already learned: its counts, or that the store is unavailable; `net`, its address
   * already parsed.
   */
  private async assess(attempt: LoginAttempt, now: number, known?: FailureCounts | StoreUnavailableError, net?: NetworkInfo): Promise<Assessment> {
    const rules = this.opts.rules();
    const place = this.addresses.get(attempt.ip);
    net ??= place.net;
    const facts = enrich(attempt, this.userAgents, () => place.geo, net);
    const { deviceId } = facts;
    let history: History = NO_HISTORY;
    let unavailable: StoreUnavailableError | null = null;
    if (known instanceof StoreUnavailableError) unavailable = known;
    else {
      try {
        // Read together: a store that hangs costs one timeout for all of them.
        // A login's profile and counts in one read (one round trip on Redis); a failure has its counts already.
        const [{ profile, counts }, trusted, passkeyClonedAt] = await Promise.all([
          known ? this.store.profiles.get(attempt.userId).then((p) => ({ profile: p, counts: known })) : this.store.logins.read({ userId: attempt.userId, ip: net.ip, deviceId }, now),
          attempt.trustToken && this.opts.trust ? this.opts.trust.verify(attempt.trustToken, attempt.userId, deviceId, now) : false,
          this.opts.passkeys ? this.opts.passkeys.clonedAt(attempt.userId) : null,
        ]);
        const key = DeviceProofs.keyOf(profile, deviceId);
        // A failure is not a login: its proof is not spent (nor checked).
        const proof = key === undefined ? 'none' : known === undefined ? await this.proofs.check(key, attempt.userId, deviceId, attempt.deviceProof, now) : 'none';
        history = { profile, counts, trusted, passkeyClonedAt, proof, population: this.population };
      } catch (e) {
        if (!(e instanceof StoreUnavailableError)) throw e;
        unavailable = e;
      }
    }
    // Only recordFailure hands in what recording the failure gave: the attempt is a wrong password.
    const { signals, evaluation, observation } = judge(facts, history, now, rules, known !== undefined);
    const action = unavailable ? this.fallbackAction(evaluation.action) : evaluation.action;
    return { now, rules, net, signals, observation, evaluation, action, unavailable };
  }

  /** Runs writes whose failure must not change an answer already given; the store's guard reports the failure. */
  private async bestEffort(op: () => Promise<unknown>): Promise<void> {
    try {
      await op();
    } catch (e) {
      if (!(e instanceof StoreUnavailableError)) throw e;
    }
  }

  /** The action once the fail mode has spoken: `closed` asks for at least a challenge. */
  private fallbackAction(action: Action): Action {
    return this.failMode === 'closed' ? maxAction(action, 'challenge') : action;
  }

  private fallbackReason(e: StoreUnavailableError, what: string): Reason {
    const mode = this.failMode === 'closed' ? 'fail-closed: at least a challenge' : 'fail-open';
    return storeReason(e, `${what} (${mode})`);
  }
}

function storeReason(e: StoreUnavailableError, what: string): Reason {
  return { rule: STORE_UNAVAILABLE_RULE, points: 0, message: `${e.message}: ${what}` };
}

interface SignalInputs {
  facts: LoginFacts;
  profile: Profile | null;
  counts: FailureCounts;
  trusted: boolean;
  passkeyCloned: boolean;
  proof: ProofOutcome;
  hour: number;
  now: number;
  rules: RuleSet;
  failed: boolean;
  population: Population | null;
  observation: Observation;
}

function gatherSignals(i: SignalInputs): Signals {
  const { userId, deviceId, net, ua, geo } = i.facts;
  const lists: Record<string, boolean> = {};
  const subject = { addr: net.addr, userId, deviceId: deviceId ?? '', country: geo?.country ?? '' };
  for (const l of i.rules.lists) lists[l.name] = l.test(subject);
  const { failed_challenges_24h, ...attempts } = i.counts;
  const entry = knownDevice(deviceId, i.profile, i.now);
  const where = { net: net.private ? null : i.facts.net64, range: net.private ? null : net.range, region: geo ? `${geo.country}/${geo.region}` : null, hour: i.hour };
  return {
    request: { action: i.facts.action, ip: net.ip, user_id: userId, device_id: deviceId ?? '', failed: i.failed },
    user: userSignals(i.profile, i.now, failed_challenges_24h, i.passkeyCloned),
    device: deviceSignals(deviceId, ua, i.trusted, i.profile, i.now, entry, where, i.proof),
    fingerprint: fingerprintSignals(
      i.facts.fingerprint,
      i.facts.fpHashes,
      entry,
      i.profile?.devices ?? [],
      geo?.tz || null,
      i.now,
      i.facts.fpHashes && i.population ? i.population.fingerprints.get(fingerprintKey(i.facts.fpHashes.stable, i.facts.fpHashes.screen)) : 0,
    ),
    familiarity: familiaritySignals(i.observation, i.profile, i.population),
    network: networkSignals(net, i.profile, i.now, net.version === 4 ? net.ip : i.facts.net64),
    geo: geoSignals(geo, i.profile, i.now),
    time: timeSignals(i.hour, i.profile),
    attempts,
    lists,
  };
}

function observe(now: number, f: LoginFacts, hour: number): Observation {
  const { net, geo } = f;
  return {
    time: now,
    deviceId: f.deviceId ?? null,
    family: f.ua.family,
    subnet: net.private ? null : net.subnet,
    range: net.private ? null : net.range,
    address: net.private ? null : net.version === 4 ? net.ip : f.net64,
    place: geo ? { country: geo.country, region: geo.region, city: geo.city, tz: geo.tz } : null,
    point: geo ? { lat: geo.lat, lon: geo.lon, radiusKm: geo.radiusKm } : null,
    hour,
    device: f.deviceId ? { net: net.private ? null : f.net64, region: geo ? `${geo.country}/${geo.region}` : null, ua: f.ua.hash, major: f.ua.major, fp: f.fpHashes } : null,
  };
}
