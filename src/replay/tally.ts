import type { Thresholds } from '../rules/ruleset.js';
import type { Action } from '../types.js';
import { LEGIT, type LoginEvent } from './event.js';

/** What one rule set made of one event: for a failure, `action` is block or allow, as in the decisions file. */
export interface Verdict {
  action: Action;
  score: number;
  /** Enforcing rules that fired. */
  fired: readonly string[];
  /** Their messages, in the same order. */
  messages: readonly string[];
  /** Rules without which the action would have been lower. */
  decisive: readonly string[];
  shadow: readonly string[];
  /** A rule forced at least a challenge, whatever the score. */
  forced: boolean;
}

export interface Rate {
  count: number;
  of: number;
  /** count / of, or null when there is nothing to measure. */
  rate: number | null;
}

export interface LabelSummary {
  label: string;
  logins: number;
  allow: number;
  challenge: number;
  block: number;
  failures: number;
  failuresBlocked: number;
}

/** How often a rule fired on successful logins and on failures, what came of those, and how often it decided the action. */
export interface RuleCounts {
  /** Successful logins on which the rule fired. */
  fired: number;
  /** ...that were stepped up (challenged or blocked). */
  steppedUp: number;
  /** ...and that, without it, would have had a lower action. */
  decided: number;
  /** Failed attempts on which the rule fired. */
  firedOnFailures: number;
  /** ...that were blocked. */
  blockedFailures: number;
  /** ...and that, without it, would not have been blocked. */
  decidedOnFailures: number;
}

export interface RuleSummary extends RuleCounts {
  id: string;
  shadow: boolean;
  /**
   * The same counts per label: a rule's share in the friction (legitimate logins stepped up)
   * and in the catch of each attack. Labels it never fired on are left out.
   */
  byLabel: Record<string, RuleCounts>;
}

/** Everything the summary reports about one rule set, from the first counted event. Plain data: it is also the `--json` output. */
export interface Summary {
  rules: { version: string; dir: string; thresholds: Thresholds };
  events: { replayed: number; counted: number; logins: number; failures: number; first: string | null; last: string | null; countedFrom: string | null };
  actions: { logins: Record<Action, number>; failures: { allow: number; block: number } };
  ruleHits: RuleSummary[];
  labels: LabelSummary[];
  /** Legitimate successful logins that were stepped up (challenged or blocked). */
  friction: Rate;
  /** Attack successful logins that were stepped up, overall and per attack kind. */
  catch: Rate & { byKind: Record<string, Rate> };
  /** Failed attempts that were blocked, per label. */
  failuresBlocked: Record<string, Rate>;
}

/** What the report draws, beyond the summary. */
export interface ChartData {
  /** Successful logins per score, legit and attack; `forced`: a rule forced a step-up whatever the score. */
  scores: { legit: ScoreCounts; attack: ScoreCounts };
  /** Per hour (ms of its start): login actions, and failures blocked or not. Every event, warm-up included. */
  timeline: Map<number, TimelineBucket>;
}

export type ScoreCounts = Map<number, { free: number; forced: number }>;
export interface TimelineBucket {
  allow: number;
  challenge: number;
  block: number;
  failureAllow: number;
  failureBlock: number;
}

const HOUR_MS = 3_600_000;

/** Legitimate first, then the attack kinds by name. */
function byLabelOrder(a: string, b: string): number {
  return a === LEGIT ? (b === LEGIT ? 0 : -1) : b === LEGIT ? 1 : a.localeCompare(b);
}

export function rate(count: number, of: number): Rate {
  return { count, of, rate: of > 0 ? count / of : null };
}

interface RuleTally extends RuleCounts {
  shadow: boolean;
  byLabel: Map<string, RuleCounts>;
}

const noCounts = (): RuleCounts => ({ fired: 0, steppedUp: 0, decided: 0, firedOnFailures: 0, blockedFailures: 0, decidedOnFailures: 0 });

/**
 * Which events count: those from the first event's time plus the warm-up, while before it
 * profiles are still filling. One window is shared by every rule set of a replay.
 */
export class MeasureWindow {
  first: number | null = null;
  last: number | null = null;
  countFrom: number | null = null;

  constructor(private readonly warmupMs: number) {}

  /** Notes an event's time; true when the event counts. */
  observe(time: number): boolean {
    if (this.first === null) {
      this.first = time;
      this.countFrom = time + this.warmupMs;
    }
    this.last = time;
    return time >= this.countFrom!;
  }
}

/**
 * Tallies one rule set's verdicts into the summary's figures and the report's charts. Events
 * of the warm-up are drawn on the timeline but not counted in the figures.
 */
export class Tally {
  private replayed = 0;
  private readonly logins: Record<Action, number> = { allow: 0, challenge: 0, block: 0 };
  private readonly failures = { allow: 0, block: 0 };
  private readonly rules = new Map<string, RuleTally>();
  private readonly labels = new Map<string, LabelSummary>();
  private readonly scores = { legit: new Map() as ScoreCounts, attack: new Map() as ScoreCounts };
  private readonly timeline = new Map<number, TimelineBucket>();

  constructor(private readonly window: MeasureWindow) {}

  add(ev: LoginEvent, v: Verdict, counted: boolean): void {
    this.replayed++;
    const hour = Math.floor(ev.time / HOUR_MS) * HOUR_MS;
    let bucket = this.timeline.get(hour);
    if (!bucket) this.timeline.set(hour, (bucket = { allow: 0, challenge: 0, block: 0, failureAllow: 0, failureBlock: 0 }));
    const success = ev.outcome === 'success';
    if (success) bucket[v.action]++;
    else if (v.action === 'block') bucket.failureBlock++;
    else bucket.failureAllow++;
    if (!counted) return;

    let label = this.labels.get(ev.label);
    if (!label) this.labels.set(ev.label, (label = { label: ev.label, logins: 0, allow: 0, challenge: 0, block: 0, failures: 0, failuresBlocked: 0 }));
    if (success) {
      this.logins[v.action]++;
      label.logins++;
      label[v.action]++;
      const scores = ev.label === LEGIT ? this.scores.legit : this.scores.attack;
      let s = scores.get(v.score);
      if (!s) scores.set(v.score, (s = { free: 0, forced: 0 }));
      if (v.forced) s.forced++;
      else s.free++;
    } else {
      const blocked = v.action === 'block';
      this.failures[blocked ? 'block' : 'allow']++;
      label.failures++;
      if (blocked) label.failuresBlocked++;
    }
    const fired: (keyof RuleCounts)[] = success ? ['fired'] : ['firedOnFailures'];
    if (success ? v.action !== 'allow' : v.action === 'block') fired.push(success ? 'steppedUp' : 'blockedFailures');
    const decided: (keyof RuleCounts)[] = [success ? 'decided' : 'decidedOnFailures'];
    for (const id of v.fired) this.count(id, false, ev.label, fired);
    for (const id of v.decisive) this.count(id, false, ev.label, decided);
    for (const id of v.shadow) this.count(id, true, ev.label, fired);
  }

  private count(id: string, shadow: boolean, label: string, what: readonly (keyof RuleCounts)[]): void {
    let r = this.rules.get(id);
    if (!r) this.rules.set(id, (r = { shadow, ...noCounts(), byLabel: new Map() }));
    let l = r.byLabel.get(label);
    if (!l) r.byLabel.set(label, (l = noCounts()));
    for (const w of what) {
      r[w]++;
      l[w]++;
    }
  }

  summary(rules: Summary['rules']): Summary {
    const labels = [...this.labels.values()].sort((a, b) => byLabelOrder(a.label, b.label));
    const attacks = labels.filter((l) => l.label !== LEGIT);
    const legit = labels.find((l) => l.label === LEGIT);
    const caught = (l: LabelSummary) => l.challenge + l.block;
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    const counted = labels.reduce((n, l) => n + l.logins + l.failures, 0);
    return {
      rules,
      events: {
        replayed: this.replayed,
        counted,
        logins: labels.reduce((n, l) => n + l.logins, 0),
        failures: labels.reduce((n, l) => n + l.failures, 0),
        first: iso(this.window.first),
        last: iso(this.window.last),
        countedFrom: iso(this.window.countFrom),
      },
      actions: { logins: { ...this.logins }, failures: { ...this.failures } },
      ruleHits: [...this.rules]
        .map(([id, { byLabel, ...r }]) => ({ id, ...r, byLabel: Object.fromEntries([...byLabel].sort(([a], [b]) => byLabelOrder(a, b))) }))
        .sort((a, b) => b.fired + b.firedOnFailures - (a.fired + a.firedOnFailures) || a.id.localeCompare(b.id)),
      labels,
      friction: rate(legit ? caught(legit) : 0, legit?.logins ?? 0),
      catch: {
        ...rate(
          attacks.reduce((n, l) => n + caught(l), 0),
          attacks.reduce((n, l) => n + l.logins, 0),
        ),
        byKind: Object.fromEntries(attacks.map((l) => [l.label, rate(caught(l), l.logins)])),
      },
      failuresBlocked: Object.fromEntries(labels.map((l) => [l.label, rate(l.failuresBlocked, l.failures)])),
    };
  }

  charts(): ChartData {
    return { scores: this.scores, timeline: this.timeline };
  }
}

/**
 * Friction and catch rate if the challenge threshold were `t` (block threshold and forced
 * actions unchanged), from the counted scores. It holds the replay's learning fixed: a lower
 * threshold would also have taught profiles less, so the curve is an estimate around the
 * replayed threshold, exact at it.
 */
export function atThreshold(scores: ChartData['scores'], t: number, block: number): { friction: number | null; catch: number | null } {
  const share = (m: ScoreCounts) => {
    let up = 0;
    let all = 0;
    for (const [score, c] of m) {
      all += c.free + c.forced;
      up += c.forced + (score >= Math.min(t, block) ? c.free : 0);
    }
    return all ? up / all : null;
  };
  return { friction: share(scores.legit), catch: share(scores.attack) };
}
