import { checkIp, checkOptional, checkUserId, LEGIT, type RecordedPlace } from './event.js';
import type { Parsed } from './jsonl.js';
import { parseRbaTime } from './timestamps.js';

/**
 * The public RBA dataset (Wiefling et al.) as CSV, mapped as docs/replay.md#input says. Columns
 * are found by name, so a file with the columns in another order, or a few more, still reads.
 */
const COLUMNS = {
  time: 'Login Timestamp',
  userId: 'User ID',
  ip: 'IP Address',
  userAgent: 'User Agent String',
  success: 'Login Successful',
  attackIp: 'Is Attack IP',
  takeover: 'Is Account Takeover',
} as const;

/** Where the dataset places each login; optional, read by `--geo csv`. */
const PLACE_COLUMNS = { country: 'Country', region: 'Region', city: 'City', asn: 'ASN' } as const;

export type RbaLayout = { -readonly [K in keyof typeof COLUMNS]: number } & {
  fields: number;
  place: { -readonly [K in keyof typeof PLACE_COLUMNS]: number } | null;
};

export const ATTACK_IP = 'attack_ip';
export const ACCOUNT_TAKEOVER = 'account_takeover';

/** The column positions when `header` is the RBA dataset's header, else null. */
export function rbaLayout(header: readonly string[]): RbaLayout | null {
  const at = new Map(header.map((h, i) => [h.trim(), i]));
  const layout: Partial<RbaLayout> = { fields: header.length };
  for (const [key, name] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, string][]) {
    const i = at.get(name);
    if (i === undefined) return null;
    layout[key] = i;
  }
  const place = Object.fromEntries(Object.entries(PLACE_COLUMNS).map(([key, name]) => [key, at.get(name)]));
  layout.place = Object.values(place).every((i) => i !== undefined) ? (place as RbaLayout['place']) : null;
  return layout as RbaLayout;
}

function bool(v: string): boolean | null {
  const t = v.trim().toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : null;
}

/** The dataset writes "-" for an empty value. */
function value(v: string): string | undefined {
  return v === '' || v === '-' ? undefined : v;
}

function placeOf(f: readonly string[], at: NonNullable<RbaLayout['place']>): RecordedPlace {
  const asn = f[at.asn]!.trim();
  return {
    country: value(f[at.country]!.trim()) ?? '',
    region: value(f[at.region]!.trim()) ?? '',
    city: value(f[at.city]!.trim()) ?? '',
    asn: /^\d{1,10}$/.test(asn) ? Number(asn) : null,
  };
}

export function parseRbaRecord(f: readonly string[], layout: RbaLayout): Parsed {
  if (f.length !== layout.fields) return { problem: { field: 'row', message: `expected ${layout.fields} fields, found ${f.length}` } };
  const rawTime = f[layout.time]!;
  const time = parseRbaTime(rawTime);
  if (time === null) return { problem: { field: COLUMNS.time, message: `"${rawTime.slice(0, 40)}" is not a time like 2020-02-03 12:43:30.772` } };
  const flags: boolean[] = [];
  for (const key of ['success', 'attackIp', 'takeover'] as const) {
    const b = bool(f[layout[key]]!);
    if (b === null) return { problem: { field: COLUMNS[key], message: `expected True or False, found "${f[layout[key]]!.slice(0, 20)}"` } };
    flags.push(b);
  }
  const [success, attackIp, takeover] = flags;
  const userId = value(f[layout.userId]!) ?? '';
  const ip = value(f[layout.ip]!) ?? '';
  const userAgent = value(f[layout.userAgent]!);
  const check = checkUserId(userId) ?? checkIp(ip) ?? checkOptional('userAgent', userAgent);
  if (check) {
    const field = check.field === 'userId' ? COLUMNS.userId : check.field === 'ip' ? COLUMNS.ip : COLUMNS.userAgent;
    return { problem: { field, message: check.message } };
  }
  return {
    time,
    userId,
    ip,
    userAgent,
    deviceId: undefined,
    outcome: success ? 'success' : 'failure',
    label: takeover ? ACCOUNT_TAKEOVER : attackIp ? ATTACK_IP : LEGIT,
    place: layout.place ? placeOf(f, layout.place) : undefined,
  };
}
