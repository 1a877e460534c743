import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SendAttempt } from '../challenge/delivery.js';
import type { ChallengeEvent } from '../challenge/events.js';
import type { Decision, FailureResult } from '../engine/engine.js';
import type { StoreEvent } from '../store/guard.js';
import type { ReloadResult } from '../rules/holder.js';

/**
 * Prometheus metrics of one server, in their own registry (tests build many servers). The
 * parts report to it (decisions, failures, the store guard, rule reloads, challenge events);
 * none of them knows prom-client.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({ name: 'riskgate_decisions_total', help: 'Decisions by action.', labelNames: ['action'], registers: [this.registry] });
  readonly ruleHits = new Counter({ name: 'riskgate_rule_hits_total', help: 'Rules that fired, enforcing or shadow.', labelNames: ['rule', 'mode'], registers: [this.registry] });
  readonly ruleErrors = new Counter({ name: 'riskgate_rule_errors_total', help: 'Rule conditions that failed at run time (counted as not fired).', labelNames: ['rule'], registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'riskgate_decision_duration_seconds',
    help: 'Time to decide, from request to answer.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly failures = new Counter({ name: 'riskgate_login_failures_total', help: 'Failed passwords reported, by whether the attempt was blocked.', labelNames: ['blocked'], registers: [this.registry] });
  readonly feedback = new Counter({ name: 'riskgate_feedback_total', help: 'Feedback by outcome.', labelNames: ['outcome'], registers: [this.registry] });
  readonly reloads = new Counter({ name: 'riskgate_rules_reloads_total', help: 'Rule reloads by result.', labelNames: ['result'], registers: [this.registry] });
  readonly rulesInfo = new Gauge({ name: 'riskgate_rules_info', help: 'The active rule set (value 1).', labelNames: ['version'], registers: [this.registry] });
  readonly lastReloadFailed = new Gauge({ name: 'riskgate_rules_last_reload_failed', help: '1 when the last reload was refused and older rules are still active.', registers: [this.registry] });
  readonly storeUp = new Gauge({ name: 'riskgate_store_up', help: '1 while the state store answers; 0 while answers come from the fail mode.', registers: [this.registry] });
  readonly storeErrors = new Counter({ name: 'riskgate_store_errors_total', help: 'Store calls that failed (error) or did not answer in time (timeout).', labelNames: ['kind'], registers: [this.registry] });
  readonly storeFallbacks = new Counter({
    name: 'riskgate_store_fallbacks_total',
    help: 'Answers decided without history because the store was unavailable, by endpoint and fail mode.',
    labelNames: ['endpoint', 'mode'],
    registers: [this.registry],
  });

  readonly challenges = new Counter({
    name: 'riskgate_challenges_total',
    help: 'Challenges by channel and outcome: issued, undelivered, verified, locked, expired.',
    labelNames: ['channel', 'outcome'],
    registers: [this.registry],
  });
  readonly challengeSends = new Counter({
    name: 'riskgate_challenge_sends_total',
    help: 'Tries to deliver a code, by channel, provider and result (sent, failed, timeout, rejected, rate_limited).',
    labelNames: ['channel', 'provider', 'result'],
    registers: [this.registry],
  });
  readonly challengeFallbacks = new Counter({
    name: 'riskgate_challenge_fallbacks_total',
    help: 'Deliveries that fell back past a failed provider or channel, by the channel that took the code ("none" when none did).',
    labelNames: ['channel'],
    registers: [this.registry],
  });
  readonly deliveryLimited = new Counter({
    name: 'riskgate_delivery_limited_total',
    help: 'Sends riskgate refused itself (toll fraud, floods), by limit (perPhonePerHour, perPrefixPerHour, perCountryPerHour, conversion, sendsPerHour, perEmailPerHour) and destination country ("" for e-mail).',
    labelNames: ['limit', 'country'],
    registers: [this.registry],
  });
  readonly challengeDowngrades = new Counter({
    name: 'riskgate_challenge_downgrades_total',
    help: 'Resends asked to move a challenge on a stronger factor (TOTP, passkey) to a code channel, by result (allowed, refused).',
    labelNames: ['result', 'from', 'to'],
    registers: [this.registry],
  });
  readonly challengeVerifications = new Counter({
    name: 'riskgate_challenge_verifications_total',
    help: 'Answers to verify attempts, by status.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly verifySuccessRatio = new Gauge({
    name: 'riskgate_challenge_verify_success_ratio',
    help: 'Share of verify attempts answered "verified" since start (the rate over time: riskgate_challenge_verifications_total).',
    registers: [this.registry],
  });
  private readonly verifyCounts = { verified: 0, all: 0 };
  readonly http = new Histogram({
    name: 'riskgate_http_request_duration_seconds',
    help: 'HTTP requests by method, route (its pattern; "unmatched" for no route) and status, and their time from request to answer. Its _count is the request count.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** The histogram's child per method, route and status, found once: a request then costs one map lookup and an observe. */
  private readonly httpChildren = new Map<string, { observe(v: number): void }>();

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.storeUp.set(1);
  }

  decision(d: Decision, seconds: number): void {
    this.decisions.inc({ action: d.action });
    this.latency.observe(seconds);
    for (const r of d.reasons) this.ruleHits.inc({ rule: r.rule, mode: 'enforce' });
    for (const r of d.shadow) this.ruleHits.inc({ rule: r.rule, mode: 'shadow' });
    for (const e of d.evaluation.errors) this.ruleErrors.inc({ rule: e.rule });
    if (d.fallback) this.storeFallbacks.inc({ endpoint: 'decisions', mode: d.fallback });
  }

  failure(f: FailureResult): void {
    this.failures.inc({ blocked: String(f.blocked) });
    if (f.fallback) this.storeFallbacks.inc({ endpoint: 'login-failures', mode: f.fallback });
  }

  /** One answered HTTP request; `route` is the route's pattern (undefined: no route matched). */
  request(method: string, route: string | undefined, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let child = this.httpChildren.get(key);
    if (!child) this.httpChildren.set(key, (child = this.http.labels(method, route ?? 'unmatched', String(status))));
    child.observe(seconds);
  }

  store(e: StoreEvent): void {
    if (e.type === 'failed') this.storeErrors.inc({ kind: e.error.kind });
    this.storeUp.set(e.type === 'failed' ? 0 : 1);
  }

  /** What the challenge module reports: challenges by outcome, sends and fallbacks, verify answers. */
  challenge(e: ChallengeEvent): void {
    switch (e.type) {
      case 'issued':
        this.challenges.inc({ channel: e.challenge.channel, outcome: e.delivered ? 'issued' : 'undelivered' });
        break;
      case 'destinations_limited':
        for (const a of e.attempts) this.limited(a);
        break;
      case 'sent': {
        const { attempts } = e.delivery;
        for (const a of attempts) {
          this.challengeSends.inc({ channel: a.channel, provider: a.provider, result: a.result });
          this.limited(a);
        }
        if (attempts.length > 1 || !e.delivery.ok) this.challengeFallbacks.inc({ channel: e.delivery.ok ? e.delivery.channel : 'none' });
        break;
      }
      case 'resent':
        if (!e.delivery.ok) this.challenges.inc({ channel: e.first, outcome: 'undelivered' });
        break;
      case 'answered':
        this.verification(e.outcome.status);
        if (e.settled) this.challenges.inc({ channel: e.challenge.channel, outcome: e.outcome.status });
        break;
      case 'expired':
        this.challenges.inc({ channel: e.challenge.channel, outcome: 'expired' });
        break;
      case 'downgrade':
        this.challengeDowngrades.inc({ result: e.allowed ? 'allowed' : 'refused', from: e.challenge.channel, to: e.to });
        break;
    }
  }

  private limited(a: SendAttempt): void {
    if (a.result === 'limit') this.deliveryLimited.inc({ limit: a.limit ?? 'unknown', country: a.country ?? '' });
  }

  private verification(status: string): void {
    this.challengeVerifications.inc({ status });
    this.verifyCounts.all += 1;
    if (status === 'verified') this.verifyCounts.verified += 1;
    this.verifySuccessRatio.set(this.verifyCounts.verified / this.verifyCounts.all);
  }

  activeRules(version: string): void {
    this.rulesInfo.reset();
    this.rulesInfo.set({ version }, 1);
  }

  reload(r: ReloadResult): void {
    this.reloads.inc({ result: r.ok ? 'success' : 'failure' });
    this.lastReloadFailed.set(r.ok ? 0 : 1);
    if (r.ok) this.activeRules(r.version);
  }
}
