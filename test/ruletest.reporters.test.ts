import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rulesTest } from '../src/ruletest/command.js';
import { RULES_DIR } from './helpers.js';

const XMLLINT = spawnSync('xmllint', ['--version']).status === 0;

/** The policy and user rules only, with one passing and one failing test whose names need escaping. */
async function smallRules(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'riskgate-rules-'));
  for (const f of ['policy.yaml', 'user.yaml']) await cp(join(RULES_DIR, f), join(dir, f));
  await writeFile(
    join(dir, 'user_test.yaml'),
    `now: "2026-03-20T08:30:00Z"
tests:
  - name: a first login <is> "allowed" & says why
    login: { ip: 81.167.144.58, deviceId: d-1 }
    expect: { action: allow, includes: [user.first_login] }
  - name: a first login is blocked
    login: { ip: 81.167.144.58, deviceId: d-1 }
    expect: { action: block, includes: [user.first_login] }
`,
  );
  return dir;
}

describe('riskgate rules test --verbose', () => {
  it('prints the signals of a failing test, and only of those', async () => {
    const out = await rulesTest(await smallRules(), { verbose: true });
    expect(out.code).toBe(1);
    const at = out.stdout.findIndex((l) => l.startsWith('FAIL'));
    expect(out.stdout.slice(0, at).every((l) => l.startsWith('ok '))).toBe(true);
    expect(out.stdout[at + 1]!.trim()).toBe('expected action block, got allow');
    const signals = out.stdout.slice(out.stdout.indexOf('       signals:') + 1).map((l) => l.trim());
    expect(signals).toEqual(expect.arrayContaining([expect.stringMatching(/^request\.ip +"81\.167\.144\.58"$/), expect.stringMatching(/^user\.known +false$/), expect.stringMatching(/^geo\.country +"NO"$/)]));
    expect(signals.length).toBeGreaterThan(40);
  });
});

describe('riskgate rules test --reporter junit', () => {
  it('writes JUnit XML: a testsuite per file, a failure per failing test, names escaped', async () => {
    const dir = await smallRules();
    const out = await rulesTest(dir, { reporter: 'junit' });
    expect(out.code).toBe(1);
    const xml = out.stdout.join('\n').replace(/time="[\d.]+"/g, 'time="T"');
    const file = relative(process.cwd(), join(dir, 'user_test.yaml'));
    expect(xml).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="riskgate rules test" tests="2" failures="1" errors="0" time="T">
  <testsuite name="${file}" tests="2" failures="1" errors="0" skipped="0" time="T">
    <testcase name="a first login &lt;is&gt; &quot;allowed&quot; &amp; says why" classname="${file}" file="${file}" line="3" time="T"/>
    <testcase name="a first login is blocked" classname="${file}" file="${file}" line="6" time="T">
      <failure type="RG302" message="expected action block, got allow">expected action block, got allow
(score 0, fired: user.first_login)</failure>
    </testcase>
  </testsuite>
</testsuites>`);
  });

  it('reports rules that do not compile as errors', async () => {
    const dir = await smallRules();
    await writeFile(join(dir, 'bad.yaml'), 'rules:\n  - id: bad.one\n    severity: low\n    when: device.nwe\n    message: x\n');
    const out = await rulesTest(dir, { reporter: 'junit' });
    expect(out.code).toBe(1);
    const xml = out.stdout.join('\n');
    expect(xml).toContain('<testsuite name="riskgate rules check" tests="1" failures="0" errors="1"');
    expect(xml).toContain('<error type="RG201" message="condition: No such key: nwe; did you mean &quot;device.new&quot;?">');
  });

  it.skipIf(!XMLLINT)(XMLLINT ? 'is well-formed XML (xmllint)' : 'is well-formed XML (skipped: xmllint is not installed; apt-get install libxml2-utils)', async () => {
    for (const dir of [await smallRules(), RULES_DIR]) {
      const xml = (await rulesTest(dir, { reporter: 'junit' })).stdout.join('\n');
      const lint = spawnSync('xmllint', ['--noout', '-'], { input: xml, encoding: 'utf8' });
      expect(lint.stderr).toBe('');
      expect(lint.status).toBe(0);
    }
  });
});
