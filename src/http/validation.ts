import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { InputError } from '../errors.js';

/**
 * Request validation without coercion: a field is taken only in the type its schema gives.
 * `userId: 42`, `trustDevice: "true"` or `deviceId: ["a"]` are refused with a 400 that names
 * the field, never turned into the string, boolean or item they look like. Querystrings and
 * path parameters are strings by nature: their schemas say so (a number in a query is a
 * string of digits the route converts), so they are not coerced either.
 */
export const strictValidator: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  const part = httpPart === 'querystring' ? 'query' : httpPart === 'params' ? 'path' : (httpPart ?? 'body');
  return (value: unknown) => {
    if (!check.Check(value)) return { error: new InputError('INVALID_REQUEST', describeErrors(schema, part, value, check.Errors(value))) };
    const bad = illFormedAt(value, '');
    return bad === null ? { value } : { error: new InputError('INVALID_REQUEST', `${fieldName(part, bad)} is not well-formed Unicode (it holds a lone surrogate)`) };
  };
};

/**
 * The pointer of the first string holding a lone UTF-16 surrogate, or null. Such a string
 * has no UTF-8 form: the stores would keep U+FFFD instead, and two different user ids would
 * become one.
 */
function illFormedAt(v: unknown, pointer: string): string | null {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? pointer : null;
  if (v === null || typeof v !== 'object') return null;
  for (const [k, x] of Object.entries(v)) {
    const found = illFormedAt(x, `${pointer}/${k}`);
    if (found !== null) return found;
  }
  return null;
}
const LONE_SURROGATE = /\p{Cs}/u;

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** Every problem of a request part, one sentence each, naming the field and what it may be. */
export function describeErrors(schema: TSchema, part: string, value: unknown, errors: readonly SchemaError[]): string {
  // A union of literals fails once per literal, then as a whole: say it once, with the allowed values.
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) if (e.keyword === 'const') allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), e.params.allowedValue]);
  const out = new Set<string>();
  for (const e of errors) {
    const field = fieldName(part, e.instancePath);
    const got = valueAt(value, e.instancePath);
    switch (e.keyword) {
      case 'boolean': // the "schema is false" echo of additionalProperties, said below
      case 'const':
        break;
      case 'additionalProperties': {
        const known = Object.keys((schema as { properties?: object }).properties ?? {});
        for (const key of e.params.additionalProperties as string[]) out.add(`${fieldName(part, `${e.instancePath}/${key}`)} is unknown${known.length && !e.instancePath ? ` (${part} fields: ${known.join(', ')})` : ''}`);
        break;
      }
      case 'required':
        for (const key of e.params.requiredProperties as string[]) out.add(`${fieldName(part, `${e.instancePath}/${key}`)} is missing`);
        break;
      case 'type':
        out.add(`${e.instancePath ? field : `the ${part}`} must be ${article(String(e.params.type))}, not ${kindOf(got)}`);
        break;
      case 'anyOf':
        out.add(
          allowed.has(e.instancePath)
            ? `${field} must be one of ${allowed.get(e.instancePath)!.map((v) => JSON.stringify(v)).join(', ')}${typeof got === 'string' ? ` (got ${quote(got)})` : `, not ${kindOf(got)}`}`
            : `${field} is none of the forms it may take`,
        );
        break;
      case 'minLength':
      case 'maxLength':
        out.add(`${field} must be ${e.keyword === 'minLength' ? 'at least' : 'at most'} ${String(e.params.limit)} characters long (got ${typeof got === 'string' ? [...got].length : '?'})`);
        break;
      case 'pattern':
        out.add(`${field} must be ${expectedAt(schema, e.instancePath) ?? `a string matching ${String(e.params.pattern)}`}`);
        break;
      case 'format':
        out.add(`${field} must be ${FORMATS[String(e.params.format)] ?? `in the format ${String(e.params.format)}`}`);
        break;
      default:
        out.add(`${field} ${e.message}`);
    }
  }
  return [...out].join('; ');
}

const FORMATS: Record<string, string> = {
  email: 'an e-mail address',
  'date-time': 'a date and time like 2026-03-02T08:00:00Z',
};

/** `body field "userId"`, `query field "limit"`, `path field "id"`. */
function fieldName(part: string, pointer: string): string {
  const path = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  return `${part} field "${path}"`;
}

/**
 * What a field with a pattern must be, in words: its schema's `x-expected` (an OpenAPI
 * extension, so /docs/json shows it too).
 */
function expectedAt(schema: TSchema, pointer: string): string | undefined {
  let s: unknown = schema;
  for (const p of pointer.split('/').slice(1)) s = (s as { properties?: Record<string, unknown> }).properties?.[p];
  const expected = (s as Record<string, unknown> | undefined)?.['x-expected'];
  return typeof expected === 'string' ? expected : undefined;
}

function valueAt(value: unknown, pointer: string): unknown {
  let v = value;
  for (const p of pointer.split('/').slice(1)) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return v;
}

function article(type: string): string {
  return { object: 'a JSON object', array: 'an array', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'null' }[type] ?? type;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(v) ? 'a whole number' : 'a number';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'nothing';
    default:
      return 'an object';
  }
}

/** A value quoted for a message, cut short: the caller sees what was refused, not a copy of a huge input. */
function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}
