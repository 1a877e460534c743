import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRuleSet } from '../src/rules/compile.js';
import { rulesCheck } from '../src/rules/check.js';
import { RuleSetError } from '../src/rules/diagnostics.js';
import { rulesTest } from '../src/ruletest/command.js';
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

  it('checks the trust fields of a rule test: on the tested login only, with a device, one of the two', async () => {
    const dir = await copyRules();
    await writeFile(
      join(dir, 'trust_test.yaml'),
      `now: "2026-03-20T08:30:00Z"
tests:
  - name: trusted without a device
    login: { ip: 84.208.0.1, trusted: true }
    expect: { action: allow, fired: [] }
  - name: both trust fields
    login: { ip: 84.208.0.1, deviceId: d1, trusted: true, trustToken: rgt1.x }
    expect: { action: allow, fired: [] }
  - name: trust in history
    history:
      - { at: -1d, login: { ip: 84.208.0.1, deviceId: d1, trustToken: rgt1.x } }
    login: { ip: 84.208.0.1 }
    expect: { action: allow, fired: [] }
  - name: a failure takes only the fields of a login-failure report
    failure: { ip: 84.208.0.1, action: login }
    expect: { action: allow, fired: [] }
`,
    );
    const out = await rulesCheck(dir);
    expect(out.code).toBe(1);
    expect(out.stdout.map((l) => l.replace(/^.*trust_test\.yaml:/, ''))).toEqual([
      '4:39: RG301 "trusted" needs a "deviceId": a trust token is bound to its device',
      '7:53: RG301 give "trusted" or "trustToken", not both',
      '11:27: RG301 a history login only teaches the profile: "trusted" and "trustToken" belong on the tested login',
      '15:32: RG102 unknown field "action" in tests[3].failure',
    ]);
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
  const suite = (expectation: string) => `now: "2026-03-20T08:30:00Z"
tests:
  - name: a first login
    login: { ip: 81.167.144.58, deviceId: d-1 }
    expect: ${expectation}
`;
  async function runWith(expectation: string) {
    const dir = await copyRules();
    await writeFile(join(dir, 'extra_test.yaml'), suite(expectation));
    const out = await rulesTest(dir);
    return { ...out, extra: out.stdout.filter((l) => l.includes('extra_test.yaml') || l.startsWith('   ')) };
  }

  it('includes: the rules that must fire, among any others', async () => {
    expect((await runWith('{ action: allow, includes: [user.first_login] }')).code).toBe(0);
    const out = await runWith('{ action: allow, includes: [user.first_login, geo.new_country, device.automation] }');
    expect(out.code).toBe(1);
    expect(out.extra.map((l) => l.trim())).toEqual([
      expect.stringMatching(/extra_test\.yaml:3:11: RG302 a first login$/),
      'includes: expected to fire but did not: geo.new_country, device.automation',
      '(score 0, fired: user.first_login)',
    ]);
  });

  it('excludes: the rules that must not fire', async () => {
    expect((await runWith('{ action: allow, excludes: [geo.new_country] }')).code).toBe(0);
    const out = await runWith('{ action: allow, excludes: [geo.new_country, user.first_login] }');
    expect(out.code).toBe(1);
    expect(out.extra.map((l) => l.trim()).slice(1)).toEqual(['excludes: fired but excluded: user.first_login', '(score 0, fired: user.first_login)']);
  });

  it('a new rule elsewhere breaks none of the shipped tests', async () => {
    const dir = await copyRules();
    const user = await readFile(join(dir, 'user.yaml'), 'utf8');
    await writeFile(join(dir, 'user.yaml'), `${user}\n  - id: user.everywhere\n    severity: info\n    when: "true"\n    message: every login\n`);
    await writeFile(join(dir, 'extra_test.yaml'), suite('{ action: allow, includes: [user.everywhere] }'));
    const out = await rulesTest(dir);
    expect(out.stdout.filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(out.code).toBe(0);
  });

  it('refuses fired with includes or excludes, a rule both included and excluded, and unknown ids', async () => {
    const dir = await copyRules();
    await writeFile(
      join(dir, 'extra_test.yaml'),
      `${suite('{ action: allow, fired: [user.first_login], includes: [user.first_login] }')}  - name: both
    login: { ip: 81.167.144.58 }
    expect: { action: allow, includes: [user.first_login], excludes: [user.first_login, user.nope] }
`,
    );
    const out = await rulesCheck(dir);
    expect(out.code).toBe(1);
    expect(out.stdout.map((l) => l.replace(/^.*extra_test\.yaml:/, ''))).toEqual([
      '5:37: RG301 give "fired" (exactly these rules) or "includes"/"excludes", not both',
      '8:71: RG301 rule "user.first_login" is both included and excluded',
      '8:89: RG301 unknown rule id "user.nope"',
    ]);
  });

  it('passes on the default rules', async () => {
    const out = await rulesTest(RULES_DIR);
    expect(out.code).toBe(0);
    expect(out.stdout.every((l) => l.startsWith('ok '))).toBe(true);
    expect(out.stdout.length).toBeGreaterThanOrEqual(25);
  });

  it('fails a test whose expectation the engine does not meet, and says how', async () => {
    const dir = await copyRules();
    const file = join(dir, 'user_test.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('expect: { action: allow, includes: [user.first_login] }', 'expect: { action: challenge, score: 5, fired: [geo.new_country] }'));
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
