/**
 * Problems found in rule files and rule tests. Every problem carries a stable code (listed,
 * with an explanation, in docs/rules.md; a test fails when one is missing there) and a
 * position, and all of them are reported at once, sorted, without duplicates.
 */

export const DIAGNOSTIC_CODES = {
  RG100: 'The file is not valid YAML.',
  RG101: 'A required field is missing.',
  RG102: 'A field is not one the format knows (often a typo).',
  RG103: 'A field has the wrong type or an invalid value.',
  RG104: 'The rules directory cannot be read, or holds no rule file.',
  RG110: 'Two rules share an id.',
  RG111: 'A rule reuses an id that the policy lists as retired. Ids are never reused.',
  RG120: 'A rule names a severity the policy does not define.',
  RG130: 'Two lists share a name.',
  RG131: 'A list value is not valid for what the list matches (e.g. a CIDR that does not parse).',
  RG140: 'The policy (severities and decision thresholds) is missing, or defined more than once.',
  RG141: 'The decision thresholds are inconsistent (block must be above challenge).',
  RG200: 'A condition is not valid CEL.',
  RG201: 'A condition does not type-check against the signal schema (unknown signal, wrong types).',
  RG202: 'A condition does not evaluate to a bool.',
  RG210: 'A message template names a signal that does not exist.',
  RG300: 'A rule has no test that shows it firing.',
  RG301: 'A rule test is malformed (bad time, unknown rule id, missing expectation).',
  RG302: 'A rule test failed: the engine did not give the expected answer.',
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  code: DiagnosticCode;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.code} ${d.message}`;
}

/** Sorted by file, line, column and code; exact duplicates removed. */
export function normalizeDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of list) {
    const key = formatDiagnostic(d);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.code.localeCompare(b.code));
}

/** A rule set that cannot be used, with every reason why. */
export class RuleSetError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    const sorted = normalizeDiagnostics(diagnostics);
    super(`rule set refused: ${sorted.length} problem${sorted.length === 1 ? '' : 's'}\n${sorted.map(formatDiagnostic).join('\n')}`);
    this.name = 'RuleSetError';
    this.diagnostics = sorted;
  }
}
