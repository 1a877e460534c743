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
  /** Entries not seen for this long are forgotten. */
  maxAgeMs: 180 * 24 * 3600 * 1000,
  /** The hour histogram is halved when it holds more than this, so habits can change. */
  hourHistogramCap: 400,
} as const;

interface Seen {
  first: number;
  last: number;
  count: number;
}
export interface DeviceEntry extends Seen { id: string; family: string }
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

/** The shape of a profile as stores keep it; a profile of another version is refused when read (parseProfile). */
export const PROFILE_VERSION = 1;

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
  /** Last accepted login with a known location: the origin of the travel check. */
  last: LastLogin | null;
  /** Accepted logins per hour of day, in the user's home time zone. */
  hours: number[];
}

/** What one accepted login teaches. Kept with the decision so it can be learned later or unlearned. */
export interface Observation {
  time: number;
  deviceId: string | null;
  family: string;
  subnet: string | null;
  range: string | null;
  place: { country: string; region: string; city: string; tz: string } | null;
  point: { lat: number; lon: number; radiusKm: number } | null;
  /** Local hour in the user's home time zone at the time of the login. */
  hour: number;
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
  const p = JSON.parse(doc) as Partial<Profile> | null;
  if (p?.v !== PROFILE_VERSION) throw new Error(`the stored profile of user "${userId}" has version ${JSON.stringify(p?.v ?? null)}; this riskgate reads version ${PROFILE_VERSION}`);
  return p as Profile;
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
    last: null,
    hours: new Array<number>(24).fill(0),
  };
}

export function isFresh(entry: Seen, now: number): boolean {
  return now - entry.last <= PROFILE_LIMITS.maxAgeMs;
}

/** Adds one sighting to a bounded list, evicting the least recently seen entry when full. */
function see<T extends Seen>(list: T[], match: (e: T) => boolean, make: () => T, time: number, cap: number): T[] {
  const found = list.find(match);
  if (found) {
    found.count += 1;
    found.last = Math.max(found.last, time);
    return list;
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

/** A deep copy; profiles are small and flat, so this is much cheaper than structuredClone. */
function cloneProfile(p: Profile): Profile {
  return {
    ...p,
    devices: p.devices.map((e) => ({ ...e })),
    families: p.families.map((e) => ({ ...e })),
    places: p.places.map((e) => ({ ...e })),
    subnets: p.subnets.map((e) => ({ ...e })),
    ranges: p.ranges.map((e) => ({ ...e })),
    last: p.last ? { ...p.last } : null,
    hours: [...p.hours],
  };
}

/** Returns the profile after learning `obs`. The input is not modified. */
export function learnProfile(current: Profile | null, obs: Observation): Profile {
  const p: Profile = current ? cloneProfile(current) : emptyProfile(obs.time);
  const t = obs.time;
  p.first = Math.min(p.first, t);
  p.lastSeen = Math.max(p.lastSeen, t);
  p.logins += 1;
  const L = PROFILE_LIMITS;
  p.devices = dropStale(p.devices, t);
  p.families = dropStale(p.families, t);
  p.places = dropStale(p.places, t);
  p.subnets = dropStale(p.subnets, t);
  p.ranges = dropStale(p.ranges, t);

  if (obs.deviceId !== null) {
    const id = obs.deviceId;
    p.devices = see(p.devices, (d) => d.id === id, () => ({ id, family: obs.family, first: t, last: t, count: 1 }), t, L.devices);
  }
  p.families = see(p.families, (f) => f.family === obs.family, () => ({ family: obs.family, first: t, last: t, count: 1 }), t, L.families);
  if (obs.place) {
    const place = obs.place;
    p.places = see(p.places, (e) => samePlace(e, place), () => ({ ...place, first: t, last: t, count: 1 }), t, L.places);
  }
  if (obs.subnet !== null) {
    const prefix = obs.subnet;
    p.subnets = see(p.subnets, (n) => n.prefix === prefix, () => ({ prefix, first: t, last: t, count: 1 }), t, L.subnets);
  }
  if (obs.range !== null) {
    const prefix = obs.range;
    p.ranges = see(p.ranges, (n) => n.prefix === prefix, () => ({ prefix, first: t, last: t, count: 1 }), t, L.ranges);
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
  p.hours[obs.hour] = (p.hours[obs.hour] ?? 0) + 1;
  // Halved to whole numbers: old, rare hours fade out, and integers serialize far faster than fractions.
  if (p.hours.reduce((a, b) => a + b, 0) > L.hourHistogramCap) p.hours = p.hours.map((h) => Math.floor(h / 2));
  return p;
}

/** Takes back what `learnProfile` taught for one login (confirmed fraud). */
export function unlearnProfile(current: Profile, learned: LearnedRecord): Profile {
  const p: Profile = cloneProfile(current);
  const obs = learned.observation;
  p.logins = Math.max(0, p.logins - 1);
  if (obs.deviceId !== null) p.devices = unsee(p.devices, (d) => d.id === obs.deviceId);
  p.families = unsee(p.families, (f) => f.family === obs.family);
  if (obs.place) {
    const place = obs.place;
    p.places = unsee(p.places, (e) => samePlace(e, place));
  }
  if (obs.subnet !== null) p.subnets = unsee(p.subnets, (n) => n.prefix === obs.subnet);
  if (obs.range !== null) p.ranges = unsee(p.ranges, (n) => n.prefix === obs.range);
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
