/**
 * Timestamps of the input formats, parsed strictly: a time without a zone would be read in
 * whatever zone the analyst's machine is in, and Date.parse rolls 30 February into March.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
/** The RBA dataset's "2020-02-03 12:43:30.772", in UTC. */
const RBA = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

function utc(m: RegExpExecArray): number | null {
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  return new Date(t).getUTCDate() === d ? t : null;
}

/** ISO 8601 with a zone (`Z` or `±hh:mm`), e.g. 2026-03-02T08:15:00.000Z; null when it is not one. */
export function parseIsoTime(text: string): number | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const t = utc(m);
  if (t === null) return null;
  const zone = m[8]!;
  if (zone === 'Z') return t;
  const sign = zone[0] === '-' ? -1 : 1;
  const [zh, zm] = zone.slice(1).split(':').map(Number) as [number, number];
  if (zh > 23 || zm > 59) return null;
  return t - sign * (zh * 60 + zm) * 60_000;
}

export function parseRbaTime(text: string): number | null {
  const m = RBA.exec(text);
  return m ? utc(m) : null;
}
