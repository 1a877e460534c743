import type { Signals } from '../signals/schema.js';
import { maxAction, type Action, type Reason } from '../types.js';
import type { CompiledRule, RuleSet, Thresholds } from './ruleset.js';

export interface Hit {
  rule: CompiledRule;
  /** Points it added: 0 for a non-standalone rule that fired alone. */
  points: number;
  message: string;
}

export interface Evaluation {
  score: number;
  action: Action;
  /** Enforcing rules that fired, in rule order. */
  hits: Hit[];
  /** Shadow rules that fired: reported and counted in metrics, never scored. */
  shadow: Hit[];
  /** Rules whose condition failed at run time (counted as not fired). */
  errors: { rule: string; message: string }[];
}

/** The decision table: the one place where a score becomes an action. */
export function actionForScore(score: number, t: Thresholds): Action {
  if (score >= t.block) return 'block';
  if (score >= t.challenge) return 'challenge';
  return 'allow';
}

function decide(hits: readonly { rule: CompiledRule }[], t: Thresholds): { score: number; action: Action; points: number[] } {
  const anchored = hits.some((h) => h.rule.standalone && h.rule.points > 0);
  const points = hits.map((h) => (h.rule.standalone || anchored ? h.rule.points : 0));
  const score = points.reduce((a, b) => a + b, 0);
  let action = actionForScore(score, t);
  for (const h of hits) if (h.rule.force) action = maxAction(action, h.rule.force);
  return { score, action, points };
}

export function evaluate(rs: RuleSet, signals: Signals): Evaluation {
  const ctx = rs.context(signals);
  const fired: CompiledRule[] = [];
  const shadowFired: CompiledRule[] = [];
  const errors: Evaluation['errors'] = [];
  for (const rule of rs.rules) {
    let result: unknown;
    try {
      result = rule.condition(ctx);
    } catch (e) {
      errors.push({ rule: rule.id, message: (e as Error).message.split('\n')[0] ?? 'evaluation error' });
      continue;
    }
    if (result === true) (rule.shadow ? shadowFired : fired).push(rule);
  }
  const { score, action, points } = decide(fired.map((rule) => ({ rule })), rs.thresholds);
  return {
    score,
    action,
    hits: fired.map((rule, i) => ({ rule, points: points[i]!, message: rule.message(ctx) })),
    shadow: shadowFired.map((rule) => ({ rule, points: rule.points, message: rule.message(ctx) })),
    errors,
  };
}

export function reasonsOf(e: Evaluation): Reason[] {
  return e.hits.map((h) => ({ rule: h.rule.id, points: h.points, message: h.message }));
}

/** Rules that decided the outcome: without any one of them, the action would have been lower. */
export function decisiveRules(e: Evaluation, t: Thresholds): string[] {
  if (e.action === 'allow') return [];
  const out: string[] = [];
  for (const h of e.hits) {
    const rest = e.hits.filter((x) => x !== h);
    if (decide(rest, t).action !== e.action) out.push(h.rule.id);
  }
  return out;
}
