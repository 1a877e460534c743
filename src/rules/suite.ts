import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDuration } from '../duration.js';
import { TEST_FILE } from './compile.js';
import type { Diagnostic } from './diagnostics.js';
import type { RuleSet } from './ruleset.js';
import { YamlSource } from './source.js';
import { TestCaseSchema, TestFileOutline, type TestCaseDoc } from './test-format.js';
export type { FailureDoc, LoginDoc, TestCaseDoc } from './test-format.js';
import { validateAgainst } from './validate.js';

/**
 * Rule tests (`*_test.yaml` beside the rules): a pinned clock, a history of logins and
 * failures, one login or failure, and the expected action, score and rules that fire (exactly,
 * or some that must and some that must not). This is
 * their format and its checks (`riskgate rules check`); src/ruletest runs them through the
 * engine (`riskgate rules test`).
 */

export interface TestSuite {
  source: YamlSource;
  now?: string | undefined;
  tests: TestCaseDoc[];
}

/** An ISO time, or a duration relative to `now`. */
export function parseTime(text: string, now: number | null): number | null {
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
        if ((h.login ? 1 : 0) + (h.failure ? 1 : 0) + (h.wrongCode ? 1 : 0) !== 1) diagnostics.push(src.diag(at('history', j), 'RG301', 'a history item needs exactly one of "login", "failure" or "wrongCode"'));
        if (parseTime(h.at, 0) === null) diagnostics.push(src.diag(at('history', j, 'at'), 'RG301', `"${h.at}" is neither an ISO time nor a duration like -30d`));
        if (h.every !== undefined && parseDuration(h.every) === null) diagnostics.push(src.diag(at('history', j, 'every'), 'RG301', `"${h.every}" is not a duration like 1d`));
        if ((h.repeat ?? 1) > 1 && h.every === undefined) diagnostics.push(src.diag(at('history', j), 'RG301', '"repeat" needs "every"'));
        if (h.login?.trusted !== undefined || h.login?.trustToken !== undefined) {
          diagnostics.push(src.diag(at('history', j, 'login'), 'RG301', 'a history login only teaches the profile: "trusted" and "trustToken" belong on the tested login'));
        }
      });
      if (t.login?.trusted && t.login.trustToken !== undefined) diagnostics.push(src.diag(at('login', 'trusted'), 'RG301', 'give "trusted" or "trustToken", not both'));
      if (t.login?.trusted && !t.login.deviceId) diagnostics.push(src.diag(at('login', 'trusted'), 'RG301', '"trusted" needs a "deviceId": a trust token is bound to its device'));
      const e = t.expect;
      if (e.fired && (e.includes || e.excludes)) diagnostics.push(src.diag(at('expect', 'fired'), 'RG301', 'give "fired" (exactly these rules) or "includes"/"excludes", not both'));
      (e.excludes ?? []).forEach((id, j) => {
        if (e.includes?.includes(id)) diagnostics.push(src.diag(at('expect', 'excludes', j), 'RG301', `rule "${id}" is both included and excluded`));
      });
      if (rules) {
        for (const key of ['fired', 'includes', 'excludes', 'shadow'] as const) {
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
  for (const s of suites) for (const t of s.tests) for (const id of [...(t.expect.fired ?? []), ...(t.expect.includes ?? []), ...(t.expect.shadow ?? [])]) shown.add(id);
  return rules.rules
    .filter((r) => !shown.has(r.id))
    .map((r) => ({ file: r.file, line: r.line, col: r.col, code: 'RG300' as const, message: `rule "${r.id}" has no test that shows it firing` }));
}

