import { relative } from 'node:path';
import { showDiagnostic, type CommandOutput } from '../command.js';
import { compileDir } from '../rules/compile.js';
import { normalizeDiagnostics } from '../rules/diagnostics.js';
import { readTestSuites } from '../rules/suite.js';
import { runSuites } from './run.js';

/** `riskgate rules test`: runs the *_test.yaml suites through the engine, once the rules and tests check clean. */
export async function rulesTest(dir: string): Promise<CommandOutput> {
  const { rules, diagnostics } = await compileDir(dir);
  const tests = rules ? await readTestSuites(dir, rules) : { suites: [], diagnostics: [] };
  const problems = normalizeDiagnostics([...diagnostics, ...tests.diagnostics]);
  if (problems.length || !rules) return { code: 1, stdout: problems.map(showDiagnostic), stderr: [`${problems.length} problem(s); no test was run`] };
  const results = await runSuites(rules, tests.suites);
  const stdout: string[] = [];
  let failed = 0;
  for (const r of results) {
    const where = `${relative(process.cwd(), r.file) || r.file}:${r.line}:${r.col}`;
    if (r.passed) stdout.push(`ok   ${where} ${r.name}`);
    else {
      failed++;
      stdout.push(`FAIL ${where}: RG302 ${r.name}`, ...r.problems.map((p) => `       ${p}`));
    }
  }
  return { code: failed ? 1 : 0, stdout, stderr: [`${results.length - failed} passed, ${failed} failed (${results.length} tests, rules ${rules.version})`] };
}
