import { ipProblem } from '../signals/network.js';
import { INPUT_LIMITS } from '../types.js';

/**
 * Client attributes a login page can read in the browser. All optional: browsers expose
 * different subsets (only Chromium has deviceMemory).
 */
export interface Fingerprint {
  /** IANA zone the browser reports (Intl.DateTimeFormat().resolvedOptions().timeZone). */
  timeZone?: string;
  languages?: string[];
  /** screen.width x screen.height, e.g. "1920x1080". */
  screen?: string;
  platform?: string;
  hardwareConcurrency?: number;
  deviceMemory?: number;
  colorDepth?: number;
  /** navigator.maxTouchPoints. */
  touch?: number;
  /** A hash of the WebGL renderer string. */
  webglHash?: string;
}

/** What a device-bound key proved, as a replay stream records it: a simulated outcome, not a signature. */
export type DeviceProof = 'valid' | 'invalid';

/** One recorded login (docs/replay.md#input), whichever format it was read from. */
export interface LoginEvent {
  /** Milliseconds since the epoch: the replay's clock at this event. */
  time: number;
  userId: string;
  ip: string;
  userAgent: string | undefined;
  deviceId: string | undefined;
  /** Carried for the device signals; replay does not pass it to the engine yet. */
  fingerprint?: Fingerprint | undefined;
  /** Absent: the login sent no proof. Carried like the fingerprint. */
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
