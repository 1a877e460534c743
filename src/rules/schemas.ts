import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Type from 'typebox';
import { ListName, ListSchema, PolicySchema, RuleSchema } from './format.js';
import { TestCaseSchema, TestFileOutline } from './test-format.js';

/**
 * JSON Schemas of the rule files and rule-test files, for editors (the YAML language server
 * reads `# yaml-language-server: $schema=…`) and CI. They are made from the TypeBox schemas
 * the loader validates with, and committed under schemas/; `npm run schemas` writes them
 * again, and a test fails when the committed files are stale.
 */

const DRAFT = 'http://json-schema.org/draft-07/schema#';

/** One of `login` or `failure`, as the runner requires (it reports the problem as RG301). */
const ONE_ATTEMPT = { oneOf: [{ required: ['login'] }, { required: ['failure'] }] };
/** A history item is one of a login, a failure or a wrong code. */
const ONE_EVENT = { oneOf: [{ required: ['login'] }, { required: ['failure'] }, { required: ['wrongCode'] }] };

/** `fired` (exactly these rules) or `includes`/`excludes` (some that must, some that must not), not both. */
const EXACT_OR_SOME = { not: { anyOf: [{ required: ['fired', 'includes'] }, { required: ['fired', 'excludes'] }] } };

function ruleFile(): object {
  const file = Type.Object(
    {
      policy: Type.Optional(PolicySchema),
      lists: Type.Optional(Type.Record(ListName, ListSchema)),
      rules: Type.Optional(Type.Array(RuleSchema)),
    },
    { additionalProperties: false },
  );
  return { $schema: DRAFT, title: 'riskgate rule file', description: 'rules/*.yaml: the policy, lists and rules (docs/rules.md)', ...file };
}

function ruleTestFile(): object {
  // What the runner checks beyond the loader's schema, told to editors too: one of login or failure (or, in history, a wrong code); repeat needs every.
  const test = structuredClone(TestCaseSchema);
  Object.assign(test, ONE_ATTEMPT);
  Object.assign(test.properties.expect, EXACT_OR_SOME);
  Object.assign(test.properties.history.items, ONE_EVENT, { dependencies: { repeat: ['every'] } });
  const file = { ...TestFileOutline, properties: { ...TestFileOutline.properties, tests: Type.Array(test) } };
  return { $schema: DRAFT, title: 'riskgate rule tests', description: 'rules/*_test.yaml: tests of the rules beside them (docs/rules.md)', ...file };
}

/** The committed schema files, by path from the repository root. */
export function jsonSchemas(): Record<string, string> {
  const text = (schema: object) => `${JSON.stringify(schema, null, 2)}\n`;
  return { 'schemas/rules.schema.json': text(ruleFile()), 'schemas/rules-test.schema.json': text(ruleTestFile()) };
}

/** `npm run schemas`: writes the schema files under `root`. */
export async function writeSchemas(root = process.cwd()): Promise<void> {
  for (const [path, text] of Object.entries(jsonSchemas())) await writeFile(join(root, path), text);
}
