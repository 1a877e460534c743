import type { Action } from '../types.js';
import type { CompiledList } from '../signals/lists.js';
import type { Signals } from '../signals/schema.js';
import type { Template } from './template.js';

/** A rule after loading: its condition and message are closures, nothing is parsed per decision. */
export interface CompiledRule {
  readonly id: string;
  readonly description: string;
  readonly severity: string;
  readonly points: number;
  /** Minimum action when the rule fires, whatever the score. */
  readonly force: Action | null;
  /** Evaluated and reported, but neither scores nor forces. */
  readonly shadow: boolean;
  /** false: its points count only when a standalone rule with points fired too. */
  readonly standalone: boolean;
  /** The condition as written (CEL), for explanations. */
  readonly when: string;
  readonly condition: (ctx: RuleContext) => unknown;
  /** The condition runs as a JavaScript closure (src/rules/native.ts), not in the CEL interpreter. */
  readonly native: boolean;
  readonly message: Template;
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export type RuleContext = Record<string, Record<string, unknown>>;

export interface Thresholds {
  challenge: number;
  block: number;
}

export interface EnrollPolicy {
  suggest: 'passkey';
  on: readonly ('allow' | 'challenge')[];
}

export interface RuleSet {
  /** What decisions report: the policy's version label and the content hash. */
  readonly version: string;
  readonly label: string | null;
  /** sha256 of the rule files (names and contents), hex. */
  readonly hash: string;
  readonly dir: string;
  readonly files: readonly string[];
  readonly rules: readonly CompiledRule[];
  readonly lists: readonly CompiledList[];
  readonly severities: Readonly<Record<string, number>>;
  readonly thresholds: Thresholds;
  /** The policy's enrolment nudge: which factor to suggest, on which decisions; null when the policy has none. */
  readonly enroll: EnrollPolicy | null;
  /** Each rule ("rule <id>"), list ("list <name>") and the policy ("policy") as written, in a canonical text: what a reload compares. */
  readonly definitions: Readonly<Record<string, string>>;
  /** Wraps the signal families in the types the conditions were checked against. */
  context(signals: Signals): RuleContext;
}
