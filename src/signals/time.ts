import type { Profile } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';

const HOUR_MS = 3_600_000;
const formatters = new Map<string, Intl.DateTimeFormat>();
/** UTC offset in minutes per zone and UTC hour: offsets only change on the hour (DST). */
const offsets = new Map<string, number>();
/** Per zone and UTC day, the offset when it holds all day (zones change offset at most once a day). */
const dayOffsets = new Map<string, number | null>();
const DAY_HOURS = 24;

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

function offsetMinutes(tz: string, utcHour: number): number {
  const key = `${tz}|${utcHour}`;
  let off = offsets.get(key);
  if (off === undefined) {
    const parts: Record<string, number> = {};
    for (const p of formatter(tz).formatToParts(new Date(utcHour * HOUR_MS))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!);
    off = Math.round((local - utcHour * HOUR_MS) / 60_000);
    if (offsets.size > 100_000) offsets.clear();
    offsets.set(key, off);
  }
  return off;
}

/** The zone's offset at a UTC hour: from the day's entry when the offset held all day, else hour by hour. */
function offsetAt(tz: string, utcHour: number): number {
  const day = Math.floor(utcHour / DAY_HOURS);
  const key = `${tz}|${day}`;
  let whole = dayOffsets.get(key);
  if (whole === undefined) {
    const start = offsetMinutes(tz, day * DAY_HOURS);
    whole = offsetMinutes(tz, day * DAY_HOURS + DAY_HOURS) === start ? start : null;
    if (dayOffsets.size > 100_000) dayOffsets.clear();
    dayOffsets.set(key, whole);
  }
  return whole ?? offsetMinutes(tz, utcHour);
}

/** Minutes the IANA zone `tz` is ahead of UTC at `time` (throws for an unknown zone). */
export function utcOffsetMinutes(tz: string, time: number): number {
  return offsetAt(tz, Math.floor(time / HOUR_MS));
}

/** Hour of day (0-23) at `time` in the IANA zone `tz`; UTC when the zone is unknown or invalid. */
export function localHour(time: number, tz: string | null): number {
  let off = 0;
  if (tz) {
    try {
      off = offsetAt(tz, Math.floor(time / HOUR_MS));
    } catch {
      off = 0;
    }
  }
  const minutes = Math.floor(time / 60_000) + off;
  return ((Math.floor(minutes / 60) % 24) + 24) % 24;
}

/** Share of the user's logins within one hour of `hour` (wrapping at midnight). */
export function timeSignals(hour: number, profile: Profile | null): FamilySignals<'time'> {
  if (!profile || profile.logins === 0) return { hour, hour_share: -1, history: 0 };
  const h = profile.hours;
  const total = h.reduce((a, b) => a + b, 0);
  if (total <= 0) return { hour, hour_share: -1, history: 0 };
  const near = (h[(hour + 23) % 24] ?? 0) + (h[hour] ?? 0) + (h[(hour + 1) % 24] ?? 0);
  return { hour, hour_share: near / total, history: total };
}
