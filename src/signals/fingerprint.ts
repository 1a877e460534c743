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

/**
 * cyrb53: a fast 53-bit string hash, as 14 hex digits. Fingerprints are compared, never read
 * back, so a profile keeps only these.
 */
export function hash53(s: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

/**
 * A fingerprint hashed per part: what is stable on a device (everything but its time zone,
 * which follows a traveller, and its screen, which follows a second monitor), the same without
 * the WebGL hash, the WebGL hash, the screen and the zone.
 */
export function fingerprintHashes(fp: Fingerprint): FingerprintHashes {
  const ch = fp.clientHints;
  const hints = ch ? `${ch.brands ?? ''}|${ch.platform ?? ''}|${ch.platformVersion ?? ''}|${ch.model ?? ''}|${ch.mobile ?? ''}` : '';
  const hw = `${fp.platform ?? ''}|${fp.languages?.join(',') ?? ''}|${fp.hardwareConcurrency ?? ''}|${fp.deviceMemory ?? ''}|${fp.colorDepth ?? ''}|${fp.touch ?? ''}|${hints}`;
  return {
    stable: hash53(`${hw}|${fp.webglHash ?? ''}`),
    hw: hash53(hw),
    gl: fp.webglHash ? hash53(fp.webglHash) : '',
    screen: hash53(fp.screen ?? ''),
    zone: fp.timeZone ? hash53(fp.timeZone) : '',
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
