import { checkIp, checkOptional, checkUserId, LEGIT, type DeviceProof, type FieldCheck, type Fingerprint, type LoginEvent } from './event.js';
import { parseIsoTime } from './timestamps.js';

/** A record as read, before it is placed in its file. */
export type EventFields = Omit<LoginEvent, 'file' | 'line'>;
export type Parsed = EventFields | { problem: NonNullable<FieldCheck> };

const bad = (field: string, message: string): Parsed => ({ problem: { field, message } });

function optionalString(o: Record<string, unknown>, field: string): string | undefined | null {
  const v = o[field];
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : null;
}

const FINGERPRINT_STRINGS = ['timeZone', 'screen', 'platform', 'webglHash'] as const;
const FINGERPRINT_NUMBERS = ['hardwareConcurrency', 'deviceMemory', 'colorDepth', 'touch'] as const;
const FINGERPRINT_KEYS = new Set<string>([...FINGERPRINT_STRINGS, ...FINGERPRINT_NUMBERS, 'languages']);
/** Bounds on a fingerprint's values: client attributes are short; anything longer is not one. */
const MAX_ATTRIBUTE = 256;
const MAX_LANGUAGES = 16;

/** A fingerprint object as recorded, checked attribute by attribute; every attribute is optional. */
type Checked<T> = { value: T } | { problem: NonNullable<FieldCheck> };

function parseFingerprint(v: unknown): Checked<Fingerprint> {
  const field = 'fingerprint';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { problem: { field, message: 'expected an object of client attributes' } };
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !FINGERPRINT_KEYS.has(k));
  if (unknown !== undefined) return { problem: { field: `${field}.${unknown.slice(0, 40)}`, message: `not a fingerprint attribute (expected one of ${[...FINGERPRINT_KEYS].join(', ')})` } };
  const fp: Fingerprint = {};
  for (const k of FINGERPRINT_STRINGS) {
    const x = o[k];
    if (x === undefined) continue;
    if (typeof x !== 'string') return { problem: { field: `${field}.${k}`, message: 'expected a string' } };
    if (x.length > MAX_ATTRIBUTE) return { problem: { field: `${field}.${k}`, message: `longer than ${MAX_ATTRIBUTE} characters` } };
    fp[k] = x;
  }
  for (const k of FINGERPRINT_NUMBERS) {
    const x = o[k];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) return { problem: { field: `${field}.${k}`, message: 'expected a number, 0 or more' } };
    fp[k] = x;
  }
  const langs = o.languages;
  if (langs !== undefined) {
    if (!Array.isArray(langs) || langs.length > MAX_LANGUAGES || !langs.every((l): l is string => typeof l === 'string' && l.length <= MAX_ATTRIBUTE)) {
      return { problem: { field: `${field}.languages`, message: `expected an array of at most ${MAX_LANGUAGES} language tags` } };
    }
    fp.languages = langs;
  }
  return { value: fp };
}

function parseDeviceProof(v: unknown): Checked<DeviceProof | undefined> {
  if (v === undefined || v === null) return { value: undefined };
  if (v === 'valid' || v === 'invalid') return { value: v };
  return { problem: { field: 'deviceProof', message: `expected "valid" or "invalid", found ${JSON.stringify(v).slice(0, 40)}` } };
}

/**
 * One line of a JSONL login stream (docs/replay.md#input): time, userId, ip, userAgent, deviceId,
 * outcome, label. Unknown fields are ignored, so streams
 * can carry more; the optional fingerprint and deviceProof are checked and carried.
 */
export function parseJsonEvent(text: string): Parsed {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    return bad('record', `not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return bad('record', 'not a JSON object');
  const r = o as Record<string, unknown>;

  if (typeof r.time !== 'string') return bad('time', r.time === undefined ? 'missing' : 'expected an ISO 8601 time string');
  const time = parseIsoTime(r.time);
  if (time === null) return bad('time', `"${r.time.slice(0, 40)}" is not an ISO 8601 time with a zone, e.g. 2026-03-02T08:15:00.000Z`);
  if (r.userId === undefined) return bad('userId', 'missing');
  if (typeof r.userId !== 'string') return bad('userId', 'expected a string');
  if (r.ip === undefined) return bad('ip', 'missing');
  if (typeof r.ip !== 'string') return bad('ip', 'expected a string');
  const userAgent = optionalString(r, 'userAgent');
  if (userAgent === null) return bad('userAgent', 'expected a string');
  const deviceId = optionalString(r, 'deviceId');
  if (deviceId === null) return bad('deviceId', 'expected a string');
  if (r.outcome !== 'success' && r.outcome !== 'failure') {
    return bad('outcome', r.outcome === undefined ? 'missing' : `expected "success" or "failure", found ${JSON.stringify(r.outcome).slice(0, 40)}`);
  }
  const label = optionalString(r, 'label');
  if (label === null) return bad('label', 'expected a string');
  const problem = checkUserId(r.userId) ?? checkIp(r.ip) ?? checkOptional('userAgent', userAgent) ?? checkOptional('deviceId', deviceId);
  if (problem) return { problem };
  const event: EventFields = { time, userId: r.userId, ip: r.ip, userAgent, deviceId, outcome: r.outcome, label: label ?? LEGIT };
  if (r.fingerprint !== undefined && r.fingerprint !== null) {
    const fp = parseFingerprint(r.fingerprint);
    if ('problem' in fp) return fp;
    event.fingerprint = fp.value;
  }
  const proof = parseDeviceProof(r.deviceProof);
  if ('problem' in proof) return proof;
  if (proof.value !== undefined) event.deviceProof = proof.value;
  return event;
}
