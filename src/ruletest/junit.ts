import { relative } from 'node:path';
import { showDiagnostic } from '../command.js';
import type { Diagnostic } from '../rules/diagnostics.js';
import type { TestResult } from './run.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text fit for an XML attribute or element: markup escaped, and the characters XML 1.0 cannot hold at all dropped. */
function xml(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function testcase(r: TestResult, file: string): string {
  const head = `    <testcase name="${xml(r.name)}" classname="${xml(file)}" file="${xml(file)}" line="${r.line}" time="${seconds(r.ms)}"`;
  if (r.passed) return `${head}/>`;
  return `${head}>\n      <failure type="RG302" message="${xml(r.problems[0] ?? 'failed')}">${xml(r.problems.join('\n'))}</failure>\n    </testcase>`;
}

/**
 * `rules test --reporter junit`: the results as JUnit XML (the Ant/Jenkins/GitLab form), one
 * testsuite per test file. Problems that stopped the run (rules or tests that do not check)
 * are one testsuite of errors, so CI shows them too.
 */
export function junitReport(results: readonly TestResult[], problems: readonly Diagnostic[]): string {
  const files = new Map<string, TestResult[]>();
  for (const r of results) {
    const file = relative(process.cwd(), r.file) || r.file;
    files.set(file, [...(files.get(file) ?? []), r]);
  }
  const suites = [...files].map(([file, rs]) => {
    const failures = rs.filter((r) => !r.passed).length;
    const time = rs.reduce((t, r) => t + r.ms, 0);
    return [`  <testsuite name="${xml(file)}" tests="${rs.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(time)}">`, ...rs.map((r) => testcase(r, file)), '  </testsuite>'].join('\n');
  });
  if (problems.length) {
    const cases = problems.map((d) => {
      const where = `${relative(process.cwd(), d.file) || d.file}:${d.line}:${d.col}`;
      return `    <testcase name="${xml(where)}" classname="riskgate rules check">\n      <error type="${d.code}" message="${xml(d.message)}">${xml(showDiagnostic(d))}</error>\n    </testcase>`;
    });
    suites.push([`  <testsuite name="riskgate rules check" tests="${problems.length}" failures="0" errors="${problems.length}" skipped="0" time="0.000">`, ...cases, '  </testsuite>'].join('\n'));
  }
  const tests = results.length + problems.length;
  const failures = results.filter((r) => !r.passed).length;
  const time = results.reduce((t, r) => t + r.ms, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="riskgate rules test" tests="${tests}" failures="${failures}" errors="${problems.length}" time="${seconds(time)}">`,
    ...suites,
    '</testsuites>',
  ].join('\n');
}
