/** Shared vocabulary of the engine. Nothing here knows about HTTP, files or the wall clock. */
import type { Fingerprint } from './signals/fingerprint.js';

export type Action = 'allow' | 'challenge' | 'block';

/** Severity order of actions: a forced action can only raise, never lower, the table's answer. */
export const ACTION_RANK: Readonly<Record<Action, number>> = { allow: 0, challenge: 1, block: 2 };

export function maxAction(a: Action, b: Action): Action {
  return ACTION_RANK[a] >= ACTION_RANK[b] ? a : b;
}

/**
 * What a decision does when the state store cannot be read in time (docs/configuration.md):
 * both modes run the rules without history (no profile, no counters, no trust); `closed`
 * then asks for at least a challenge, `open` keeps what the rules say.
 */
export type StoreFailMode = 'open' | 'closed';

/** Milliseconds since the epoch. The engine is always handed one; it never reads Date.now(). */
export type Clock = () => number;

/** Longest values the engine takes (the HTTP schemas and replay's readers both hold inputs to them). */
export const INPUT_LIMITS = { userId: 256, userAgent: 2048, deviceId: 256 } as const;

/** A device-bound key's proof as a decision request carries it: the time it signed (ms since the epoch) and the signature (base64url, IEEE P1363 r||s as WebCrypto makes it). */
export interface DeviceProofInput {
  time: number;
  signature: string;
}

/** A replay's recorded outcome of a proof, in place of a signature (docs/replay.md#device-evidence-optional). */
export type RecordedProof = 'valid' | 'invalid';

/** A login whose password was accepted (or a sensitive action), as the login service reports it. */
export interface LoginAttempt {
  userId: string;
  ip: string;
  userAgent?: string | undefined;
  deviceId?: string | undefined;
  trustToken?: string | undefined;
  phone?: string | undefined;
  country?: string | undefined;
  email?: string | undefined;
  /** `login` unless the service asks about another action, e.g. `change_password`. */
  action?: string | undefined;
  /** Client attributes the login page read (src/signals/fingerprint.ts). */
  fingerprint?: Fingerprint | undefined;
  /**
   * The device-bound key's signature for this login; or, from a replay only, the outcome a
   * recorded stream gives for it.
   */
  deviceProof?: DeviceProofInput | RecordedProof | undefined;
}

/** A wrong password: who, from where, on what. */
export type LoginFailure = Pick<LoginAttempt, 'userId' | 'ip' | 'userAgent' | 'deviceId'>;

/** One rule that fired, as it is explained to callers. */
export interface Reason {
  rule: string;
  points: number;
  message: string;
}

export type FeedbackOutcome = 'passed_challenge' | 'failed_challenge' | 'confirmed_fraud' | 'confirmed_legit';
