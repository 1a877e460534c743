import { parseDuration } from '../duration.js';
import { offlineEngine } from '../offline.js';
import { Population } from '../signals/familiarity.js';
import type { RuleSet } from '../rules/ruleset.js';
import { parseTime, type FailureDoc, type LoginDoc, type TestSuite } from '../rules/suite.js';
import type { Signals } from '../signals/schema.js';
import type { Action, LoginAttempt, LoginFailure } from '../types.js';

export interface TestResult {
  file: string;
  line: number;
  col: number;
  name: string;
  passed: boolean;
  /** Why it failed. */
  problems: string[];
  /** The signals the tested login or failure was judged on (null when the test broke before). */
  signals: Signals | null;
  /** How long the test took. */
  ms: number;
}

/**
 * Runs checked rule tests (src/rules/suite.ts), each through the engine on a fresh offline
 * state, exactly as the server would decide.
 */
export async function runSuites(rules: RuleSet, suites: readonly TestSuite[]): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const suite of suites) {
    for (let i = 0; i < suite.tests.length; i++) results.push(await runTest(rules, suite, i));
  }
  return results;
}

async function runTest(rules: RuleSet, suite: TestSuite, index: number): Promise<TestResult> {
  const t = suite.tests[index]!;
  const pos = suite.source.position(['tests', index, 'name']);
  const started = performance.now();
  const result: TestResult = { file: suite.source.file, ...pos, name: t.name, passed: false, problems: [], signals: null, ms: 0 };
  const now = parseTime(t.now ?? suite.now ?? '', null)!;
  let clock = now;
  // A test's history is a few hundred logins at most: its familiarity counts from the first (the server's waits for POPULATION_MIN_LOGINS).
  const offline = offlineEngine({ rules, clock: () => clock, population: new Population(0) });
  const { engine } = offline;
  const user = t.user ?? 'test-user';
  const failure = (f: FailureDoc): LoginFailure => ({ ...f, userId: f.userId ?? user });
  const login = async ({ trusted, keyed, ...l }: LoginDoc): Promise<LoginAttempt> => {
    const attempt: LoginAttempt = { ...l, userId: l.userId ?? user };
    // `keyed: true`: the device holds a device-bound key (simulated: only recorded outcomes prove it).
    if (keyed && attempt.deviceId) await engine.registerDeviceKey(attempt.userId, attempt.deviceId, null);
    // `trusted: true`: a token as a verified challenge with "trust this device" would have issued, under the runner's own keys.
    if (trusted) attempt.trustToken = (await offline.trust.issue(attempt.userId, attempt.deviceId!, 'rule test', attempt.ip, clock)).token;
    return attempt;
  };
  try {
    const events: { time: number; order: number; run: () => Promise<unknown> }[] = [];
    (t.history ?? []).forEach((h, j) => {
      const start = parseTime(h.at, now)!;
      const step = h.every ? parseDuration(h.every)! : 0;
      for (let k = 0; k < (h.repeat ?? 1); k++) {
        const time = start + k * step;
        const run = h.login
          ? async () => engine.teach(await login(h.login!))
          : h.wrongCode
            ? () => offline.wrongCode(h.wrongCode!.userId ?? user, time)
            : () => engine.recordFailure(failure(h.failure!));
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
      const d = await engine.decide(await login(t.login));
      ({ action, score } = d);
      fired = d.reasons.map((r) => r.rule);
      shadow = d.shadow.map((r) => r.rule);
      result.signals = d.signals;
    } else {
      const f = await engine.recordFailure(failure(t.failure!));
      action = f.blocked ? 'block' : 'allow';
      score = f.score;
      fired = f.reasons.map((r) => r.rule);
      shadow = [];
      result.signals = f.signals;
    }
    const e = t.expect;
    if (action !== e.action) result.problems.push(`expected action ${e.action}, got ${action}`);
    if (e.score !== undefined && score !== e.score) result.problems.push(`expected score ${e.score}, got ${score}`);
    if (e.fired) {
      const diff = setDiff(e.fired, fired);
      if (diff) result.problems.push(`fired rules: ${diff}`);
    }
    const missing = (e.includes ?? []).filter((id) => !fired.includes(id));
    if (missing.length) result.problems.push(`includes: expected to fire but did not: ${missing.join(', ')}`);
    const unwanted = (e.excludes ?? []).filter((id) => fired.includes(id));
    if (unwanted.length) result.problems.push(`excludes: fired but excluded: ${unwanted.join(', ')}`);
    if (e.shadow !== undefined) {
      const sd = setDiff(e.shadow, shadow);
      if (sd) result.problems.push(`shadow rules: ${sd}`);
    }
    if (result.problems.length) result.problems.push(`(score ${score}, fired: ${fired.join(', ') || 'none'})`);
    result.passed = result.problems.length === 0;
  } catch (err) {
    result.problems.push(`error: ${(err as Error).message}`);
  } finally {
    await offline.close();
    result.ms = performance.now() - started;
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
