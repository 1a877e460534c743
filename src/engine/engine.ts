import { homeTimeZone, type Observation, type Profile } from '../profile/profile.js';
import { decisiveRules, evaluate, reasonsOf, type Evaluation } from '../rules/evaluate.js';
import type { RuleSet } from '../rules/ruleset.js';
import { FailureCounters, type AttemptCounts } from '../signals/attempts.js';
import { deviceSignals } from '../signals/device.js';
import { geoSignals } from '../signals/geo.js';
import { geoipLite, type GeoInfo, type GeoLookup } from '../signals/geoip.js';
import { networkSignals, parseIp, type NetworkInfo } from '../signals/network.js';
import type { Signals } from '../signals/schema.js';
import { localHour, timeSignals } from '../signals/time.js';
import { userSignals } from '../signals/user.js';
import { UserAgentParser, type UserAgentInfo } from '../signals/useragent.js';
import type { DecisionRecord, Store } from '../store/store.js';
import { InputError } from '../errors.js';
import { uuidv7 } from './ids.js';
import type { Action, Clock, FeedbackOutcome, LoginAttempt, LoginFailure, Reason } from '../types.js';

/** Trust tokens ("trust this device"), provided by the challenge module. */
export interface TrustVerifier {
  verify(token: string, userId: string, deviceId: string | undefined, now: number): Promise<boolean>;
}

export interface EngineOptions {
  store: Store;
  /** The active rule set; read on every decision so that a reload takes effect at once. */
  rules: () => RuleSet;
  clock: Clock;
  geo?: GeoLookup;
  userAgents?: UserAgentParser;
  trust?: TrustVerifier;
  /** Called when a login is confirmed fraudulent, after its learning was taken back (revokes trust). */
  onConfirmedFraud?: (record: DecisionRecord) => Promise<void>;
  /**
   * Write decisions and failures to the store's audit trail (default true). Offline replay turns
   * it off: its decisions file is the record, and millions of audit rows would only cost time
   * and disk. Such a decision cannot be found by id later: `passChallenge` takes its record.
   */
  audit?: boolean;
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
  /** What the store keeps of the decision (and what a passed challenge teaches). */
  record: DecisionRecord;
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
}

/**
 * The decision pipeline, the same for the HTTP API, replay and rule tests: it is handed its
 * clock, store and rules, and knows nothing of Fastify, files or the wall clock.
 */
export class Engine {
  readonly store: Store;
  readonly counters: FailureCounters;
  private readonly opts: EngineOptions;
  private readonly geo: GeoLookup;
  private readonly userAgents: UserAgentParser;
  private readonly auditing: boolean;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.auditing = opts.audit ?? true;
    this.store = opts.store;
    this.counters = new FailureCounters(opts.store.limiter);
    this.geo = opts.geo ?? geoipLite;
    this.userAgents = opts.userAgents ?? new UserAgentParser();
  }

  get rules(): RuleSet {
    return this.opts.rules();
  }

  async decide(attempt: LoginAttempt): Promise<Decision> {
    const a = await this.assess(attempt, null);
    const { evaluation: ev } = a;
    const decisionId = uuidv7(a.now);
    const reasons = reasonsOf(ev);
    const shadow = ev.shadow.map((h) => ({ rule: h.rule.id, points: h.points, message: h.message }));
    const record: DecisionRecord = {
      id: decisionId,
      time: a.now,
      userId: attempt.userId,
      ip: a.net.ip,
      requestAction: attempt.action ?? 'login',
      action: ev.action,
      score: ev.score,
      reasons,
      shadow: shadow.map((s) => s.rule),
      rulesVersion: a.rules.version,
      observation: a.observation,
    };
    // A login teaches the profile only once it is let through; a challenge teaches when passed.
    // Both writes are issued together, so a store that group-commits puts them in one commit.
    const [, learned] = await Promise.all([
      this.auditing ? this.store.saveDecision(record) : undefined,
      ev.action === 'allow' ? this.store.learn(attempt.userId, decisionId, a.observation) : false,
    ]);
    return {
      decisionId,
      time: a.now,
      action: ev.action,
      score: ev.score,
      reasons,
      shadow,
      rulesVersion: a.rules.version,
      decisive: decisiveRules(ev, a.rules.thresholds),
      learned,
      signals: a.signals,
      evaluation: ev,
      record,
    };
  }

  /** A wrong password: counted, then judged like a login so the service knows whether to stop the attempts. */
  async recordFailure(f: LoginFailure): Promise<FailureResult> {
    const net = parseIp(f.ip);
    const now = this.opts.clock();
    const counts = await this.counters.record({ userId: f.userId, ip: net.ip, deviceId: f.deviceId }, now);
    const a = await this.assess({ ...f, ip: net.ip }, counts, now);
    const reasons = reasonsOf(a.evaluation);
    const blocked = a.evaluation.action === 'block';
    if (this.auditing) {
      await this.store.audit({
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
      });
    }
    const decisive = blocked ? decisiveRules(a.evaluation, a.rules.thresholds) : [];
    return { blocked, action: a.evaluation.action, score: a.evaluation.score, reasons, decisive, counts, rulesVersion: a.rules.version };
  }

  /** What happened after a decision, from the login service (or an analyst). */
  async feedback(decisionId: string, outcome: FeedbackOutcome): Promise<FeedbackResult> {
    const record = await this.store.getDecision(decisionId);
    if (!record) throw new InputError('DECISION_NOT_FOUND', `no decision ${decisionId}`);
    let learned = false;
    let unlearned = false;
    switch (outcome) {
      case 'passed_challenge':
        // A step-up passed outside riskgate teaches like a verified challenge; a block stays a block.
        if (record.action !== 'block') learned = await this.store.learn(record.userId, record.id, record.observation);
        break;
      case 'confirmed_legit':
        learned = await this.store.learn(record.userId, record.id, record.observation);
        break;
      case 'confirmed_fraud':
        unlearned = await this.store.unlearn(record.id);
        await this.opts.onConfirmedFraud?.(record);
        break;
      case 'failed_challenge':
        break;
    }
    await this.store.audit({
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
    const a = await this.assess(attempt, null);
    await this.store.learn(attempt.userId, uuidv7(a.now), a.observation);
  }

  /**
   * A challenge for this decision was verified: the login now teaches the profile. Takes the
   * decision's id, or its record when the caller holds it (replay, which keeps no audit trail).
   */
  async passChallenge(decision: string | DecisionRecord): Promise<boolean> {
    const record = typeof decision === 'string' ? await this.store.getDecision(decision) : decision;
    if (!record) return false;
    return this.store.learn(record.userId, record.id, record.observation);
  }

  private async assess(attempt: LoginAttempt, knownCounts: AttemptCounts | null, at?: number): Promise<Assessment> {
    const net = parseIp(attempt.ip);
    const now = at ?? this.opts.clock();
    const rules = this.opts.rules();
    const ua = this.userAgents.parse(attempt.userAgent);
    const geo = net.private ? null : this.geo(net.ip);
    const deviceId = attempt.deviceId || undefined;
    const [profile, counts, trusted] = await Promise.all([
      this.store.getProfile(attempt.userId),
      knownCounts ?? this.counters.read({ userId: attempt.userId, ip: net.ip, deviceId }, now),
      attempt.trustToken && this.opts.trust ? this.opts.trust.verify(attempt.trustToken, attempt.userId, deviceId, now) : false,
    ]);
    const hour = localHour(now, homeTimeZone(profile) ?? geo?.tz ?? null);
    // Only recordFailure hands in the counts it has just recorded: the attempt is a wrong password.
    const failed = knownCounts !== null;
    const signals = gatherSignals({ attempt, deviceId, net, ua, geo, profile, counts, trusted, hour, now, rules, failed });
    return { now, rules, net, signals, observation: observe(now, deviceId, ua, net, geo, hour), evaluation: evaluate(rules, signals) };
  }
}

interface SignalInputs {
  attempt: LoginAttempt;
  deviceId: string | undefined;
  net: NetworkInfo;
  ua: UserAgentInfo;
  geo: GeoInfo | null;
  profile: Profile | null;
  counts: AttemptCounts;
  trusted: boolean;
  hour: number;
  now: number;
  rules: RuleSet;
  failed: boolean;
}

function gatherSignals(i: SignalInputs): Signals {
  const lists: Record<string, boolean> = {};
  const subject = { addr: i.net.addr, userId: i.attempt.userId, deviceId: i.deviceId ?? '', country: i.geo?.country ?? '' };
  for (const l of i.rules.lists) lists[l.name] = l.test(subject);
  return {
    request: { action: i.attempt.action ?? 'login', ip: i.net.ip, user_id: i.attempt.userId, device_id: i.deviceId ?? '', failed: i.failed },
    user: userSignals(i.profile, i.now),
    device: deviceSignals(i.deviceId, i.ua, i.trusted, i.profile, i.now),
    network: networkSignals(i.net, i.profile, i.now),
    geo: geoSignals(i.geo, i.profile, i.now),
    time: timeSignals(i.hour, i.profile),
    attempts: i.counts,
    lists,
  };
}

function observe(now: number, deviceId: string | undefined, ua: UserAgentInfo, net: NetworkInfo, geo: GeoInfo | null, hour: number): Observation {
  return {
    time: now,
    deviceId: deviceId ?? null,
    family: ua.family,
    subnet: net.private ? null : net.subnet,
    range: net.private ? null : net.range,
    place: geo ? { country: geo.country, region: geo.region, city: geo.city, tz: geo.tz } : null,
    point: geo ? { lat: geo.lat, lon: geo.lon, radiusKm: geo.radiusKm } : null,
    hour,
  };
}
