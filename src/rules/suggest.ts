/** Edits (insert, delete, substitute) between two strings. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * `; did you mean "geo.speed_kmh"?` for a misspelt signal path: the known path fewest edits
 * away, if it is close enough to be the one meant (a third of its length, at least 2); "" when none is.
 */
export function didYouMean(unknown: string, known: Iterable<string>): string {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(unknown, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(unknown.length / 3)) ? `; did you mean "${best}"?` : '';
}

/**
 * The signal path a CEL type error is about, as written in the condition: `geo.sped_kmh` for
 * "No such key: sped_kmh", `devices.new` for "Unknown variable: devices". Null for other errors.
 */
export function unknownPath(message: string, condition: string): string | null {
  const key = /No such key: ([a-z0-9_]+)/.exec(message)?.[1];
  const variable = /Unknown variable: ([a-z0-9_]+)/.exec(message)?.[1];
  const pattern = key ? `[a-z_]+\\.${key}` : variable ? `${variable}\\.[a-z0-9_]+` : null;
  return pattern ? (new RegExp(`\\b${pattern}\\b`).exec(condition)?.[0] ?? null) : null;
}
