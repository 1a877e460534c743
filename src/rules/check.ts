import { showDiagnostic, type CommandOutput } from '../command.js';
import { compileDir } from './compile.js';
import { normalizeDiagnostics } from './diagnostics.js';
import { coverageDiagnostics, readTestSuites } from './suite.js';

/** `riskgate rules check`: every problem of the rules and their tests, as file:line:col: CODE message. */
export async function rulesCheck(dir: string): Promise<CommandOutput> {
  const { rules, diagnostics } = await compileDir(dir);
  const tests = diagnostics.some((d) => d.code === 'RG104') ? { suites: [], diagnostics: [] } : await readTestSuites(dir, rules);
  const all = normalizeDiagnostics([...diagnostics, ...tests.diagnostics, ...(rules ? coverageDiagnostics(rules, tests.suites) : [])]);
  if (all.length) return { code: 1, stdout: all.map(showDiagnostic), stderr: [`${all.length} problem${all.length === 1 ? '' : 's'}`] };
  return { code: 0, stdout: [], stderr: [`ok: ${rules!.rules.length} rules, ${rules!.lists.length} lists in ${rules!.files.length} files; version ${rules!.version}`] };
}
