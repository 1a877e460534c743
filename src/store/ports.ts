import type { ChallengeDelivery, ChallengeRecord, PasskeyRecord, TotpRecord, TrustedDevice, VerifyOutcome, VerifyResult } from '../challenge/model.js';
import type { Observation, Profile } from '../profile/profile.js';
import type { FailureCounts, FailureSubjects } from '../signals/attempts.js';
import type { Action, Reason } from '../types.js';

/**
 * The state riskgate keeps, as one narrow port per job: each part of riskgate takes only the
 * ports it uses. Every backend (SQLite embedded, Redis for several instances) implements all
 * of them and passes the same contract suite (test/store.contract.test.ts). Everything is
 * async so that a networked store fits; each call is one atomic step, so that several
 * instances on one store never lose an update.
 */

/** Users' learned login history. Learning is atomic per user: two concurrent logins of one user never lose an update. */
export interface ProfileStore {
  get(userId: string): Promise<Profile | null>;
  /** Teaches the user's profile one login; false when that decision had already taught it. */
  learn(userId: string, decisionId: string, observation: Observation): Promise<boolean>;
  /** Takes back what a decision taught; false when it taught nothing (or was already unlearned). */
  unlearn(decisionId: string): Promise<boolean>;
}

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

/** Decisions kept for feedback and passed challenges, on any instance. */
export interface DecisionLog {
  /** Keeps the decision, and writes its entry to the audit trail (decisionEntry). */
  save(record: DecisionRecord): Promise<void>;
  get(id: string): Promise<DecisionRecord | null>;
}

/** One line of the audit trail. */
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

/** The audit trail: appended to by every part, read by GET /v1/audit. */
export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first; at most `limit` (100 by default, 1 to 1000). */
  query(query: AuditQuery): Promise<AuditEntry[]>;
}

/** A decision as the audit trail shows it: kind "decision", `ref` the decision id. */
export function decisionEntry(r: DecisionRecord): AuditEntry {
  return {
    time: r.time,
    kind: 'decision',
    ref: r.id,
    userId: r.userId,
    ip: r.ip,
    action: r.action,
    score: r.score,
    rules: r.reasons.map((x) => x.rule),
    rulesVersion: r.rulesVersion,
    detail: { requestAction: r.requestAction, reasons: r.reasons, shadow: r.shadow, observation: r.observation },
  };
}

/** The decision an audit entry of kind "decision" records: decisionEntry read back. */
export function decisionOf(e: AuditEntry): DecisionRecord {
  const detail = e.detail as Pick<DecisionRecord, 'requestAction' | 'reasons' | 'shadow' | 'observation'>;
  return {
    id: e.ref ?? '',
    time: e.time,
    userId: e.userId ?? '',
    ip: e.ip ?? '',
    requestAction: detail.requestAction,
    action: e.action as DecisionRecord['action'],
    score: e.score ?? 0,
    reasons: detail.reasons,
    shadow: detail.shadow,
    rulesVersion: e.rulesVersion ?? '',
    observation: detail.observation,
  };
}

/** Failed passwords, and wrong answers to challenges, over sliding windows (src/signals/attempts.ts). */
export interface FailureCounters {
  /** Counts a failed password for its user, address and device, atomically (several instances may count at once); the counts at `now` include it. */
  add(subjects: FailureSubjects, now: number): Promise<FailureCounts>;
  /** The counts a login at `now` is judged with, read in one step. */
  counts(subjects: FailureSubjects, now: number): Promise<FailureCounts>;
  /** Counts a wrong answer to one of the user's challenges (`user.failed_challenges_24h`), atomically. */
  addWrongCode(userId: string, now: number): Promise<void>;
}

/** What a login is judged with, as the store holds it: the user's profile and the failure counts of its subjects. */
export interface LoginHistory {
  profile: Profile | null;
  counts: FailureCounts;
}

/**
 * Everything a decision reads of the store, in one call, so that a store on the network answers
 * it in one round trip (Redis: one script). A store whose reads are local puts its own reads
 * together (readsOf).
 */
export interface LoginReads {
  /** The user's profile and the failure counts of the login's user, address and device at `now`, as `profiles.get` and `failures.counts` answer them. */
  read(subjects: FailureSubjects, now: number): Promise<LoginHistory>;
}

/** LoginReads made of a backend's profile and failure reads, issued together. */
export function readsOf(ports: Pick<StorePorts, 'profiles' | 'failures'>): LoginReads {
  return {
    async read(subjects, now) {
      const [profile, counts] = await Promise.all([ports.profiles.get(subjects.userId), ports.failures.counts(subjects, now)]);
      return { profile, counts };
    },
  };
}

/** Counters that expire (the challenge abuse limits), shared by every instance. */
export interface LimitCounters {
  /**
   * Adds `points` (negative to give some back) to the counter `key` of `limit`, which lives
   * `ttlSec` from its first point; answers the count after. Atomic: concurrent adds each see a
   * count of their own.
   */
  add(limit: string, key: string, points: number, ttlSec: number): Promise<number>;
}

/** Step-up challenges: each change is one atomic step, so answers on several instances count one by one. */
export interface ChallengeRecords {
  /** Stores a new challenge (its id is new). */
  createChallenge(c: ChallengeRecord): Promise<void>;
  getChallenge(id: string): Promise<ChallengeRecord | null>;
  /**
   * One verify attempt, in one atomic step (nextVerifyState, src/store/verify-attempt.ts): a
   * challenge no longer pending answers its state ("used" once verified) unchanged; past
   * `expiresAt` it becomes expired; otherwise "invalid" adds one attempt and locks at
   * `maxAttempts`, and the other results set that status. Null when there is no such challenge.
   */
  recordVerifyAttempt(id: string, result: VerifyResult, now: number): Promise<VerifyOutcome | null>;
  /** A new code was sent for a pending challenge: replaces its delivery, adds one send, keeps the attempts. False when not pending. */
  recordDelivery(id: string, delivery: ChallengeDelivery): Promise<boolean>;
  /** Marks up to `limit` pending challenges whose `expiresAt` has passed as expired and returns them: each is returned once, by one caller. */
  expireChallenges(now: number, limit: number): Promise<ChallengeRecord[]>;
}

/** Users' authenticator enrolments. A step is accepted once, on any instance. */
export interface TotpEnrolments {
  getTotp(userId: string): Promise<TotpRecord | null>;
  /** Creates or replaces the user's enrolment. */
  putTotp(record: TotpRecord): Promise<void>;
  deleteTotp(userId: string): Promise<boolean>;
  /** Accepts a TOTP time step only if it is later than the last accepted one (compare-and-set); false is a replay. */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  /** Replaces the sealed secret `from` by `to` (the same secret under a newer key), only if it is still `from`; nothing else changes. */
  resealTotp(userId: string, from: string, to: string): Promise<boolean>;
}

/** Users' recovery codes, kept as hashes. */
export interface RecoveryCodes {
  /** Replaces all of the user's recovery codes (hashes) with a new set, in one step. */
  replaceRecoveryCodes(userId: string, hashes: string[], now: number): Promise<void>;
  /** Marks one unused recovery code used; false when there is no such unused code. Single use under concurrency. */
  useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean>;
}

/** The devices users chose to trust (what trust tokens are checked against). */
export interface TrustedDevices {
  addTrustedDevice(d: TrustedDevice): Promise<void>;
  /** The user's trusted devices that have not expired at `now`. */
  listTrustedDevices(userId: string, now: number): Promise<TrustedDevice[]>;
  /** Revokes one trusted device of the user, or all of them without `id`; returns how many. */
  revokeTrustedDevices(userId: string, id?: string): Promise<number>;
}

/**
 * Users' passkeys, and the registration challenges handed to browsers. A registration
 * challenge is spent once; a passkey's signature counter only moves forward; both are one
 * atomic step on every backend, so several instances never accept one response twice.
 */
export interface Passkeys {
  /** Keeps a registration challenge (base64url) made at `now` for the user until `expiresAt`. */
  addRegistration(userId: string, challenge: string, now: number, expiresAt: number): Promise<void>;
  /** Spends the user's registration challenge: true once, if it exists and is live at `now`; false for an unknown, spent or expired one. */
  takeRegistration(userId: string, challenge: string, now: number): Promise<boolean>;
  /** Stores a new passkey; false (nothing stored) when its credential id is already registered, to this user or another. */
  addPasskey(p: PasskeyRecord): Promise<boolean>;
  /** The user's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<PasskeyRecord[]>;
  /** Removes one passkey of the user; false when the user has none with this id. */
  deletePasskey(userId: string, id: string): Promise<boolean>;
  /**
   * An accepted use: sets the counter to `counter` and lastUsedAt to `now`, only if `counter`
   * is above the stored one, or both are 0 (an authenticator that keeps no counter). False
   * when it is not (a replayed assertion, or a cloned authenticator) or there is no such passkey.
   */
  useCounter(userId: string, id: string, counter: number, now: number): Promise<boolean>;
  /** Marks the passkey as cloned at `now`, unless it already is; false when there is no such passkey. */
  markCloned(userId: string, id: string, now: number): Promise<boolean>;
  /** The earliest clone mark among the user's passkeys, or null: what the engine's `user.passkey_cloned` signal reads. */
  clonedAt(userId: string): Promise<number | null>;
}

/** What the challenge module keeps: challenges and the user's second factors. */
export interface ChallengeState extends ChallengeRecords, TotpEnrolments, RecoveryCodes, TrustedDevices {}

/** The first answer to a request sent with an Idempotency-Key, kept to answer its retries. */
export interface IdempotentAnswer {
  status: number;
  /** The body as sent (JSON text). */
  body: string;
}

export type IdempotencyClaim =
  /** The caller runs the request, then completes or releases the key. */
  | { state: 'claimed' }
  /** A request with this key runs now (on this instance or another). */
  | { state: 'running'; fingerprint: string }
  | { state: 'done'; fingerprint: string; answer: IdempotentAnswer };

/**
 * Idempotency keys (src/http/idempotency.ts): which request holds a key, and its answer.
 * Expiry is judged on the caller's clock, so every backend agrees; each backend also drops
 * expired keys by itself (a TTL, or `expire`).
 */
export interface IdempotencyKeys {
  /**
   * Atomically (several instances may race): when `key` holds no claim or answer live at
   * `now`, claims it for the request `fingerprint` until `now + claimMs` ("claimed"); else
   * says what it holds. The fingerprint tells a retry from another request with the same key.
   */
  claim(key: string, fingerprint: string, now: number, claimMs: number): Promise<IdempotencyClaim>;
  /** Keeps the claimed request's answer until `now + keepMs`. */
  complete(key: string, fingerprint: string, answer: IdempotentAnswer, now: number, keepMs: number): Promise<void>;
  /** Drops the claim of a request that failed, so that a retry runs again; an answer stays. */
  release(key: string, fingerprint: string): Promise<void>;
  /** Deletes what expired before `now`; how many. A backend whose keys expire by themselves answers 0. */
  expire(now: number): Promise<number>;
}

/** Every port of one backend. */
export interface StorePorts {
  profiles: ProfileStore;
  decisions: DecisionLog;
  audit: AuditLog;
  failures: FailureCounters;
  logins: LoginReads;
  limits: LimitCounters;
  challenges: ChallengeState;
  passkeys: Passkeys;
  idempotency: IdempotencyKeys;
}

/** A backend as the server opens it: its ports, and what only the server does with it. */
export interface Backend extends StorePorts {
  /** "sqlite", "redis"... for /healthz and the log. */
  readonly kind: string;
  /**
   * Deletes audit entries, decision records and challenges older than `before`; returns how
   * many. (A backend that expires records by TTL prunes only what has none.)
   */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}
