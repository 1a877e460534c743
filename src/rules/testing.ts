import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine } from '../engine/engine.js';
import { SqliteStore } from '../store/sqlite.js';
import type { GeoLookup } from '../signals/geoip.js';
import type { Action } from '../types.js';
import { TEST_FILE } from './compile.js';
import type { Diagnostic } from './diagnostics.js';
import type { RuleSet } from './ruleset.js';
import { YamlSource } from './source.js';
import { TestCaseSchema, TestFileOutline, type AttemptDoc, type TestCaseDoc } from './test-format.js';
import { validateAgainst } from './validate.js';

/**
 * Rule tests (`*_test.yaml` beside the rules): a pinned clock, a history of logins and
 * failures, one login or failure, and the expected action, score and fired rules. They run
 * through the real engine on an in-memory store, exactly as the server would decide.
 */

export interface TestSuite {
  source: YamlSource;
  now?: string | undefined;
  tests: TestCaseDoc[];
}

export interface TestResult {
  file: string;
  line: number;
  col: number;
  name: string;
  passed: boolean;
  /** Why it failed. */
  problems: string[];
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "-30d", "15m", "2h"... as milliseconds, or null. */
export function parseDuration(text: string): number | null {
  const m = /^([+-]?)(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * Number(m[2]) * UNITS[m[3]!]!;
}

/** An ISO time, or a duration relative to `now`. */
function parseTime(text: string, now: number | null): number | null {
  const rel = parseDuration(text);
  if (rel !== null) return now === null ? null : now + rel;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

/** Reads and checks the test files of a directory; problems come back as diagnostics. */
export async function readTestSuites(dir: string, rules: RuleSet | null): Promise<{ suites: TestSuite[]; diagnostics: Diagnostic[] }> {
  const names = (await readdir(dir)).filter((n) => TEST_FILE.test(n)).sort();
  const suites: TestSuite[] = [];
  const diagnostics: Diagnostic[] = [];
  const ruleIds = new Set(rules?.rules.map((r) => r.id) ?? []);
  for (const n of names) {
    const src = new YamlSource(join(dir, n), await readFile(join(dir, n), 'utf8'));
    diagnostics.push(...src.diagnostics);
    if (src.data === undefined) continue;
    const problems = validateAgainst(src, TestFileOutline, src.data ?? {});
    diagnostics.push(...problems);
    if (problems.length) continue;
    const raw = src.data as { now?: string; tests: unknown[] };
    // Each test is checked on its own: one malformed test hides no other problem.
    const valid = raw.tests.map((t, i) => {
      const p = validateAgainst(src, TestCaseSchema, t, ['tests', i]);
      diagnostics.push(...p);
      return p.length === 0;
    });
    const doc = { now: raw.now, tests: raw.tests as TestCaseDoc[] };
    const fileNow = doc.now === undefined ? null : parseTime(doc.now, null);
    if (doc.now !== undefined && fileNow === null) diagnostics.push(src.diag(['now'], 'RG301', `"${doc.now}" is not an ISO time`));
    doc.tests.forEach((t, i) => {
      if (!valid[i]) return;
      const at = (...p: (string | number)[]) => ['tests', i, ...p];
      const now = t.now === undefined ? fileNow : parseTime(t.now, null);
      if (t.now !== undefined && now === null) diagnostics.push(src.diag(at('now'), 'RG301', `"${t.now}" is not an ISO time`));
      if (now === null && t.now === undefined && doc.now === undefined) diagnostics.push(src.diag(at('name'), 'RG301', `test "${t.name}" has no "now" (set it on the test or the file)`));
      if ((t.login ? 1 : 0) + (t.failure ? 1 : 0) !== 1) diagnostics.push(src.diag(at('name'), 'RG301', `test "${t.name}" needs exactly one of "login" or "failure"`));
      (t.history ?? []).forEach((h, j) => {
        if ((h.login ? 1 : 0) + (h.failure ? 1 : 0) !== 1) diagnostics.push(src.diag(at('history', j), 'RG301', 'a history item needs exactly one of "login" or "failure"'));
        if (parseTime(h.at, 0) === null) diagnostics.push(src.diag(at('history', j, 'at'), 'RG301', `"${h.at}" is neither an ISO time nor a duration like -30d`));
        if (h.every !== undefined && parseDuration(h.every) === null) diagnostics.push(src.diag(at('history', j, 'every'), 'RG301', `"${h.every}" is not a duration like 1d`));
        if ((h.repeat ?? 1) > 1 && h.every === undefined) diagnostics.push(src.diag(at('history', j), 'RG301', '"repeat" needs "every"'));
      });
      if (rules) {
        for (const key of ['fired', 'shadow'] as const) {
          (t.expect[key] ?? []).forEach((id, j) => {
            if (!ruleIds.has(id)) diagnostics.push(src.diag(at('expect', key, j), 'RG301', `unknown rule id "${id}"`));
          });
        }
      }
    });
    if (valid.every(Boolean)) suites.push({ source: src, now: doc.now, tests: doc.tests });
  }
  return { suites, diagnostics };
}

/** RG300: every rule must be shown firing by at least one test. */
export function coverageDiagnostics(rules: RuleSet, suites: readonly TestSuite[]): Diagnostic[] {
  const shown = new Set<string>();
  for (const s of suites) for (const t of s.tests) for (const id of [...t.expect.fired, ...(t.expect.shadow ?? [])]) shown.add(id);
  return rules.rules
    .filter((r) => !shown.has(r.id))
    .map((r) => ({ file: r.file, line: r.line, col: r.col, code: 'RG300' as const, message: `rule "${r.id}" has no test that shows it firing` }));
}

export async function runSuites(rules: RuleSet, suites: readonly TestSuite[], geo?: GeoLookup): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const suite of suites) {
    for (let i = 0; i < suite.tests.length; i++) results.push(await runTest(rules, suite, i, geo));
  }
  return results;
}

async function runTest(rules: RuleSet, suite: TestSuite, index: number, geo?: GeoLookup): Promise<TestResult> {
  const t = suite.tests[index]!;
  const pos = suite.source.position(['tests', index, 'name']);
  const result: TestResult = { file: suite.source.file, ...pos, name: t.name, passed: false, problems: [] };
  const now = parseTime(t.now ?? suite.now ?? '', null)!;
  let clock = now;
  const store = new SqliteStore({ path: ':memory:', ephemeral: true });
  const engine = new Engine({ store, rules: () => rules, clock: () => clock, ...(geo ? { geo } : {}) });
  const user = t.user ?? 'test-user';
  const withUser = (a: AttemptDoc) => ({ ...a, userId: a.userId ?? user });
  try {
    const events: { time: number; order: number; run: () => Promise<unknown> }[] = [];
    (t.history ?? []).forEach((h, j) => {
      const start = parseTime(h.at, now)!;
      const step = h.every ? parseDuration(h.every)! : 0;
      for (let k = 0; k < (h.repeat ?? 1); k++) {
        const time = start + k * step;
        const run = h.login ? () => engine.teach(withUser(h.login!)) : () => engine.recordFailure(withUser(h.failure!));
        events.push({ time, order: j, run });
      }
    });
    events.sort((a, b) => a.time - b.time || a.order - b.order);
    for (const e of events) {
      clock = e.time;
      await e.run();
    }
    clock = now;
    let action: Action;
    let score: number;
    let fired: string[];
    let shadow: string[];
    if (t.login) {
      const d = await engine.decide(withUser(t.login));
      ({ action, score } = d);
      fired = d.reasons.map((r) => r.rule);
      shadow = d.shadow.map((r) => r.rule);
    } else {
      const f = await engine.recordFailure(withUser(t.failure!));
      action = f.blocked ? 'block' : 'allow';
      score = f.score;
      fired = f.reasons.map((r) => r.rule);
      shadow = [];
    }
    const e = t.expect;
    if (action !== e.action) result.problems.push(`expected action ${e.action}, got ${action}`);
    if (e.score !== undefined && score !== e.score) result.problems.push(`expected score ${e.score}, got ${score}`);
    const diff = setDiff(e.fired, fired);
    if (diff) result.problems.push(`fired rules: ${diff}`);
    if (e.shadow !== undefined) {
      const sd = setDiff(e.shadow, shadow);
      if (sd) result.problems.push(`shadow rules: ${sd}`);
    }
    if (result.problems.length) result.problems.push(`(score ${score}, fired: ${fired.join(', ') || 'none'})`);
    result.passed = result.problems.length === 0;
  } catch (err) {
    result.problems.push(`error: ${(err as Error).message}`);
  } finally {
    await store.close();
  }
  return result;
}

function setDiff(expected: readonly string[], actual: readonly string[]): string | null {
  const missing = expected.filter((x) => !actual.includes(x));
  const extra = actual.filter((x) => !expected.includes(x));
  if (!missing.length && !extra.length) return null;
  return [missing.length ? `expected but did not fire: ${missing.join(', ')}` : '', extra.length ? `fired but not expected: ${extra.join(', ')}` : '']
    .filter(Boolean)
    .join('; ');
}
