import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TEST_FILE } from '../src/rules/compile.js';
import { jsonSchemas } from '../src/rules/schemas.js';
import { RULES_DIR } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const committed = async (path: string) => JSON.parse(await readFile(join(ROOT, path), 'utf8')) as object;

describe('JSON Schemas of rule files and rule-test files (schemas/)', () => {
  it('are what `npm run schemas` makes from the loader\'s TypeBox schemas', async () => {
    for (const [path, text] of Object.entries(jsonSchemas())) {
      expect(await readFile(join(ROOT, path), 'utf8'), `${path} is stale: run npm run schemas`).toBe(text);
    }
  });

  it('are named by every shipped YAML file, and accept it', async () => {
    const rules = await committed('schemas/rules.schema.json');
    const tests = await committed('schemas/rules-test.schema.json');
    const names = (await readdir(RULES_DIR)).filter((n) => n.endsWith('.yaml'));
    expect(names.filter((n) => TEST_FILE.test(n)).length).toBeGreaterThan(3);
    for (const name of names) {
      const text = await readFile(join(RULES_DIR, name), 'utf8');
      const isTest = TEST_FILE.test(name);
      expect(text.split('\n')[0], name).toBe(`# yaml-language-server: $schema=../schemas/${isTest ? 'rules-test' : 'rules'}.schema.json`);
      const schema = isTest ? tests : rules;
      const data: unknown = parse(text);
      expect([...Value.Errors(schema, data)], name).toEqual([]);
    }
  });

  it('refuse what the loader and the rule-test runner refuse', async () => {
    const rules = await committed('schemas/rules.schema.json');
    const tests = await committed('schemas/rules-test.schema.json');
    const rule = { id: 'device.x', severity: 'high', when: 'device.new', message: 'new' };
    expect(Value.Check(rules, { rules: [rule] })).toBe(true);
    expect(Value.Check(rules, { rules: [{ ...rule, severty: 'high' }] })).toBe(false); // unknown field
    expect(Value.Check(rules, { rules: [{ ...rule, id: 'Device X' }] })).toBe(false);
    expect(Value.Check(rules, { rules: [{ ...rule, action: 'allow' }] })).toBe(false);
    expect(Value.Check(rules, { lists: { deny: { match: 'asn', values: [] } } })).toBe(false);
    expect(Value.Check(rules, { policy: { severities: { high: 40 }, thresholds: { challenge: 40 } } })).toBe(false);

    const login = { ip: '81.167.144.58' };
    const test = { name: 't', login, expect: { action: 'allow', fired: [] } };
    expect(Value.Check(tests, { now: '2026-03-20T08:30:00Z', tests: [test] })).toBe(true);
    expect(Value.Check(tests, { tests: [{ ...test, expect: { action: 'deny', fired: [] } }] })).toBe(false);
    expect(Value.Check(tests, { tests: [{ ...test, expect: { action: 'allow', includes: ['a.b'], excludes: ['c.d'] } }] })).toBe(true);
    expect(Value.Check(tests, { tests: [{ ...test, expect: { action: 'allow', fired: [], excludes: ['c.d'] } }] })).toBe(false); // exact and some
    expect(Value.Check(tests, { tests: [{ ...test, failure: login }] })).toBe(false); // login and failure
    expect(Value.Check(tests, { tests: [{ name: 't', expect: test.expect }] })).toBe(false); // neither
    expect(Value.Check(tests, { tests: [{ ...test, history: [{ at: '-1d', login, failure: login }] }] })).toBe(false);
    expect(Value.Check(tests, { tests: [{ ...test, history: [{ at: '-1d', login, repeat: 3 }] }] })).toBe(false); // repeat needs every
    expect(Value.Check(tests, { tests: [{ ...test, history: [{ at: '-1d', login, repeat: 3, every: '1d' }] }] })).toBe(true);
  });
});
