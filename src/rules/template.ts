/**
 * Reason messages: text with `{{signal.path}}` placeholders that quote the values that made
 * a rule fire ("4,100 km in 20 min"). Parsed once at load into parts.
 */

const PLACEHOLDER = /\{\{\s*([a-z_]+\.[a-z0-9_]+)\s*\}\}/g;

export type Template = (ctx: Record<string, Record<string, unknown>>) => string;

/** Placeholders of a template with their offsets, for checking them against the schema. */
export function placeholders(text: string): { path: string; offset: number }[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ path: m[1]!, offset: m.index }));
}

// toLocaleString builds a formatter per call; these are built once.
const NUMBER_FORMATS = [0, 1, 2].map((digits) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }));

export function formatValue(v: unknown): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    const digits = Math.abs(v) >= 10 || Number.isInteger(v) ? 0 : Math.abs(v) >= 1 ? 1 : 2;
    return NUMBER_FORMATS[digits]!.format(v);
  }
  if (typeof v === 'bigint') return v.toLocaleString('en-US');
  if (v === '' || v === undefined || v === null) return 'unknown';
  return String(v);
}

export function compileTemplate(text: string): Template {
  const parts: (string | [string, string])[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    parts.push(text.slice(last, m.index));
    const [family, field] = m[1]!.split('.') as [string, string];
    parts.push([family, field]);
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  if (parts.length === 1) return () => text;
  return (ctx) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : formatValue(ctx[p[0]]?.[p[1]]);
    return out;
  };
}
