import { utcOffsetMinutes } from '../../signals/time.js';

/** A generated login, as it is written: one line of replay's JSONL input (docs/replay.md#input). */
export interface GenEvent {
  time: number;
  userId: string;
  ip: string;
  userAgent?: string | undefined;
  deviceId?: string | undefined;
  outcome: 'success' | 'failure';
  label: string;
}

/** The UTC time of `hour` (fractional) o'clock in zone `tz` on the calendar day that starts at `day` in UTC. */
export function localToUtc(day: number, hour: number, tz: string): number {
  const guess = day + hour * 3_600_000;
  return Math.round(guess - utcOffsetMinutes(tz, guess) * 60_000);
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
