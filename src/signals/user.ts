import type { Profile } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';

const DAY_MS = 86_400_000;

export function userSignals(profile: Profile | null, now: number, passkeyCloned = false): FamilySignals<'user'> {
  if (!profile || profile.logins === 0) return { known: false, logins: 0, age_days: -1, days_since_last: -1, passkey_cloned: passkeyCloned };
  return {
    known: true,
    logins: profile.logins,
    age_days: Math.max(0, (now - profile.first) / DAY_MS),
    days_since_last: Math.max(0, (now - profile.lastSeen) / DAY_MS),
    passkey_cloned: passkeyCloned,
  };
}
