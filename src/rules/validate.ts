import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { Diagnostic } from './diagnostics.js';
import type { Path, YamlSource } from './source.js';

function toPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function describe(path: Path): string {
  return path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '') : 'document';
}

/** Checks the data of a YAML file against a TypeBox schema; one diagnostic per problem, at its place in the file. */
export function validateAgainst(source: YamlSource, schema: TSchema, value: unknown = source.data, base: Path = []): Diagnostic[] {
  const out: Diagnostic[] = [];
  const errors = [...Value.Errors(schema, value)];
  // A union of literals fails once per branch; say it once, with the allowed values.
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) if (e.keyword === 'const') allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), (e.params as { allowedValue: unknown }).allowedValue]);
  for (const e of errors) {
    if (e.keyword === 'const' && errors.some((x) => x.keyword === 'anyOf' && x.instancePath === e.instancePath)) continue;
    const path = [...base, ...toPath(e.instancePath)];
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'boolean': // the "schema is false" echo of additionalProperties; reported below
        break;
      case 'additionalProperties':
        for (const key of (params.additionalProperties as string[]) ?? []) {
          out.push({ file: source.file, ...source.keyPosition(path, key), code: 'RG102', message: `unknown field "${key}" in ${describe(path)}` });
        }
        break;
      case 'required':
        for (const key of (params.requiredProperties as string[]) ?? []) {
          out.push(source.diag(path, 'RG101', `missing field "${key}" in ${describe(path)}`));
        }
        break;
      case 'anyOf':
        if (allowed.has(e.instancePath)) {
          out.push(source.diag(path, 'RG103', `${describe(path)} must be one of: ${allowed.get(e.instancePath)!.map((v) => JSON.stringify(v)).join(', ')}`));
          break;
        }
        out.push(source.diag(path, 'RG103', `${describe(path)} ${e.message}`));
        break;
      default:
        out.push(source.diag(path, 'RG103', `${describe(path)} ${e.message}`));
    }
  }
  return out;
}
