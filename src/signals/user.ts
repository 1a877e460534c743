import type { Profile } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';

const DAY_MS = 86_400_000;

/**
 * `failedChallenges`: the wrong codes given to the user's challenges in the last 24 hours (the store counts them);
 * `passkeyCloned`: a passkey of the user signed with a counter that did not move forward.
 */
export function userSignals(profile: Profile | null, now: number, failedChallenges = 0, passkeyCloned = false): FamilySignals<'user'> {
  if (!profile || profile.logins === 0) return { known: false, logins: 0, age_days: -1, days_since_last: -1, failed_challenges_24h: failedChallenges, passkey_cloned: passkeyCloned };
  return {
    failed_challenges_24h: failedChallenges,
    known: true,
    logins: profile.logins,
    age_days: Math.max(0, (now - profile.first) / DAY_MS),
    days_since_last: Math.max(0, (now - profile.lastSeen) / DAY_MS),
    passkey_cloned: passkeyCloned,
  };
}
