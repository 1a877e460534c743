import { relative } from 'node:path';
import { showDiagnostic, type CommandOutput } from '../command.js';
import { signalLines } from '../explain/explain.js';
import { compileDir } from '../rules/compile.js';
import { normalizeDiagnostics } from '../rules/diagnostics.js';
import { readTestSuites } from '../rules/suite.js';
import { junitReport } from './junit.js';
import { runSuites } from './run.js';

export const REPORTERS = ['text', 'junit'] as const;
export type Reporter = (typeof REPORTERS)[number];

export interface RuleTestOptions {
  /** With each failing test, every signal the engine computed for it. */
  verbose?: boolean;
  /** text (default), or JUnit XML on stdout for CI systems. */
  reporter?: Reporter;
}

/** `riskgate rules test`: runs the *_test.yaml suites through the engine, once the rules and tests check clean. */
export async function rulesTest(dir: string, o: RuleTestOptions = {}): Promise<CommandOutput> {
  const { rules, diagnostics } = await compileDir(dir);
  const tests = rules ? await readTestSuites(dir, rules) : { suites: [], diagnostics: [] };
  const problems = normalizeDiagnostics([...diagnostics, ...tests.diagnostics]);
  if (problems.length || !rules) {
    const stderr = [`${problems.length} problem(s); no test was run`];
    return { code: 1, stdout: o.reporter === 'junit' ? [junitReport([], problems)] : problems.map(showDiagnostic), stderr };
  }
  const results = await runSuites(rules, tests.suites);
  const failed = results.filter((r) => !r.passed).length;
  const stderr = [`${results.length - failed} passed, ${failed} failed (${results.length} tests, rules ${rules.version})`];
  if (o.reporter === 'junit') return { code: failed ? 1 : 0, stdout: [junitReport(results, [])], stderr };
  const stdout: string[] = [];
  for (const r of results) {
    const where = `${relative(process.cwd(), r.file) || r.file}:${r.line}:${r.col}`;
    if (r.passed) stdout.push(`ok   ${where} ${r.name}`);
    else {
      stdout.push(`FAIL ${where}: RG302 ${r.name}`, ...r.problems.map((p) => `       ${p}`));
      if (o.verbose && r.signals) stdout.push('       signals:', ...signalLines(r.signals).map((l) => `         ${l}`));
    }
  }
  return { code: failed ? 1 : 0, stdout, stderr };
}
