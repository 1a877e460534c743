/**
 * A user's learned login history, and the pure functions that teach and unteach it.
 * Stores keep a profile as one JSON document per user and call these inside their own
 * atomic section, so every store learns the same way.
 */

export const PROFILE_LIMITS = {
  devices: 20,
  families: 20,
  places: 40,
  subnets: 40,
  ranges: 20,
  addresses: 20,
  /** Entries not seen for this long are forgotten. */
  maxAgeMs: 180 * 24 * 3600 * 1000,
  /** The hour histogram is halved when it holds more than this, so habits can change. */
  hourHistogramCap: 400,
  /** Per device: the /24s (/64s), /16s (/32s) and regions it was seen on, most recent last. */
  deviceNets: 8,
  deviceRanges: 6,
  deviceRegions: 6,
  /** Per device: distinct fingerprint hashes kept of each kind; a WebGL hash past this many is noise. */
  deviceFingerprints: 4,
  /** Device-bound keys (one per device id). */
  keys: 20,
} as const;

interface Seen {
  first: number;
  last: number;
  count: number;
}
export interface DeviceEntry extends Seen {
  id: string;
  family: string;
  /** Hash of the exact user agent this device last sent; "" when none (or learned by profile version 1). */
  ua: string;
  /** Browser major version this device last sent; 0 when unknown. */
  major: number;
  /** The /24s (IPv4) or /64s (IPv6) it was seen on, the most recent last. */
  nets: string[];
  /** The /16s (IPv4) or /32s (IPv6) it was seen on. */
  ranges: string[];
  /** The regions (country/region) it was seen in. */
  regions: string[];
  /** Bit h is set when the device was seen at hour h (the user's home time zone). */
  hours: number;
  /** What its fingerprints showed, hashed; null when it never sent one. */
  fp: DeviceFingerprints | null;
}

/** A device's fingerprints, kept as hashes (src/signals/fingerprint.ts): never the attributes themselves. */
export interface DeviceFingerprints {
  /** Everything stable: platform, languages, hardware, colour depth, touch, WebGL, client hints. */
  stable: string[];
  /** The same without the WebGL hash, for devices whose WebGL hash varies (privacy browsers). */
  hw: string[];
  gl: string[];
  /** More distinct WebGL hashes than kept: the browser varies it, so only `hw` is compared. */
  glNoisy: boolean;
  screens: string[];
  zones: string[];
}

/** A device-bound key (POST /v1/users/{userId}/devices/{deviceId}/key): the public half, as JWK coordinates. */
export interface DeviceKeyEntry {
  device: string;
  /** base64url P-256 coordinates; both "" for a key a replay simulates (its recorded outcome stands for the signature). */
  x: string;
  y: string;
  time: number;
}
export interface FamilyEntry extends Seen { family: string }
export interface PlaceEntry extends Seen { country: string; region: string; city: string; tz: string }
export interface NetworkEntry extends Seen { prefix: string }

export interface LastLogin {
  time: number;
  lat: number;
  lon: number;
  radiusKm: number;
  country: string;
  city: string;
}

/**
 * The shape of a profile as stores keep it. Version 1 (no per-device history, no keys) is
 * read and brought up to date (parseProfile); a newer version is refused.
 */
export const PROFILE_VERSION = 2;

export interface Profile {
  v: typeof PROFILE_VERSION;
  first: number;
  lastSeen: number;
  logins: number;
  devices: DeviceEntry[];
  families: FamilyEntry[];
  places: PlaceEntry[];
  subnets: NetworkEntry[];
  ranges: NetworkEntry[];
  /** Exact IPv4 addresses and IPv6 /64s (a home's, whatever the interface id). */
  addresses: NetworkEntry[];
  /** Last accepted login with a known location: the origin of the travel check. */
  last: LastLogin | null;
  /** Accepted logins per hour of day, in the user's home time zone. */
  hours: number[];
  /** Device-bound keys registered for the user's devices. */
  keys: DeviceKeyEntry[];
}

/** What a login showed of its device, beyond its id: what the device's own history learns. */
export interface DeviceSighting {
  /** The /24 (IPv4) or /64 (IPv6); null for a private address. */
  net: string | null;
  /** country/region; null when not located. */
  region: string | null;
  /** Hash of the exact user agent; "" when none. */
  ua: string;
  major: number;
  fp: FingerprintHashes | null;
  /** The fingerprint was not yet one of the user's when the login was judged: the population counts one more user for it. */
  fpNewForUser?: boolean;
}

/** One fingerprint, hashed per part (src/signals/fingerprint.ts). */
export interface FingerprintHashes {
  stable: string;
  hw: string;
  /** "" when the fingerprint has no WebGL hash. */
  gl: string;
  screen: string;
  /** "" when it has no time zone. */
  zone: string;
}

/** What one accepted login teaches. Kept with the decision so it can be learned later or unlearned. */
export interface Observation {
  time: number;
  deviceId: string | null;
  family: string;
  subnet: string | null;
  range: string | null;
  /** The IPv4 address or the IPv6 /64; null for a private address (or in observations recorded by version 1). */
  address?: string | null;
  place: { country: string; region: string; city: string; tz: string } | null;
  point: { lat: number; lon: number; radiusKm: number } | null;
  /** Local hour in the user's home time zone at the time of the login. */
  hour: number;
  /** What the login showed of its device; absent in observations recorded by profile version 1. */
  device?: DeviceSighting | null;
  /**
   * A device-bound key registered for `deviceId`: such an observation teaches only the key,
   * not a login (Engine.registerDeviceKey).
   */
  key?: DeviceKeyEntry | null;
}

/** What `learn` displaced, so that `unlearn` can put it back. */
export interface LearnedRecord {
  observation: Observation;
  previousLast: LastLogin | null;
}

/**
 * A stored profile document. One written in a shape this riskgate does not know (by a newer
 * version, or damaged) is an error, never a profile read as if it were one.
 */
export function parseProfile(doc: string, userId: string): Profile {
  const p = JSON.parse(doc) as Partial<Profile> | { v: 1 } | null;
  if (p?.v === PROFILE_VERSION) return p as Profile;
  if (p?.v === 1) return migrateV1(p as unknown as ProfileV1);
  throw new Error(`the stored profile of user "${userId}" has version ${JSON.stringify(p?.v ?? null)}; this riskgate reads versions 1 and ${PROFILE_VERSION}`);
}

type ProfileV1 = Omit<Profile, 'v' | 'keys' | 'devices' | 'addresses'> & { v: 1; devices: (Seen & { id: string; family: string })[] };

/**
 * Version 1 knew devices by id only: their history starts empty, and the signals that compare
 * with a device's history stay quiet until it has one.
 */
function migrateV1(p: ProfileV1): Profile {
  return { ...p, v: PROFILE_VERSION, devices: p.devices.map((d) => newDevice(d.id, d.family, d)), addresses: [], keys: [] };
}

function newDevice(id: string, family: string, seen: Seen): DeviceEntry {
  return { id, family, first: seen.first, last: seen.last, count: seen.count, ua: '', major: 0, nets: [], ranges: [], regions: [], hours: 0, fp: null };
}

export function emptyProfile(now: number): Profile {
  return {
    v: PROFILE_VERSION,
    first: now,
    lastSeen: now,
    logins: 0,
    devices: [],
    families: [],
    places: [],
    subnets: [],
    ranges: [],
    addresses: [],
    last: null,
    hours: new Array<number>(24).fill(0),
    keys: [],
  };
}

export function isFresh(entry: Seen, now: number): boolean {
  return now - entry.last <= PROFILE_LIMITS.maxAgeMs;
}

/**
 * Adds one sighting to a bounded list, evicting the least recently seen entry when full. With
 * `copy`, the list is shared with a profile that must not change: the entry seen is copied
 * (by `copy`) into a copy of the list, and the others stay shared.
 */
function see<T extends Seen>(list: T[], match: (e: T) => boolean, make: () => T, time: number, cap: number, copy: NoInfer<(e: T) => T> | null): T[] {
  const i = list.findIndex(match);
  if (i >= 0) {
    const next = copy ? list.slice() : list;
    const found = copy ? (next[i] = copy(list[i]!)) : list[i]!;
    found.count += 1;
    found.last = Math.max(found.last, time);
    return next;
  }
  const next = [...list, make()];
  if (next.length > cap) {
    next.sort((a, b) => b.last - a.last);
    next.length = cap;
  }
  return next;
}

/** Removes one sighting; an entry that only this sighting created disappears. */
function unsee<T extends Seen>(list: T[], match: (e: T) => boolean): T[] {
  const found = list.find(match);
  if (!found) return list;
  found.count -= 1;
  return found.count <= 0 ? list.filter((e) => e !== found) : list;
}

function dropStale<T extends Seen>(list: T[], now: number): T[] {
  return list.every((e) => isFresh(e, now)) ? list : list.filter((e) => isFresh(e, now));
}

function samePlace(a: { country: string; region: string; city: string }, b: { country: string; region: string; city: string }) {
  return a.country === b.country && a.region === b.region && a.city === b.city;
}

/** A deep copy (for unlearning); profiles are small and flat, so this is much cheaper than structuredClone. */
function cloneProfile(p: Profile): Profile {
  return {
    ...p,
    devices: p.devices.map(cloneDevice),
    families: p.families.map((e) => ({ ...e })),
    places: p.places.map((e) => ({ ...e })),
    subnets: p.subnets.map((e) => ({ ...e })),
    ranges: p.ranges.map((e) => ({ ...e })),
    addresses: p.addresses.map((e) => ({ ...e })),
    last: p.last ? { ...p.last } : null,
    hours: [...p.hours],
    keys: p.keys.map((k) => ({ ...k })),
  };
}

/** A device's copy that can be taught (seeDevice) without changing `d`. */
function cloneDevice(d: DeviceEntry): DeviceEntry {
  const fp = d.fp;
  return {
    ...d,
    nets: [...d.nets],
    ranges: [...d.ranges],
    regions: [...d.regions],
    fp: fp ? { stable: [...fp.stable], hw: [...fp.hw], gl: [...fp.gl], glNoisy: fp.glNoisy, screens: [...fp.screens], zones: [...fp.zones] } : null,
  };
}

function copyEntry<T extends Seen>(e: T): T {
  return { ...e };
}

/** Puts `value` last in a bounded most-recent-last list (moving it there when present). */
function remember(list: string[], value: string, cap: number): void {
  const i = list.indexOf(value);
  if (i === list.length - 1 && i >= 0) return;
  if (i >= 0) list.splice(i, 1);
  list.push(value);
  if (list.length > cap) list.shift();
}

function forget(list: string[], value: string): void {
  const i = list.indexOf(value);
  if (i >= 0) list.splice(i, 1);
}

/** Teaches one device what a login showed of it. */
function seeDevice(d: DeviceEntry, obs: Observation, s: DeviceSighting): void {
  const L = PROFILE_LIMITS;
  if (s.net !== null) remember(d.nets, s.net, L.deviceNets);
  if (obs.range !== null) remember(d.ranges, obs.range, L.deviceRanges);
  if (s.region !== null) remember(d.regions, s.region, L.deviceRegions);
  if (s.ua !== '') {
    d.ua = s.ua;
    d.major = s.major;
  }
  d.hours |= 1 << obs.hour;
  if (s.fp) {
    const fp = (d.fp ??= { stable: [], hw: [], gl: [], glNoisy: false, screens: [], zones: [] });
    const n = L.deviceFingerprints;
    remember(fp.stable, s.fp.stable, n);
    remember(fp.hw, s.fp.hw, n);
    if (s.fp.gl !== '') {
      if (!fp.gl.includes(s.fp.gl) && fp.gl.length >= n) fp.glNoisy = true;
      remember(fp.gl, s.fp.gl, n);
    }
    remember(fp.screens, s.fp.screen, n);
    if (s.fp.zone !== '') remember(fp.zones, s.fp.zone, n);
  }
}

/**
 * Returns the profile after learning `obs`. The input is not modified, unless `inPlace`: then
 * it is changed and returned (a caller that owns its profiles and keeps no earlier version,
 * as replay does, saves a copy per login). Otherwise the result is a copy on write: it shares
 * with the input every list and entry the login does not change (each one it changes is a
 * new array or object), so neither may be modified afterwards except through learnProfile,
 * which only modifies a profile in place when told it is the only copy.
 */
export function learnProfile(current: Profile | null, obs: Observation, inPlace = false): Profile {
  const copy = current !== null && !inPlace;
  const p: Profile = current ? (copy ? { ...current } : current) : emptyProfile(obs.time);
  const entry = copy ? copyEntry : null;
  const t = obs.time;
  if (obs.key) {
    const key = obs.key;
    p.keys = p.keys.filter((k) => k.device !== key.device);
    p.keys.push({ ...key });
    if (p.keys.length > PROFILE_LIMITS.keys) p.keys.shift();
    return p;
  }
  p.first = Math.min(p.first, t);
  p.lastSeen = Math.max(p.lastSeen, t);
  p.logins += 1;
  const L = PROFILE_LIMITS;
  p.devices = dropStale(p.devices, t);
  p.families = dropStale(p.families, t);
  p.places = dropStale(p.places, t);
  p.subnets = dropStale(p.subnets, t);
  p.ranges = dropStale(p.ranges, t);
  p.addresses = dropStale(p.addresses, t);

  if (obs.deviceId !== null) {
    const id = obs.deviceId;
    p.devices = see(p.devices, (d) => d.id === id, () => newDevice(id, obs.family, { first: t, last: t, count: 1 }), t, L.devices, copy ? cloneDevice : null);
    const sighting = obs.device;
    if (sighting) {
      const d = p.devices.find((e) => e.id === id);
      if (d) seeDevice(d, obs, sighting);
    }
  }
  p.families = see(p.families, (f) => f.family === obs.family, () => ({ family: obs.family, first: t, last: t, count: 1 }), t, L.families, entry);
  if (obs.place) {
    const place = obs.place;
    p.places = see(p.places, (e) => samePlace(e, place), () => ({ ...place, first: t, last: t, count: 1 }), t, L.places, entry);
  }
  if (obs.subnet !== null) {
    const prefix = obs.subnet;
    p.subnets = see(p.subnets, (n) => n.prefix === prefix, () => ({ prefix, first: t, last: t, count: 1 }), t, L.subnets, entry);
  }
  if (obs.range !== null) {
    const prefix = obs.range;
    p.ranges = see(p.ranges, (n) => n.prefix === prefix, () => ({ prefix, first: t, last: t, count: 1 }), t, L.ranges, entry);
  }
  if (obs.address) {
    const prefix = obs.address;
    p.addresses = see(p.addresses, (n) => n.prefix === prefix, () => ({ prefix, first: t, last: t, count: 1 }), t, L.addresses, entry);
  }
  if (obs.point && (!p.last || t >= p.last.time)) {
    p.last = {
      time: t,
      lat: obs.point.lat,
      lon: obs.point.lon,
      radiusKm: obs.point.radiusKm,
      country: obs.place?.country ?? '',
      city: obs.place?.city ?? '',
    };
  }
  if (copy) p.hours = p.hours.slice();
  p.hours[obs.hour] = (p.hours[obs.hour] ?? 0) + 1;
  // Halved to whole numbers: old, rare hours fade out, and integers serialize far faster than fractions.
  if (p.hours.reduce((a, b) => a + b, 0) > L.hourHistogramCap) p.hours = p.hours.map((h) => Math.floor(h / 2));
  return p;
}

/** What registering a device-bound key teaches: the key only, not a login. `x` and `y` are "" for a key a replay simulates. */
export function keyObservation(deviceId: string, x: string, y: string, now: number): Observation {
  return { time: now, deviceId, family: '', subnet: null, range: null, place: null, point: null, hour: 0, key: { device: deviceId, x, y, time: now } };
}

/** Takes back what `learnProfile` taught for one login (confirmed fraud). */
export function unlearnProfile(current: Profile, learned: LearnedRecord): Profile {
  const p: Profile = cloneProfile(current);
  const obs = learned.observation;
  if (obs.key) {
    const key = obs.key;
    p.keys = p.keys.filter((k) => !(k.device === key.device && k.x === key.x && k.y === key.y));
    return p;
  }
  p.logins = Math.max(0, p.logins - 1);
  if (obs.deviceId !== null) {
    // A confirmed fraud's network, region and agent are taken out of the device's history even
    // when the device had shown them before: at worst its owner is asked once more.
    const d = p.devices.find((e) => e.id === obs.deviceId);
    const s = obs.device;
    if (d && s) {
      if (s.net !== null) forget(d.nets, s.net);
      if (obs.range !== null) forget(d.ranges, obs.range);
      if (s.region !== null) forget(d.regions, s.region);
      if (d.fp && s.fp) {
        forget(d.fp.stable, s.fp.stable);
        forget(d.fp.hw, s.fp.hw);
        forget(d.fp.zones, s.fp.zone);
      }
    }
    p.devices = unsee(p.devices, (e) => e.id === obs.deviceId);
  }
  p.families = unsee(p.families, (f) => f.family === obs.family);
  if (obs.place) {
    const place = obs.place;
    p.places = unsee(p.places, (e) => samePlace(e, place));
  }
  if (obs.subnet !== null) p.subnets = unsee(p.subnets, (n) => n.prefix === obs.subnet);
  if (obs.range !== null) p.ranges = unsee(p.ranges, (n) => n.prefix === obs.range);
  if (obs.address) p.addresses = unsee(p.addresses, (n) => n.prefix === obs.address);
  if (p.last && p.last.time === obs.time) p.last = learned.previousLast;
  p.hours[obs.hour] = Math.max(0, (p.hours[obs.hour] ?? 0) - 1);
  return p;
}

/** The time zone the user logs in from most: the zone their hour habits are kept in. */
export function homeTimeZone(p: Profile | null): string | null {
  if (!p || p.places.length === 0) return null;
  let best = p.places[0]!;
  for (const place of p.places) if (place.count > best.count) best = place;
  return best.tz || null;
}
