import { checkIp, checkOptional, checkUserId, LEGIT, type FieldCheck, type LoginEvent } from './event.js';
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

/** One line of a JSONL login stream (docs/replay.md#input): time, userId, ip, userAgent, deviceId, outcome, label. Unknown fields are ignored, so streams can carry more. */
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
  return { time, userId: r.userId, ip: r.ip, userAgent, deviceId, outcome: r.outcome, label: label ?? LEGIT };
}
