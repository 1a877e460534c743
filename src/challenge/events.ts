import type { AuditEntry } from '../store/ports.js';
import type { VerifyOutcome, Channel, ChallengeRecord, TrustedDevice } from './model.js';
import type { DeliveryOutcome, SendAttempt } from './delivery.js';

/**
 * What happens in the challenge module, one event each. The service writes every event to the
 * audit trail (auditEntries, below) and then hands it to its listener: the metrics
 * (src/observability), which thus count what the audit trail holds. No event carries a code,
 * a secret or a token.
 */
export type ChallengeEvent =
  /** A "challenge" decision found no second factor riskgate can use. */
  | { type: 'unavailable'; decisionId: string; userId: string; ip: string }
  /** An abuse limit refused a new challenge (`ref`: the decision) or a verify attempt (`ref`: the challenge). */
  | { type: 'rate_limited'; ref: string; userId: string; ip: string; limit: string }
  /** riskgate's own limits (per phone number, per country) refused every channel of a new challenge. */
  | { type: 'destinations_limited'; decisionId: string; userId: string; ip: string; attempts: SendAttempt[] }
  | { type: 'issued'; challenge: ChallengeRecord; delivered: boolean }
  /** One round of delivery: every provider tried, in order, and whether one took the code. */
  | { type: 'sent'; challenge: ChallengeRecord; delivery: DeliveryOutcome }
  /** A resend (after its `sent`): `first` is the channel it tried first. */
  | { type: 'resent'; challenge: ChallengeRecord; delivery: DeliveryOutcome; first: Channel }
  /**
   * A verify attempt was answered. `settled`: the answer closed a challenge that was open
   * (verified, locked, expired), as opposed to a wrong code or the state of a closed one.
   */
  | { type: 'answered'; challenge: ChallengeRecord; outcome: VerifyOutcome; ip: string; method: string; settled: boolean }
  /** Closed as expired by the sweep, unanswered. */
  | { type: 'expired'; challenge: ChallengeRecord }
  /**
   * /resend asked to move a challenge on a stronger factor (TOTP, a passkey) to a code channel:
   * refused unless challenges.allowDowngrade, audited either way (`to`: the channel asked or sent on).
   */
  | { type: 'downgrade'; challenge: ChallengeRecord; to: Channel; allowed: boolean }
  /** The verify service holding the code could not check it; the attempt was not counted. */
  | { type: 'check_failed'; challenge: ChallengeRecord; provider: string; reason: string; detail: string }
  | { type: 'trust_issued'; challenge: ChallengeRecord; device: TrustedDevice }
  /** "Trust this device" was asked, but the login carried no device id to bind a token to. */
  | { type: 'trust_refused'; challenge: ChallengeRecord }
  | { type: 'trust_revoked'; userId: string; trustedDeviceId: string }
  /** Confirmed fraud revoked every trusted device of the user. */
  | { type: 'trust_revoked_all'; userId: string; decisionId: string; count: number }
  | { type: 'totp_enrolled' | 'totp_deleted' | 'totp_resealed' | 'totp_unreadable' | 'recovery_used'; userId: string }
  | { type: 'totp_confirmed'; userId: string; ok: boolean }
  | { type: 'recovery_generated'; userId: string; count: number }
  | { type: 'passkey_registered'; userId: string; passkeyId: string; format: string; userVerified: boolean }
  | { type: 'passkey_registration_failed'; userId: string; reason: string }
  | { type: 'passkey_deleted'; userId: string; passkeyId: string }
  /** An assertion answering the challenge was refused (`passkeyId` null: not a passkey of the challenge's user). */
  | { type: 'passkey_rejected'; challenge: ChallengeRecord; passkeyId: string | null; reason: string }
  /** A valid assertion whose signature counter did not move forward: refused, the sign of a cloned authenticator. */
  | { type: 'passkey_counter_regressed'; challenge: ChallengeRecord; passkeyId: string; stored: number; presented: number };

export type AuditFields = Pick<AuditEntry, 'kind' | 'ref' | 'userId' | 'ip' | 'detail'>;

const AUDIT_OF_STATUS: Record<VerifyOutcome['status'], string> = {
  verified: 'challenge.verified',
  invalid: 'challenge.failed',
  expired: 'challenge.expired',
  locked: 'challenge.locked',
  used: 'challenge.reused',
};

/** The audit entry of a challenge's event: the challenge is its reference. */
const about = (c: ChallengeRecord, kind: string, detail: AuditFields['detail'], ip: string = c.ip): AuditFields => ({ kind, ref: c.id, userId: c.userId, ip, detail });
/** The audit entry of an event about a user's factors, not about one login. */
const ofUser = (userId: string, kind: string, detail: AuditFields['detail'] = null): AuditFields => ({ kind, ref: null, userId, ip: null, detail });
const iso = (t: number) => new Date(t).toISOString();

/**
 * How an event is written to the audit trail: one entry, or one per provider tried. The kinds
 * are listed in docs/challenges.md.
 */
export function auditEntries(e: ChallengeEvent): AuditFields[] {
  switch (e.type) {
    case 'unavailable':
      return [{ kind: 'challenge.unavailable', ref: e.decisionId, userId: e.userId, ip: e.ip, detail: { reason: 'no confirmed TOTP, and no phone or e-mail with a configured provider' } }];
    case 'rate_limited':
      return [{ kind: 'challenge.rate_limited', ref: e.ref, userId: e.userId, ip: e.ip, detail: { limit: e.limit } }];
    case 'destinations_limited':
      return [{ kind: 'challenge.rate_limited', ref: e.decisionId, userId: e.userId, ip: e.ip, detail: { limits: e.attempts.map((a) => a.detail) } }];
    case 'issued': {
      const c = e.challenge;
      return [about(c, 'challenge.created', { decisionId: c.decisionId, channel: c.channel, delivered: e.delivered, expiresAt: iso(c.expiresAt) })];
    }
    case 'sent':
      return e.delivery.attempts.map((a) => about(e.challenge, 'challenge.sent', { channel: a.channel, provider: a.provider, result: a.result, ...(a.detail ? { detail: a.detail } : {}) }));
    case 'resent':
      return [about(e.challenge, 'challenge.resent', { from: e.challenge.channel, to: e.delivery.ok ? e.delivery.channel : null, delivered: e.delivery.ok })];
    case 'answered':
      return [about(e.challenge, AUDIT_OF_STATUS[e.outcome.status], { method: e.method, attempts: e.outcome.attempts, maxAttempts: e.outcome.maxAttempts }, e.ip)];
    case 'expired':
      return [about(e.challenge, 'challenge.expired', { channel: e.challenge.channel, attempts: e.challenge.attempts, unanswered: true })];
    case 'downgrade':
      return [about(e.challenge, e.allowed ? 'challenge.downgraded' : 'challenge.downgrade_refused', { from: e.challenge.channel, to: e.to })];
    case 'check_failed':
      return [about(e.challenge, 'challenge.check_failed', { provider: e.provider, reason: e.reason, detail: e.detail })];
    case 'trust_issued':
      return [{ kind: 'trust.issued', ref: e.device.id, userId: e.challenge.userId, ip: e.challenge.ip, detail: { challengeId: e.challenge.id, expiresAt: iso(e.device.expiresAt) } }];
    case 'trust_refused':
      return [about(e.challenge, 'trust.refused', { reason: 'the login carried no deviceId to bind the token to' })];
    case 'trust_revoked':
      return [{ kind: 'trust.revoked', ref: e.trustedDeviceId, userId: e.userId, ip: null, detail: { reason: 'api' } }];
    case 'trust_revoked_all':
      return [{ kind: 'trust.revoked', ref: e.decisionId, userId: e.userId, ip: null, detail: { reason: 'confirmed_fraud', count: e.count } }];
    case 'totp_enrolled':
      return [ofUser(e.userId, 'totp.enrolled')];
    case 'totp_confirmed':
      return [ofUser(e.userId, e.ok ? 'totp.confirmed' : 'totp.confirm_failed')];
    case 'totp_deleted':
      return [ofUser(e.userId, 'totp.deleted')];
    case 'totp_resealed':
      return [ofUser(e.userId, 'totp.resealed')];
    case 'totp_unreadable':
      return [ofUser(e.userId, 'totp.unreadable', { reason: 'no current or previous RISKGATE_SECRET opens the enrolment; the user must enrol again' })];
    case 'recovery_generated':
      return [ofUser(e.userId, 'recovery.generated', { count: e.count })];
    case 'recovery_used':
      return [ofUser(e.userId, 'recovery.used')];
    case 'passkey_registered':
      return [{ kind: 'passkey.registered', ref: e.passkeyId, userId: e.userId, ip: null, detail: { format: e.format, userVerified: e.userVerified } }];
    case 'passkey_registration_failed':
      return [ofUser(e.userId, 'passkey.registration_failed', { reason: e.reason })];
    case 'passkey_deleted':
      return [{ kind: 'passkey.deleted', ref: e.passkeyId, userId: e.userId, ip: null, detail: null }];
    case 'passkey_rejected':
      return [about(e.challenge, 'passkey.rejected', { passkeyId: e.passkeyId, reason: e.reason })];
    case 'passkey_counter_regressed':
      return [about(e.challenge, 'passkey.counter_regressed', { passkeyId: e.passkeyId, stored: e.stored, presented: e.presented })];
  }
}
