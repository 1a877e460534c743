import type { VerifyOutcome, VerifyResult, ChallengeRecord } from '../challenge/model.js';

export interface NextVerifyState {
  status: ChallengeRecord['status'];
  attempts: number;
  verifiedAt: number | null;
  outcome: VerifyOutcome;
}

/**
 * What one verify attempt does to a challenge. Pure, so every store applies the same rules
 * inside its own atomic section (a SQLite transaction; a Redis script does the same steps):
 * a challenge that is no longer pending never changes again, time is checked before the
 * answer, and a wrong answer counts even when it is the one that locks.
 */
export function nextVerifyState(c: ChallengeRecord, result: VerifyResult, now: number): NextVerifyState {
  const same = (status: VerifyOutcome['status']): NextVerifyState => ({
    status: c.status,
    attempts: c.attempts,
    verifiedAt: c.verifiedAt,
    outcome: { status, attempts: c.attempts, maxAttempts: c.maxAttempts, changed: false },
  });
  const to = (status: ChallengeRecord['status'], attempts: number, answer: VerifyOutcome['status']): NextVerifyState => ({
    status,
    attempts,
    verifiedAt: status === 'verified' ? now : c.verifiedAt,
    outcome: { status: answer, attempts, maxAttempts: c.maxAttempts, changed: true },
  });

  if (c.status === 'verified') return same('used');
  if (c.status !== 'pending') return same(c.status);
  if (now >= c.expiresAt) return to('expired', c.attempts, 'expired');
  if (c.attempts >= c.maxAttempts) return to('locked', c.attempts, 'locked');
  switch (result) {
    case 'verified':
      return to('verified', c.attempts, 'verified');
    case 'invalid': {
      const attempts = c.attempts + 1;
      return attempts >= c.maxAttempts ? to('locked', attempts, 'locked') : to('pending', attempts, 'invalid');
    }
    case 'locked':
      return to('locked', c.attempts, 'locked');
    case 'expired':
      return to('expired', c.attempts, 'expired');
  }
}
