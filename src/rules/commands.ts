import { relative } from 'node:path';
import { compileRuleSet, readRuleSources } from './compile.js';
import { formatDiagnostic, normalizeDiagnostics, RuleSetError, type Diagnostic } from './diagnostics.js';
import type { RuleSet } from './ruleset.js';
import { coverageDiagnostics, readTestSuites, runSuites } from './testing.js';

/** What a command prints and its exit code; the CLI writes it out, tests read it. */
export interface CommandOutput {
  code: number;
  stdout: string[];
  stderr: string[];
}

const rel = (file: string) => relative(process.cwd(), file) || file;
const show = (d: Diagnostic) => formatDiagnostic({ ...d, file: rel(d.file) });

async function compile(dir: string): Promise<{ rules: RuleSet | null; diagnostics: Diagnostic[] }> {
  const { sources, diagnostics } = await readRuleSources(dir);
  if (diagnostics.length) return { rules: null, diagnostics };
  try {
    return { rules: compileRuleSet(dir, sources), diagnostics: [] };
  } catch (e) {
    if (e instanceof RuleSetError) return { rules: null, diagnostics: e.diagnostics };
    throw e;
  }
}

/** `riskgate rules check`: every problem of the rules and their tests, as file:line:col: CODE message. */
export async function rulesCheck(dir: string): Promise<CommandOutput> {
  const { rules, diagnostics } = await compile(dir);
  const tests = diagnostics.some((d) => d.code === 'RG104') ? { suites: [], diagnostics: [] } : await readTestSuites(dir, rules);
  const all = normalizeDiagnostics([...diagnostics, ...tests.diagnostics, ...(rules ? coverageDiagnostics(rules, tests.suites) : [])]);
  if (all.length) return { code: 1, stdout: all.map(show), stderr: [`${all.length} problem${all.length === 1 ? '' : 's'}`] };
  return { code: 0, stdout: [], stderr: [`ok: ${rules!.rules.length} rules, ${rules!.lists.length} lists in ${rules!.files.length} files; version ${rules!.version}`] };
}

/** `riskgate rules test`: runs the *_test.yaml suites through the engine. */
export async function rulesTest(dir: string): Promise<CommandOutput> {
  const { rules, diagnostics } = await compile(dir);
  const tests = rules ? await readTestSuites(dir, rules) : { suites: [], diagnostics: [] };
  const problems = normalizeDiagnostics([...diagnostics, ...tests.diagnostics]);
  if (problems.length || !rules) return { code: 1, stdout: problems.map(show), stderr: [`${problems.length} problem(s); no test was run`] };
  const results = await runSuites(rules, tests.suites);
  const stdout: string[] = [];
  let failed = 0;
  for (const r of results) {
    const where = `${rel(r.file)}:${r.line}:${r.col}`;
    if (r.passed) stdout.push(`ok   ${where} ${r.name}`);
    else {
      failed++;
      stdout.push(`FAIL ${where}: RG302 ${r.name}`, ...r.problems.map((p) => `       ${p}`));
    }
  }
  return { code: failed ? 1 : 0, stdout, stderr: [`${results.length - failed} passed, ${failed} failed (${results.length} tests, rules ${rules.version})`] };
}
