import { utcOffsetMinutes } from '../../signals/time.js';
import type { DeviceProof, Fingerprint } from '../event.js';

/**
 * How a legitimate login reached the site: from home (IPv4, or IPv6), mobile data, the
 * office's NAT or its cloud proxy, someone else's network in another city, a trip at home
 * or abroad, a VPN. Kept for the generator's tests and figures; it is not written.
 */
export type Via = 'home' | 'home6' | 'mobile' | 'office' | 'office_proxy' | 'elsewhere' | 'trip' | 'abroad' | 'vpn';

/** A generated login, as it is written (docs/replay.md#input). */
export interface GenEvent {
  time: number;
  userId: string;
  ip: string;
  userAgent?: string | undefined;
  deviceId?: string | undefined;
  fingerprint?: Fingerprint | undefined;
  deviceProof?: DeviceProof | undefined;
  outcome: 'success' | 'failure';
  label: string;
  via?: Via;
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
    fingerprint: e.fingerprint,
    deviceProof: e.deviceProof,
    outcome: e.outcome,
    label: e.label,
  });
}
