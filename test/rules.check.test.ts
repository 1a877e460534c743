import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRuleSet } from '../src/rules/compile.js';
import { rulesCheck, rulesTest } from '../src/rules/commands.js';
import { RuleSetError } from '../src/rules/diagnostics.js';
import { RULES_DIR, copyRules } from './helpers.js';

const BROKEN = join('test', 'fixtures', 'rules-broken');

describe('riskgate rules check', () => {
  it('passes on the default rules', async () => {
    const out = await rulesCheck(RULES_DIR);
    expect(out.stdout).toEqual([]);
    expect(out.code).toBe(0);
    expect(out.stderr[0]).toMatch(/^ok: \d+ rules/);
  });

  it('reports every problem at once, sorted, as file:line:col: CODE message (golden)', async () => {
    const out = await rulesCheck(BROKEN);
    const expected = (await readFile(`${BROKEN}.expected.txt`, 'utf8')).trimEnd().split('\n');
    expect(out.code).toBe(1);
    expect(out.stdout).toEqual(expected);
    expect(new Set(out.stdout.map((l) => l.split(' ')[1]))).toEqual(
      new Set(['RG100', 'RG101', 'RG102', 'RG103', 'RG110', 'RG111', 'RG120', 'RG131', 'RG141', 'RG200', 'RG201', 'RG202', 'RG210', 'RG301']),
    );
  });

  it('flags a rule that no test shows firing', async () => {
    const dir = await copyRules();
    const geo = await readFile(join(dir, 'geo.yaml'), 'utf8');
    await writeFile(join(dir, 'geo.yaml'), `${geo}\n  - id: geo.untested\n    severity: low\n    when: geo.located\n    message: located\n`);
    const out = await rulesCheck(dir);
    expect(out.code).toBe(1);
    expect(out.stdout).toEqual([expect.stringMatching(/geo\.yaml:\d+:9: RG300 rule "geo.untested" has no test that shows it firing$/)]);
  });

  it('reports a missing rules directory', async () => {
    const out = await rulesCheck('/nonexistent/rules');
    expect(out.code).toBe(1);
    expect(out.stdout[0]).toMatch(/RG104 cannot read rules directory/);
  });

  it('refuses to load a broken set, listing all of it', async () => {
    const err = await loadRuleSet(BROKEN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleSetError);
    expect((err as RuleSetError).diagnostics.length).toBeGreaterThan(10);
  });
});

describe('riskgate rules test', () => {
  it('passes on the default rules', async () => {
    const out = await rulesTest(RULES_DIR);
    expect(out.code).toBe(0);
    expect(out.stdout.every((l) => l.startsWith('ok '))).toBe(true);
    expect(out.stdout.length).toBeGreaterThanOrEqual(25);
  });

  it('fails a test whose expectation the engine does not meet, and says how', async () => {
    const dir = await copyRules();
    const file = join(dir, 'user_test.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('expect: { action: allow, score: 0, fired: [user.first_login] }', 'expect: { action: challenge, score: 5, fired: [geo.new_country] }'));
    const out = await rulesTest(dir);
    expect(out.code).toBe(1);
    const at = out.stdout.findIndex((l) => l.startsWith('FAIL'));
    expect(out.stdout[at]).toMatch(/user_test\.yaml:4:11: RG302 a first login is allowed and says why$/);
    expect(out.stdout.slice(at + 1, at + 5).map((l) => l.trim())).toEqual([
      'expected action challenge, got allow',
      'expected score 5, got 0',
      'fired rules: expected but did not fire: geo.new_country; fired but not expected: user.first_login',
      '(score 0, fired: user.first_login)',
    ]);
  });
});
