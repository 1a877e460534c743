const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "-30d", "15m", "2h"... as milliseconds, or null: rule tests' times and replay's --warmup. */
export function parseDuration(text: string): number | null {
  const m = /^([+-]?)(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * Number(m[2]) * UNITS[m[3]!]!;
}
