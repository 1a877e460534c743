import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { loadRuleSet } from '../src/rules/compile.js';
import { join } from 'node:path';
import { parse } from 'yaml';
import { compileNative } from '../src/rules/native.js';
import { FAMILY_NAMES, SIGNAL_SCHEMA } from '../src/signals/schema.js';
import { RULES_DIR } from './helpers.js';

/** A CEL environment over the signal schema with plain classes, as the loader builds it. */
function environment(listNames: string[] = []) {
  const env = new Environment({ homogeneousAggregateLiterals: false });
  const classes = new Map<string, new (v: object) => object>();
  for (const family of FAMILY_NAMES) {
    const cls = class {
      constructor(v: object) {
        Object.assign(this, v);
      }
    };
    classes.set(family, cls);
    env.registerType(`t.${family}`, { ctor: cls, fields: Object.fromEntries(Object.entries(SIGNAL_SCHEMA[family]).map(([k, d]) => [k, d.type])) });
    env.registerVariable(family, `t.${family}`);
  }
  const lists = class {
    constructor(v: object) {
      Object.assign(this, v);
    }
  };
  classes.set('lists', lists);
  env.registerType('t.lists', { ctor: lists, fields: Object.fromEntries(listNames.map((n) => [n, 'bool'])) });
  env.registerVariable('lists', 't.lists');
  return { env, classes };
}

/** Deterministic pseudo-random signals that sit on and around the thresholds rules use. */
function* samples(n: number, listNames: string[]) {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const numbers = [-1, 0, 0.01, 0.04, 0.05, 0.5, 1, 4, 5, 6, 9, 10, 11, 19, 20, 21, 100, 499, 500, 501, 899, 900, 901, 5000, 1e6];
  const strings = ['', 'NO', 'JP', 'Chrome', 'login', 'change_password', 'desktop', 'mobile', '81.167.144.0/24'];
  for (let i = 0; i < n; i++) {
    const sig: Record<string, Record<string, unknown>> = {};
    for (const family of FAMILY_NAMES) {
      sig[family] = {};
      for (const [field, def] of Object.entries(SIGNAL_SCHEMA[family])) {
        const type = (def as { type: string }).type;
        sig[family]![field] = type === 'bool' ? rnd() < 0.5 : type === 'double' ? numbers[Math.floor(rnd() * numbers.length)] : strings[Math.floor(rnd() * strings.length)];
      }
    }
    sig.lists = Object.fromEntries(listNames.map((l) => [l, rnd() < 0.5]));
    yield sig;
  }
}

const EXPRESSIONS = [
  'user.known && !device.known || geo.speed_kmh >= 900.0',
  'geo.distance_km > 500.0 && geo.speed_kmh > 900',
  'attempts.user_30m >= 5 ? true : attempts.ip_1h > 19.5',
  'geo.country in ["NO", "SE"] && !(device.browser == "Chrome")',
  'device.browser.startsWith("Chr") || device.os.endsWith("OS") || request.action.contains("pass")',
  'geo.country.matches("^[A-Z]{2}$") && size(geo.country) == 2',
  'geo.distance_km / (geo.minutes_since_last + 1.0) * 60.0 > 900.0',
  '-geo.distance_km < -500.0 && time.hour_share != 0.05',
  'network.version == 6.0 || network.subnet == "81.167.144.0/24"',
  'time.hour >= 0 && time.hour < 6 || time.hour == 23.0',
];

describe('natively compiled conditions', () => {
  it('agree with the CEL interpreter on every default rule and a spread of expressions', async () => {
    const listNames = (await loadRuleSet(RULES_DIR)).lists.map((l) => l.name);
    const { env, classes } = environment(listNames);
    const sources = [...EXPRESSIONS];
    for (const f of readdirSync(RULES_DIR).filter((n) => n.endsWith('.yaml') && !n.endsWith('_test.yaml'))) {
      for (const r of (parse(readFileSync(join(RULES_DIR, f), 'utf8')) as { rules?: { when: string }[] }).rules ?? []) sources.push(r.when);
    }
    expect(sources.length).toBeGreaterThan(EXPRESSIONS.length + 10);
    let compared = 0;
    for (const expr of sources) {
      expect(env.check(expr).valid, expr).toBe(true);
      const interpreted = env.parse(expr);
      const native = compileNative(interpreted.ast);
      expect(native, `not compiled natively: ${expr}`).not.toBeNull();
      for (const sig of samples(300, listNames)) {
        const typed = Object.fromEntries([...FAMILY_NAMES, 'lists'].map((f) => [f, new (classes.get(f)!)(sig[f]!)]));
        expect(native!(sig), `${expr} on ${JSON.stringify(sig)}`).toBe(interpreted(typed));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(5000);
  });

  it('leaves integer arithmetic and unknown functions to the interpreter', () => {
    const { env } = environment();
    for (const expr of ['size(geo.country) / 2 == 1', '1 + 2 > 2', 'timestamp("2026-01-01T00:00:00Z") < timestamp("2027-01-01T00:00:00Z")', 'geo.country.lowerAscii() == "no"']) {
      const parsed = env.parse(expr);
      expect(compileNative(parsed.ast), expr).toBeNull();
    }
  });
});
