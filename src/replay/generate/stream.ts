/** A generated login, as it is written (DESIGN §2.2). */
export interface GenEvent {
  time: number;
  userId: string;
  ip: string;
  userAgent?: string | undefined;
  deviceId?: string | undefined;
  outcome: 'success' | 'failure';
  label: string;
}

const HOUR_MS = 3_600_000;
const offsets = new Map<string, number>();

/** Minutes the zone is ahead of UTC around `time` (cached per zone and hour). */
function offsetMinutes(tz: string, time: number): number {
  const hour = Math.floor(time / HOUR_MS);
  const key = `${tz}|${hour}`;
  let off = offsets.get(key);
  if (off === undefined) {
    const parts: Record<string, number> = {};
    const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    for (const p of f.formatToParts(new Date(hour * HOUR_MS))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    off = Math.round((Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!) - hour * HOUR_MS) / 60_000);
    offsets.set(key, off);
  }
  return off;
}

/** The UTC time of `hour` (fractional) o'clock in zone `tz` on the calendar day that starts at `day` in UTC. */
export function localToUtc(day: number, hour: number, tz: string): number {
  const guess = day + hour * HOUR_MS;
  return Math.round(guess - offsetMinutes(tz, guess) * 60_000);
}

export function eventLine(e: GenEvent): string {
  return JSON.stringify({
    time: new Date(e.time).toISOString(),
    userId: e.userId,
    ip: e.ip,
    userAgent: e.userAgent,
    deviceId: e.deviceId,
    outcome: e.outcome,
    label: e.label,
  });
}
