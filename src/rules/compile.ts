import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { Environment, ParseError } from '@marcbachmann/cel-js';
import { compileList, type CompiledList } from '../signals/lists.js';
import { FAMILY_NAMES, LISTS_FAMILY, SIGNAL_SCHEMA, signalPaths, type Signals } from '../signals/schema.js';
import type { Action } from '../types.js';
import { RuleSetError, type Diagnostic } from './diagnostics.js';
import { ListSchema, PolicySchema, RuleFileSchema, RuleSchema, type ListDoc, type PolicyDoc, type RuleDoc, type RuleFileDoc } from './format.js';
import type { CompiledRule, RuleContext, RuleSet } from './ruleset.js';
import { didYouMean, unknownPath } from './suggest.js';
import { canonicalJson } from '../canonical-json.js';
import { YamlSource } from './source.js';
import { compileNative } from './native.js';
import { compileTemplate, placeholders } from './template.js';
import { validateAgainst } from './validate.js';

export const TEST_FILE = /_test\.ya?ml$/;
const RULE_FILE = /\.ya?ml$/;

type FamilyCtor = new (values: object) => Record<string, unknown>;

/** One class per signal family: cel-js knows a value's declared type by its constructor. */
function familyClass(name: string): FamilyCtor {
  const cls = class {
    constructor(values: object) {
      Object.assign(this, values);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls as unknown as FamilyCtor;
}

function typeName(family: string): string {
  return `riskgate.${family}`;
}

const FAMILY_CLASSES = new Map<string, FamilyCtor>(FAMILY_NAMES.map((f) => [f, familyClass(typeName(f))]));

/** The CEL environment conditions are checked and run in: the signal schema plus the rule set's lists. */
function celEnvironment(listNames: readonly string[]): { env: Environment; listsClass: FamilyCtor } {
  const env = new Environment({ homogeneousAggregateLiterals: false });
  for (const family of FAMILY_NAMES) {
    const fields: Record<string, string> = {};
    for (const [field, def] of Object.entries(SIGNAL_SCHEMA[family])) fields[field] = def.type;
    env.registerType(typeName(family), { ctor: FAMILY_CLASSES.get(family)!, fields });
    env.registerVariable(family, typeName(family));
  }
  const listsClass = familyClass(typeName(LISTS_FAMILY));
  env.registerType(typeName(LISTS_FAMILY), { ctor: listsClass, fields: Object.fromEntries(listNames.map((n) => [n, 'bool'])) });
  env.registerVariable(LISTS_FAMILY, typeName(LISTS_FAMILY));
  return { env, listsClass };
}

interface CelProblem {
  code?: string;
  range?: { start: number; end: number };
  message: string;
}

function celSummary(e: CelProblem): string {
  return (e.message.split('\n')[0] ?? e.message).trim();
}

/** Reads the rule files of a directory (not the tests), sorted by name. */
export async function readRuleSources(dir: string): Promise<{ sources: YamlSource[]; diagnostics: Diagnostic[] }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => RULE_FILE.test(n) && !TEST_FILE.test(n)).sort();
  } catch (e) {
    return { sources: [], diagnostics: [{ file: dir, line: 1, col: 1, code: 'RG104', message: `cannot read rules directory: ${(e as Error).message}` }] };
  }
  if (names.length === 0) return { sources: [], diagnostics: [{ file: dir, line: 1, col: 1, code: 'RG104', message: 'no rule files (*.yaml) in the rules directory' }] };
  const sources = await Promise.all(names.map(async (n) => new YamlSource(join(dir, n), await readFile(join(dir, n), 'utf8'))));
  return { sources, diagnostics: [] };
}

/** Loads, validates and compiles a rule directory. Throws RuleSetError listing every problem. */
export async function loadRuleSet(dir: string): Promise<RuleSet> {
  const { sources, diagnostics } = await readRuleSources(dir);
  if (diagnostics.length) throw new RuleSetError(diagnostics);
  return compileRuleSet(dir, sources);
}

/** Like loadRuleSet, with the problems returned instead of thrown (the commands list them). */
export async function compileDir(dir: string): Promise<{ rules: RuleSet | null; diagnostics: Diagnostic[] }> {
  try {
    return { rules: await loadRuleSet(dir), diagnostics: [] };
  } catch (e) {
    if (e instanceof RuleSetError) return { rules: null, diagnostics: e.diagnostics };
    throw e;
  }
}

export function compileRuleSet(dir: string, sources: readonly YamlSource[]): RuleSet {
  const diags: Diagnostic[] = [];
  const docs: { src: YamlSource; doc: RuleFileDoc }[] = [];
  for (const src of sources) {
    diags.push(...src.diagnostics);
    if (src.data === undefined) continue;
    const data = (src.data ?? {}) as Record<string, unknown>;
    const outline = validateAgainst(src, RuleFileSchema, data);
    diags.push(...outline);
    if (outline.length) continue;
    // Check each part on its own and keep the valid ones, so every problem shows at once.
    const doc: RuleFileDoc = {};
    if (data.policy !== undefined) {
      const problems = validateAgainst(src, PolicySchema, data.policy, ['policy']);
      diags.push(...problems);
      if (!problems.length) doc.policy = data.policy as PolicyDoc;
    }
    if (data.lists !== undefined) {
      doc.lists = {};
      for (const [name, def] of Object.entries(data.lists as Record<string, unknown>)) {
        const problems = validateAgainst(src, ListSchema, def, ['lists', name]);
        diags.push(...problems);
        if (!problems.length) doc.lists[name] = def as ListDoc;
      }
    }
    if (data.rules !== undefined) {
      doc.rules = [];
      (data.rules as unknown[]).forEach((rule, i) => {
        const problems = validateAgainst(src, RuleSchema, rule, ['rules', i]);
        diags.push(...problems);
        if (!problems.length) doc.rules!.push({ ...(rule as RuleDoc), index: i } as RuleDoc);
      });
    }
    docs.push({ src, doc });
  }

  // Policy: exactly one file defines it.
  const policies = docs.filter((d) => d.doc.policy);
  let policy: PolicyDoc | undefined = policies[0]?.doc.policy;
  const policyProblem = diags.some((d) => d.message.includes(' policy'));
  if (policies.length === 0 && !policyProblem && docs.length === sources.length) {
    diags.push({ file: sources[0]?.file ?? dir, line: 1, col: 1, code: 'RG140', message: 'no file defines the policy (severities and thresholds)' });
  }
  for (const extra of policies.slice(1)) diags.push(extra.src.diag(['policy'], 'RG140', `policy defined again (first in ${basename(policies[0]!.src.file)})`));
  if (policy && policy.thresholds.block <= policy.thresholds.challenge) {
    diags.push(policies[0]!.src.diag(['policy', 'thresholds', 'block'], 'RG141', `block threshold (${policy.thresholds.block}) must be above the challenge threshold (${policy.thresholds.challenge})`));
  }

  // Lists.
  const lists: CompiledList[] = [];
  const listOrigin = new Map<string, string>();
  for (const { src, doc } of docs) {
    for (const [name, def] of Object.entries(doc.lists ?? {})) {
      if (listOrigin.has(name)) {
        diags.push(src.diag(['lists', name], 'RG130', `list "${name}" already defined in ${basename(listOrigin.get(name)!)}`));
        continue;
      }
      listOrigin.set(name, src.file);
      const { list, invalid } = compileList(name, def.match, def.values);
      for (const i of invalid) diags.push(src.diag(['lists', name, 'values', i], 'RG131', `"${def.values[i]}" is not a valid ${def.match === 'ip' ? 'address or CIDR block' : def.match === 'country' ? 'two-letter country code' : 'value'} for list "${name}"`));
      lists.push(list);
    }
  }

  const { env, listsClass } = celEnvironment(lists.map((l) => l.name));
  const paths = signalPaths(lists.map((l) => l.name));
  const retired = new Set(policy?.retired ?? []);
  const severities = policy?.severities ?? {};

  // Rules.
  const rules: CompiledRule[] = [];
  const idOrigin = new Map<string, string>();
  for (const { src, doc } of docs) {
    for (const r of doc.rules ?? []) {
      const i = (r as RuleDoc & { index: number }).index;
      const at = (...p: (string | number)[]) => ['rules', i, ...p];
      if (idOrigin.has(r.id)) diags.push(src.diag(at('id'), 'RG110', `rule id "${r.id}" already used in ${basename(idOrigin.get(r.id)!)}`));
      else idOrigin.set(r.id, src.file);
      if (retired.has(r.id)) diags.push(src.diag(at('id'), 'RG111', `rule id "${r.id}" is retired and must not be reused; pick a new id`));
      const points = severities[r.severity];
      if (policy && points === undefined) {
        diags.push(src.diag(at('severity'), 'RG120', `unknown severity "${r.severity}" (defined: ${Object.keys(severities).join(', ')})`));
      }

      let condition: CompiledRule['condition'] | undefined;
      let interpreted: CompiledRule['condition'] | undefined;
      try {
        const check = env.check(r.when) as { valid: boolean; type?: string; error?: CelProblem };
        if (!check.valid) {
          const e = check.error!;
          const code = e instanceof ParseError ? 'RG200' : 'RG201';
          const typo = code === 'RG201' ? unknownPath(celSummary(e), r.when) : null;
          const hint = typo ? didYouMean(typo, paths.keys()) : '';
          diags.push({ file: src.file, ...src.valuePosition(at('when'), e.range?.start ?? 0), code, message: `condition: ${celSummary(e)}${hint}` });
        } else if (check.type !== 'bool') {
          diags.push(src.diag(at('when'), 'RG202', `condition must be a bool, but it is ${check.type}`));
        } else {
          const parsed = env.parse(r.when) as unknown as CompiledRule['condition'] & { ast: unknown };
          interpreted = parsed;
          condition = compileNative(parsed.ast) ?? parsed;
        }
      } catch (err) {
        const e = err as CelProblem;
        diags.push({ file: src.file, ...src.valuePosition(at('when'), e.range?.start ?? 0), code: 'RG200', message: `condition: ${celSummary(e)}` });
      }

      for (const p of placeholders(r.message)) {
        if (!paths.has(p.path)) diags.push({ file: src.file, ...src.valuePosition(at('message'), p.offset), code: 'RG210', message: `message names unknown signal "${p.path}"${didYouMean(p.path, paths.keys())}` });
      }

      if (condition && points !== undefined) {
        rules.push({
          id: r.id,
          description: r.description ?? '',
          severity: r.severity,
          points,
          force: (r.action as Action | undefined) ?? null,
          shadow: r.shadow ?? false,
          standalone: r.standalone ?? true,
          when: r.when,
          condition,
          native: condition !== interpreted,
          message: compileTemplate(r.message),
          file: src.file,
          line: src.position(at('id')).line,
          col: src.position(at('id')).col,
        });
      }
    }
  }

  if (diags.length || !policy) throw new RuleSetError(diags);

  const definitions: Record<string, string> = { policy: canonicalJson(policy) };
  for (const { doc } of docs) {
    for (const [name, def] of Object.entries(doc.lists ?? {})) definitions[`list ${name}`] = canonicalJson(def);
    for (const { index: _, ...r } of (doc.rules ?? []) as (RuleDoc & { index: number })[]) definitions[`rule ${r.id}`] = canonicalJson(r);
  }

  const hash = createHash('sha256');
  for (const s of sources) hash.update(relative(dir, s.file)).update('\0').update(s.text).update('\0');
  const digest = hash.digest('hex');
  const label = policy.version ?? null;
  const families = FAMILY_NAMES.map((f) => [f, FAMILY_CLASSES.get(f)!] as const);
  // Natively compiled conditions and messages read plain objects; only interpreted CEL needs typed ones.
  const typed = rules.some((r) => !r.native);
  return Object.freeze({
    version: label ? `${label}@${digest.slice(0, 12)}` : digest.slice(0, 12),
    label,
    hash: digest,
    dir,
    files: sources.map((s) => s.file),
    rules: Object.freeze(rules),
    lists: Object.freeze(lists),
    severities: Object.freeze({ ...severities }),
    thresholds: Object.freeze({ ...policy.thresholds }),
    enroll: policy.enroll ? Object.freeze({ suggest: policy.enroll.suggest, on: Object.freeze([...(policy.enroll.on ?? ['allow' as const])]) }) : null,
    definitions: Object.freeze(definitions),
    context(signals: Signals): RuleContext {
      if (!typed) return signals as unknown as RuleContext;
      const ctx: RuleContext = {};
      for (const [name, cls] of families) ctx[name] = new cls(signals[name]);
      ctx[LISTS_FAMILY] = new listsClass(signals.lists);
      return ctx;
    },
  });
}
