import Type from 'typebox';
import type { DeviceEntry, FingerprintHashes } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';
import { utcOffsetMinutes } from './time.js';

/**
 * Client attributes a login page can read in the browser (docs/signals.md#fingerprint). All
 * optional: browsers expose different subsets (only Chromium has deviceMemory and client hints).
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
  /** Sec-CH-UA client hints the login service received (or navigator.userAgentData), as sent. */
  clientHints?: { brands?: string; platform?: string; platformVersion?: string; model?: string; mobile?: boolean };
}

const Attr = Type.String({ maxLength: 256 });
const Count = Type.Number({ minimum: 0, maximum: 1e6 });

/** The fingerprint as requests (and rule tests) carry it: any attribute may be left out, no other is taken. */
export const FingerprintSchema = Type.Object(
  {
    timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'Intl.DateTimeFormat().resolvedOptions().timeZone' })),
    languages: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16, description: 'navigator.languages' })),
    screen: Type.Optional(Type.String({ maxLength: 32, description: 'screen.width x screen.height, e.g. "1920x1080"' })),
    platform: Type.Optional(Attr),
    hardwareConcurrency: Type.Optional(Count),
    deviceMemory: Type.Optional(Count),
    colorDepth: Type.Optional(Count),
    touch: Type.Optional(Type.Number({ minimum: 0, maximum: 1e3, description: 'navigator.maxTouchPoints' })),
    webglHash: Type.Optional(Type.String({ maxLength: 128, description: 'A hash of the WebGL renderer string' })),
    clientHints: Type.Optional(
      Type.Object(
        {
          brands: Type.Optional(Attr),
          platform: Type.Optional(Attr),
          platformVersion: Type.Optional(Attr),
          model: Type.Optional(Attr),
          mobile: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false, description: 'Sec-CH-UA, Sec-CH-UA-Platform, -Platform-Version, -Model, -Mobile as received' },
      ),
    ),
  },
  { additionalProperties: false, description: 'Client attributes the login page read (docs/signals.md#fingerprint).' },
);

/** cyrb53's running state: hashing is sequential, so the hash of `a + b` continues from the state after `a`. */
let H1 = 0;
let H2 = 0;

function begin(): void {
  H1 = 0xdeadbeef;
  H2 = 0x41c6ce57;
}

function absorb(s: string): void {
  let h1 = H1;
  let h2 = H2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  H1 = h1;
  H2 = h2;
}

/** The hash of what was absorbed since `begin`, as 14 hex digits; the state is left as it was. */
function digest(): string {
  let h1 = Math.imul(H1 ^ (H1 >>> 16), 2246822507) ^ Math.imul(H2 ^ (H2 >>> 13), 3266489909);
  const h2 = Math.imul(H2 ^ (H2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  h1 >>>= 0;
  return (4294967296 * (2097151 & h2) + h1).toString(16).padStart(14, '0');
}

/**
 * cyrb53: a fast 53-bit string hash, as 14 hex digits. Fingerprints are compared, never read
 * back, so a profile keeps only these.
 */
export function hash53(s: string): string {
  begin();
  absorb(s);
  return digest();
}

/** Hashes of the short attributes (WebGL hash, screen, zone), kept: they repeat across devices. Cleared when full. */
const SHORT_HASHES = new Map<string, string>();
const SHORT_HASHES_MAX = 20_000;

/** The hardware part's hash, and cyrb53's state after it and "|", kept like SHORT_HASHES: a device sends the same one at every login. */
const HARDWARE = new Map<string, { hash: string; h1: number; h2: number }>();

function shortHash(s: string): string {
  let h = SHORT_HASHES.get(s);
  if (h === undefined) {
    if (SHORT_HASHES.size >= SHORT_HASHES_MAX) SHORT_HASHES.clear();
    SHORT_HASHES.set(s, (h = hash53(s)));
  }
  return h;
}

/**
 * A fingerprint hashed per part: what is stable on a device (everything but its time zone,
 * which follows a traveller, and its screen, which follows a second monitor), the same without
 * the WebGL hash, the WebGL hash, the screen and the zone. `stable` is the hash of
 * `${hw}|${webglHash}`, continued from `hw`'s.
 */
export function fingerprintHashes(fp: Fingerprint): FingerprintHashes {
  const ch = fp.clientHints;
  const hints = ch ? `${ch.brands ?? ''}|${ch.platform ?? ''}|${ch.platformVersion ?? ''}|${ch.model ?? ''}|${ch.mobile ?? ''}` : '';
  const hw = `${fp.platform ?? ''}|${fp.languages?.join(',') ?? ''}|${fp.hardwareConcurrency ?? ''}|${fp.deviceMemory ?? ''}|${fp.colorDepth ?? ''}|${fp.touch ?? ''}|${hints}`;
  let known = HARDWARE.get(hw);
  if (known === undefined) {
    if (HARDWARE.size >= SHORT_HASHES_MAX) HARDWARE.clear();
    begin();
    absorb(hw);
    const hash = digest();
    absorb('|');
    // The state after `${hw}|`: where `stable` continues from.
    HARDWARE.set(hw, (known = { hash, h1: H1, h2: H2 }));
  }
  const hwHash = known.hash;
  H1 = known.h1;
  H2 = known.h2;
  absorb(fp.webglHash ?? '');
  return {
    stable: digest(),
    hw: hwHash,
    gl: fp.webglHash ? shortHash(fp.webglHash) : '',
    screen: shortHash(fp.screen ?? ''),
    zone: fp.timeZone ? shortHash(fp.timeZone) : '',
  };
}

/**
 * Whether the browser's time zone and the address's disagree on the UTC offset now: a proxy
 * tell (the browser is where its owner is). An unknown zone name disagrees with nothing.
 */
function zonesDisagree(browserZone: string | undefined, addressZone: string | null, now: number): boolean {
  if (!browserZone || !addressZone || browserZone === addressZone) return false;
  try {
    return utcOffsetMinutes(browserZone, now) !== utcOffsetMinutes(addressZone, now);
  } catch {
    return false;
  }
}

/** Another of the user's devices showed these stable attributes and this screen: the same browser under a new device id (cleared cookies, a private window). */
function userMatches(h: FingerprintHashes, devices: readonly DeviceEntry[], self: DeviceEntry | undefined): boolean {
  for (const d of devices) {
    if (d === self || !d.fp) continue;
    if ((d.fp.glNoisy ? d.fp.hw.includes(h.hw) : d.fp.stable.includes(h.stable)) && d.fp.screens.includes(h.screen)) return true;
  }
  return false;
}

/** The fingerprint set against what this device id showed before. */
export function fingerprintSignals(
  fp: Fingerprint | undefined,
  hashes: FingerprintHashes | null,
  device: DeviceEntry | undefined,
  devices: readonly DeviceEntry[],
  addressZone: string | null,
  now: number,
  /** On how many users' devices the population learned this fingerprint (Population.fingerprints). */
  users = 0,
): FamilySignals<'fingerprint'> {
  const seen = device?.fp ?? null;
  const known = seen !== null;
  if (!fp || !hashes) {
    return { present: false, known, missing: known, matches: false, changed: false, hardware_matches: false, user_matches: false, users: 0, screen_known: false, zone: '', zone_known: false, zone_mismatch: false };
  }
  const hwMatch = known && seen.hw.includes(hashes.hw);
  const matches = known && (seen.glNoisy ? hwMatch : seen.stable.includes(hashes.stable));
  return {
    present: true,
    known,
    missing: false,
    matches,
    changed: known && !matches,
    hardware_matches: hwMatch,
    user_matches: matches || userMatches(hashes, devices, device),
    users,
    screen_known: known && seen.screens.includes(hashes.screen),
    zone: fp.timeZone ?? '',
    zone_known: known && hashes.zone !== '' && seen.zones.includes(hashes.zone),
    zone_mismatch: zonesDisagree(fp.timeZone, addressZone, now),
  };
}
