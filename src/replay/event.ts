import { ipProblem } from '../signals/network.js';
import type { Fingerprint } from '../signals/fingerprint.js';
import { INPUT_LIMITS, type RecordedProof } from '../types.js';

export type { Fingerprint } from '../signals/fingerprint.js';

/** What a device-bound key proved, as a replay stream records it: a simulated outcome, not a signature. */
export type DeviceProof = RecordedProof;

/** One recorded login (docs/replay.md#input), whichever format it was read from. */
export interface LoginEvent {
  /** Milliseconds since the epoch: the replay's clock at this event. */
  time: number;
  userId: string;
  ip: string;
  userAgent: string | undefined;
  deviceId: string | undefined;
  /** Passed to the engine with the login (the fingerprint signals). */
  fingerprint?: Fingerprint | undefined;
  /** Absent: the login sent no proof. Passed to the engine as the proof's recorded outcome. */
  deviceProof?: DeviceProof | undefined;
  /** success: the password was accepted and the engine decides; failure: a wrong password. */
  outcome: 'success' | 'failure';
  /** "legit", or the attack kind. Only metrics and simulated challenge outcomes read it, never a signal. */
  label: string;
  /** Where the input itself places the login (the RBA CSV's columns); read only with `--geo csv`. */
  place?: RecordedPlace | undefined;
  /** Index of the input file, in the order given. */
  file: number;
  /** Line of the file where the record starts (1-based; a CSV header is line 1). */
  line: number;
}

/** A place as the input records it; "" where it records none. */
export interface RecordedPlace {
  country: string;
  region: string;
  city: string;
  /** The network's autonomous system number; carried, but no signal reads one yet. */
  asn: number | null;
}

export const LEGIT = 'legit';

/** A line that cannot be replayed, reported as `file:line: field: problem`. */
export interface Problem {
  file: string;
  line: number;
  field: string;
  message: string;
  kind: 'bad' | 'order';
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}: ${p.field}: ${p.message}`;
}

/** Thrown to stop a replay at its first bad line (unless bad lines are skipped). */
export class ReplayInputError extends Error {
  constructor(readonly problem: Problem) {
    super(formatProblem(problem));
    this.name = 'ReplayInputError';
  }
}

/** Why a field is unusable, or null. Shared by the readers so every format is held to the same limits as the API. */
export type FieldCheck = { field: string; message: string } | null;

export function checkUserId(v: string): FieldCheck {
  if (v === '') return { field: 'userId', message: 'missing' };
  if (v.length > INPUT_LIMITS.userId) return { field: 'userId', message: `longer than ${INPUT_LIMITS.userId} characters` };
  return null;
}

export function checkIp(v: string): FieldCheck {
  if (v === '') return { field: 'ip', message: 'missing' };
  const problem = ipProblem(v);
  return problem ? { field: 'ip', message: problem } : null;
}

export function checkOptional(field: 'userAgent' | 'deviceId', v: string | undefined): FieldCheck {
  return v !== undefined && v.length > INPUT_LIMITS[field] ? { field, message: `longer than ${INPUT_LIMITS[field]} characters` } : null;
}
