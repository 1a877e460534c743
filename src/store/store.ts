import type { LimiterFactory } from '../signals/attempts.js';
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
 * The state interface every store implements (SQLite embedded, Redis for several instances).
 * Everything is async so that a networked store fits; everything that changes a profile is
 * atomic per user, so two concurrent logins of one user never lose an update.
 */
export interface Store {
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
  /** Deletes audit entries and decision records older than `before`; returns how many. */
  prune(before: number): Promise<number>;

  /** rate-limiter-flexible limiters kept in this store (failure counters, abuse limits). */
  readonly limiter: LimiterFactory;

  close(): Promise<void>;
}
