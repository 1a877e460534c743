import { isFresh, type DeviceEntry, type Profile } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';
import type { UserAgentInfo } from './useragent.js';

const DAY_MS = 86_400_000;

/** What a device-bound key proved: `none` when the device has no key (or the login no device id). */
export type ProofOutcome = 'valid' | 'missing' | 'invalid' | 'none';

/** Where the login is, as a device's history keys it. */
export interface DeviceWhere {
  /** The /24 (IPv4) or /64 (IPv6); null for a private address. */
  net: string | null;
  /** The /16 (IPv4) or /32 (IPv6); null for a private address. */
  range: string | null;
  /** country/region; null when not located. */
  region: string | null;
  hour: number;
}

/** The user's fresh device entry for this id, if any. */
export function knownDevice(deviceId: string | undefined, profile: Profile | null, now: number): DeviceEntry | undefined {
  if (!deviceId || !profile) return undefined;
  for (const d of profile.devices) if (d.id === deviceId) return isFresh(d, now) ? d : undefined;
  return undefined;
}

/** Whether hour `h` or an hour next to it is set in a 24-bit hour mask. */
function nearHour(mask: number, h: number): boolean {
  return ((mask >> h) & 1) === 1 || ((mask >> ((h + 23) % 24)) & 1) === 1 || ((mask >> ((h + 1) % 24)) & 1) === 1;
}

export function deviceSignals(
  deviceId: string | undefined,
  ua: UserAgentInfo,
  trusted: boolean,
  profile: Profile | null,
  now: number,
  entry: DeviceEntry | undefined,
  where: DeviceWhere,
  proof: ProofOutcome,
): FamilySignals<'device'> {
  const familyKnown = profile ? profile.families.some((f) => f.family === ua.family && isFresh(f, now)) : false;
  // The device's own history (empty for a device learned before it was kept): each "new_" signal needs some.
  const nets = entry?.nets.length ? entry.nets : null;
  const ranges = entry?.ranges.length ? entry.ranges : null;
  const regions = entry?.regions.length ? entry.regions : null;
  return {
    id_present: Boolean(deviceId),
    // A user whose logins carry the service's device id, now without one: the family alone would pass for their device.
    id_missing: !deviceId && profile !== null && profile.devices.some((d) => isFresh(d, now)),
    known: entry !== undefined,
    new: deviceId ? entry === undefined : !(ua.present && familyKnown),
    trusted,
    family_known: ua.present && familyKnown,
    ua_present: ua.present,
    automation: ua.automation,
    browser: ua.browser,
    browser_major: ua.browserMajor,
    os: ua.os,
    type: ua.deviceType,
    logins: entry?.count ?? 0,
    days_since_first_seen: entry ? Math.max(0, (now - entry.first) / DAY_MS) : -1,
    days_since_last_seen: entry ? Math.max(0, (now - entry.last) / DAY_MS) : -1,
    new_subnet: nets !== null && where.net !== null && !nets.includes(where.net),
    new_range: ranges !== null && where.range !== null && !ranges.includes(where.range),
    new_region: regions !== null && where.region !== null && !regions.includes(where.region),
    new_hour: entry !== undefined && entry.hours !== 0 && !nearHour(entry.hours, where.hour),
    ua_changed: entry !== undefined && entry.ua !== '' && ua.hash !== '' && ua.hash !== entry.ua,
    ua_downgrade: entry !== undefined && entry.major > 0 && ua.major > 0 && ua.major < entry.major,
    family_changed: entry !== undefined && ua.present && entry.family !== ua.family,
    proof,
  };
}
