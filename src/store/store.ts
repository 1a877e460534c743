import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ChallengeDelivery, ChallengeRecord, TotpRecord, TrustedDevice, VerifyOutcome, VerifyResult } from '../challenge/model.js';
import type { FailureCounts, FailureSubjects } from '../signals/attempts.js';
import type { Observation, Profile } from '../profile/profile.js';
import type { Action, Reason } from '../types.js';

/** What the engine remembers of a decision: enough to learn it later (step-up passed) or unlearn it. */
export interface DecisionRecord {
  id: string;
  time: number;
  userId: string;
  ip: string;
  /** What the service asked about: "login", "change_password"... */
  requestAction: string;
  action: Action;
  score: number;
  reasons: Reason[];
  /** Shadow rules that fired. */
  shadow: string[];
  rulesVersion: string;
  observation: Observation;
}

/** Makes (or returns) the rate-limiter-flexible limiter a store keeps under `name`; its keys live `durationSec`. */
export type LimiterFactory = (name: string, durationSec: number) => RateLimiterAbstract;

/** One line of the audit trail. Decisions appear as kind "decision" with `ref` = decision id. */
export interface AuditEntry {
  time: number;
  kind: string;
  /** The decision (or challenge) the entry is about. */
  ref: string | null;
  userId: string | null;
  ip: string | null;
  action: string | null;
  score: number | null;
  rules: string[];
  rulesVersion: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditQuery {
  userId?: string | undefined;
  kind?: string | undefined;
  ref?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  limit?: number | undefined;
}

/**
 * What challenges need from a store. Every method is one atomic step, so that several riskgate
 * instances on one Redis never lose an attempt, reuse a recovery code or accept a TOTP step twice.
 */
export interface ChallengeStore {
  /** Stores a new challenge (its id is new). */
  createChallenge(c: ChallengeRecord): Promise<void>;
  getChallenge(id: string): Promise<ChallengeRecord | null>;
  /**
   * One verify attempt, in one atomic step: a challenge no longer pending answers its state
   * ("used" once verified) unchanged; past `expiresAt` it becomes expired; otherwise "invalid"
   * adds one attempt and locks at `maxAttempts`, and the other results set that status.
   * Null when there is no such challenge.
   */
  recordVerifyAttempt(id: string, result: VerifyResult, now: number): Promise<VerifyOutcome | null>;
  /** A new code was sent for a pending challenge: replaces its delivery, adds one send, keeps the attempts. False when not pending. */
  recordDelivery(id: string, delivery: ChallengeDelivery): Promise<boolean>;
  /** Marks up to `limit` pending challenges whose `expiresAt` has passed as expired and returns them: each is returned once, by one caller. */
  expireChallenges(now: number, limit: number): Promise<ChallengeRecord[]>;

  getTotp(userId: string): Promise<TotpRecord | null>;
  /** Creates or replaces the user's enrolment. */
  putTotp(record: TotpRecord): Promise<void>;
  deleteTotp(userId: string): Promise<boolean>;
  /** Accepts a TOTP time step only if it is later than the last accepted one (compare-and-set); false is a replay. */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  /** Replaces the sealed secret `from` by `to` (the same secret under a newer key), only if it is still `from`; nothing else changes. */
  resealTotp(userId: string, from: string, to: string): Promise<boolean>;

  /** Replaces all of the user's recovery codes (hashes) with a new set, in one step. */
  replaceRecoveryCodes(userId: string, hashes: string[], now: number): Promise<void>;
  /** Marks one unused recovery code used; false when there is no such unused code. Single use under concurrency. */
  useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean>;

  addTrustedDevice(d: TrustedDevice): Promise<void>;
  /** The user's trusted devices that have not expired at `now`. */
  listTrustedDevices(userId: string, now: number): Promise<TrustedDevice[]>;
  /** Revokes one trusted device of the user, or all of them without `id`; returns how many. */
  revokeTrustedDevices(userId: string, id?: string): Promise<number>;
}

/**
 * The state interface every store implements (SQLite embedded, Redis for several instances).
 * Everything is async so that a networked store fits; everything that changes a profile is
 * atomic per user, so two concurrent logins of one user never lose an update.
 */
export interface Store extends ChallengeStore {
  readonly kind: string;

  getProfile(userId: string): Promise<Profile | null>;
  /** Teaches the user's profile one login; false when that decision had already taught it. */
  learn(userId: string, decisionId: string, observation: Observation): Promise<boolean>;
  /** Takes back what a decision taught; false when it taught nothing (or was already unlearned). */
  unlearn(decisionId: string): Promise<boolean>;

  /** Keeps the decision for later feedback and writes its audit entry. */
  saveDecision(record: DecisionRecord): Promise<void>;
  getDecision(id: string): Promise<DecisionRecord | null>;

  audit(entry: AuditEntry): Promise<void>;
  queryAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /**
   * Deletes audit entries, decision records and challenges older than `before`; returns how
   * many. (Redis prunes its instance's audit trail here; its decision records and challenges
   * go by their own TTL, the same retention.)
   */
  prune(before: number): Promise<number>;

  /**
   * Counts a failed password for its user, address and device, atomically (several instances
   * may count at once); the counts at `now` include it. See src/signals/attempts.ts.
   */
  addFailure(subjects: FailureSubjects, now: number): Promise<FailureCounts>;
  /** The failed-password counts a login at `now` is judged with, read in one step. */
  failureCounts(subjects: FailureSubjects, now: number): Promise<FailureCounts>;

  /** rate-limiter-flexible limiters kept in this store (the challenge abuse limits). */
  readonly limiter: LimiterFactory;

  close(): Promise<void>;
}
