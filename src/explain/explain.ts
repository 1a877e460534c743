import type { Evaluation } from '../rules/evaluate.js';
import type { RuleSet } from '../rules/ruleset.js';
import { signalPaths, type Signals } from '../signals/schema.js';

/** Every signal as a path and its value, in the schema's order (lists last). */
export function signalValues(signals: Signals): [string, unknown][] {
  return Object.entries(signals).flatMap(([family, fields]) => Object.entries(fields as Record<string, unknown>).map(([name, v]): [string, unknown] => [`${family}.${name}`, v]));
}

/** A value as a condition would write it: strings quoted, numbers and bools bare. */
export function showValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** One line per signal, `path  value`, the values aligned. */
export function signalLines(signals: Signals): string[] {
  const values = signalValues(signals);
  const width = Math.max(...values.map(([p]) => p.length));
  return values.map(([p, v]) => `${p.padEnd(width)}  ${showValue(v)}`);
}

export type RuleOutcome = 'fired' | 'shadow' | 'not fired' | 'error';

/** What one rule made of the login: its outcome, and the values of the signals its condition reads. */
export interface RuleResult {
  id: string;
  outcome: RuleOutcome;
  /** Points it added (fired), or would add (shadow); 0 otherwise. */
  points: number;
  /** The reason message when it fired; the error when its condition failed. */
  message: string | null;
  when: string;
  reads: Record<string, unknown>;
}

/** Every rule of the set, in order, with its outcome for one evaluation. */
export function ruleResults(rules: RuleSet, evaluation: Evaluation, signals: Signals): RuleResult[] {
  const paths = signalPaths(rules.lists.map((l) => l.name));
  const values = new Map(signalValues(signals));
  const hits = new Map(evaluation.hits.map((h) => [h.rule.id, h]));
  const shadow = new Map(evaluation.shadow.map((h) => [h.rule.id, h]));
  const errors = new Map(evaluation.errors.map((e) => [e.rule, e.message]));
  return rules.rules.map((r) => {
    const reads: Record<string, unknown> = {};
    for (const [path] of r.when.matchAll(/\b[a-z_]+\.[a-z0-9_]+\b/g)) if (paths.has(path)) reads[path] = values.get(path);
    const hit = hits.get(r.id) ?? shadow.get(r.id);
    const error = errors.get(r.id);
    const outcome: RuleOutcome = hits.has(r.id) ? 'fired' : shadow.has(r.id) ? 'shadow' : error !== undefined ? 'error' : 'not fired';
    return { id: r.id, outcome, points: hit?.points ?? 0, message: hit?.message ?? error ?? null, when: r.when, reads };
  });
}

/** The rule results as text: one line per rule, then its condition and the values it read. */
export function ruleLines(results: readonly RuleResult[]): string[] {
  const width = Math.max(...results.map((r) => r.id.length));
  return results.flatMap((r) => {
    const points = r.outcome === 'fired' || r.outcome === 'shadow' ? `+${r.points}` : '';
    const head = `${r.outcome.toUpperCase().padEnd(9)} ${r.id.padEnd(width)} ${points.padStart(4)}${r.message ? `  ${r.message}` : ''}`;
    const reads = Object.entries(r.reads).map(([p, v]) => `${p}=${showValue(v)}`);
    return [head.trimEnd(), `          when ${r.when}`, ...(reads.length ? [`          with ${reads.join(' ')}`] : [])];
  });
}
