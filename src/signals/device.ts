import { isFresh, type Profile } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';
import type { UserAgentInfo } from './useragent.js';

const DAY_MS = 86_400_000;

export function deviceSignals(
  deviceId: string | undefined,
  ua: UserAgentInfo,
  trusted: boolean,
  profile: Profile | null,
  now: number,
): FamilySignals<'device'> {
  const entry = deviceId && profile ? profile.devices.find((d) => d.id === deviceId && isFresh(d, now)) : undefined;
  const familyKnown = profile ? profile.families.some((f) => f.family === ua.family && isFresh(f, now)) : false;
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
  };
}
