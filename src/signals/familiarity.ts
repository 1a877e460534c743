/**
 * Statistical familiarity, after Freeman et al. ("Who are you? A statistical approach to
 * measuring user authenticity", NDSS 2016): how much more likely this login's feature values
 * are for this user than for the population of all users. A value the user logs in with
 * often and few others use is strong evidence of the user; a value the user never used is
 * evidence against, the more so the longer the user's history.
 *
 * Per feature f with value v:
 *
 *   p_pop(v) = (N(v) + 1) / (N + D + 1)         population: N logins counted, D distinct values,
 *                                                one more share for all values never seen
 *   p_user(v) = (c(v) + β·p_pop(v)) / (n + β)    the user: c(v) of n learned logins, smoothed
 *                                                toward the population with β logins' weight
 *   familiarity.f = log10(p_user(v) / p_pop(v))
 *
 * So a new user (n = 0) scores 0 on every feature (nothing to tell), an unseen value scores
 * log10(β / (n + β)) (−1 after 9 logins, −2 after 99), and a value the user uses as much as
 * the population does scores about 0. The features of one kind are correlated (an address
 * lies in its /24, its /16, its city), so, like Freeman's feature hierarchies, each group's
 * features are weighed to one vote: `familiarity.score` adds, over the network, agent and hour
 * groups, Σ w·familiarity.f with the weights of a group summing to 1 (a weighted geometric
 * mean of the likelihood ratios). Higher is more familiar. (A weighted sum of the likelihoods
 * themselves, as in Freeman's hierarchy, lets the coarse levels, whose likelihoods are large,
 * drown the exact ones: an unseen address in the user's own country came out familiar.)
 *
 * The user's counts are the profile's own bounded histories (src/profile/profile.ts); the
 * population's are a Population, in memory, bounded, fed by every learned login. Both are
 * O(1) per login.
 */
import type { Observation, Profile } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';

/** The features compared, in the order of the signals. */
export const FAMILIARITY_FEATURES = ['address', 'subnet', 'range', 'country', 'region', 'city', 'browser', 'os', 'device_type', 'hour'] as const;
export type FamiliarityFeature = (typeof FAMILIARITY_FEATURES)[number];

/**
 * Until the population has counted this many learned logins, familiarity is neutral (0 on
 * every signal): shares from a handful of logins (a server just started, a replay's first
 * hours) would make every value look rare or common by chance.
 */
export const POPULATION_MIN_LOGINS = 1_000;

/** Weight of one learned login of the user against the population prior (β). */
export const USER_PRIOR_WEIGHT = 1;

/**
 * Weights within each group (Freeman's hierarchy weights: an exact match counts most, the
 * coarser levels still count when the exact value is new).
 */
export const GROUP_WEIGHTS: readonly { readonly [K in FamiliarityFeature]?: number }[] = [
  { address: 0.4, subnet: 0.25, range: 0.15, city: 0.1, region: 0.06, country: 0.04 },
  { browser: 0.5, os: 0.4, device_type: 0.1 },
  { hour: 1 },
];

/**
 * How many distinct values the population keeps per feature (and of fingerprints). Past it,
 * the least counted values are dropped until a quarter of the room is free.
 */
export const POPULATION_CAPS: { readonly [K in FamiliarityFeature | 'fingerprint']: number } = {
  address: 100_000,
  subnet: 60_000,
  range: 20_000,
  country: 1_000,
  region: 10_000,
  city: 30_000,
  browser: 2_000,
  os: 1_000,
  device_type: 50,
  hour: 24,
  fingerprint: 60_000,
};

/** Counts of values, bounded: at most `cap` distinct values (see POPULATION_CAPS). */
export class BoundedCounts {
  private readonly counts = new Map<string, number>();
  private sum = 0;
  /** How many times the least counted values were dropped to make room. */
  prunes = 0;

  constructor(readonly cap: number) {
    if (!(cap >= 4)) throw new RangeError(`a bounded count needs room for at least 4 values, not ${cap}`);
  }

  get(value: string): number {
    return this.counts.get(value) ?? 0;
  }

  /** All counts added (less what halving took away). */
  get total(): number {
    return this.sum;
  }

  /** Distinct values held. */
  get size(): number {
    return this.counts.size;
  }

  add(value: string, n = 1): void {
    if (!(n > 0)) return;
    const c = this.counts.get(value);
    if (c === undefined && this.counts.size >= this.cap) this.makeRoom();
    this.counts.set(value, (c ?? 0) + n);
    this.sum += n;
  }

  /**
   * Drops the least counted values, at least a quarter of the room's worth (all values tied
   * with the last one dropped go too): the frequent values keep their counts whatever floods
   * in. One sort of the counts per quarter of the room filled: amortised O(log cap) per new value.
   */
  private makeRoom(): void {
    this.prunes++;
    const drop = this.counts.size - Math.floor((this.cap * 3) / 4);
    const sorted = Float64Array.from(this.counts.values()).sort();
    const threshold = sorted[drop - 1]!;
    for (const [k, c] of this.counts) {
      if (c <= threshold) {
        this.counts.delete(k);
        this.sum -= c;
      }
    }
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }
}

/** A population's counts as plain data: what is flushed to the store and loaded from it. */
export interface PopulationSnapshot {
  v: 1;
  /** Feature (or "fingerprint") → [value, count] pairs. */
  counts: Record<string, [string, number][]>;
}

/** What a learned login is counted under, per feature; null where the login has no such value. */
export function featureValues(obs: Observation): { [K in FamiliarityFeature]: string | null } {
  const [browser, os, type] = splitFamilyCached(obs.family);
  const place = obs.place;
  return {
    address: obs.address ?? null,
    subnet: obs.subnet,
    range: obs.range,
    country: place ? place.country : null,
    region: place ? `${place.country}/${place.region}` : null,
    city: place ? `${place.country}/${place.region}/${place.city}` : null,
    browser,
    os,
    device_type: type,
    hour: String(obs.hour),
  };
}

/** browser/os/type (UserAgentInfo.family); nulls for a login without a user agent. */
function splitFamily(family: string): [string | null, string | null, string | null] {
  if (!family || family === 'unknown') return [null, null, null];
  const a = family.indexOf('/');
  const b = family.lastIndexOf('/');
  if (a < 0 || a === b) return [family, null, null];
  return [family.slice(0, a), family.slice(a + 1, b), family.slice(b + 1)];
}

/** The population key of a fingerprint: its stable attributes and screen (what fingerprint.user_matches compares). */
export function fingerprintKey(stable: string, screen: string): string {
  return `${stable}|${screen}`;
}

/**
 * How often each feature value appears across all users' learned logins, in memory and
 * bounded (POPULATION_CAPS). Fed by every learned login (`add`), read by `judge` through its
 * History; the server flushes it to the store now and then and loads it at start
 * (src/signals/population-sync.ts). Population statistics are not acknowledged state: a
 * kill -9 loses at most what was learned since the last flush.
 */
export class Population {
  private readonly features = new Map<FamiliarityFeature, BoundedCounts>();
  /** Fingerprints (stable attributes and screen): on how many users' devices each was learned. */
  readonly fingerprints = new BoundedCounts(POPULATION_CAPS.fingerprint);

  /** `minLogins`: below it familiarity is neutral (POPULATION_MIN_LOGINS; rule tests, whose histories are small, use 0). */
  constructor(readonly minLogins = POPULATION_MIN_LOGINS) {
    for (const f of FAMILIARITY_FEATURES) this.features.set(f, new BoundedCounts(POPULATION_CAPS[f]));
  }

  /** It has counted enough logins for familiarity to mean something. */
  get ready(): boolean {
    return this.logins >= this.minLogins;
  }

  counts(f: FamiliarityFeature): BoundedCounts {
    return this.features.get(f)!;
  }

  /** Learned logins counted (under the hour, which every login has). */
  get logins(): number {
    return this.counts('hour').total;
  }

  /**
   * Counts one learned login. `newFingerprintForUser`: its fingerprint was not yet one of
   * the user's (fingerprint.user_matches was false, which `judge` marks on the observation),
   * so it counts one more user for it.
   */
  add(obs: Observation, newFingerprintForUser = obs.device?.fpNewForUser === true): void {
    if (obs.key) return;
    const values = featureValues(obs);
    for (const f of FAMILIARITY_FEATURES) {
      const v = values[f];
      if (v !== null) this.counts(f).add(v);
    }
    const fp = obs.device?.fp;
    if (fp && newFingerprintForUser) this.fingerprints.add(fingerprintKey(fp.stable, fp.screen));
  }

  /** Smoothed share of the population's logins with this value (see the module comment). */
  share(f: FamiliarityFeature, value: string): number {
    const c = this.counts(f);
    return (c.get(value) + 1) / (c.total + c.size + 1);
  }

  /** Adds another population's counts (another instance's snapshot) to this one. */
  merge(s: PopulationSnapshot): void {
    const parts = new Map(this.parts());
    for (const [name, pairs] of Object.entries(s.counts)) {
      const target = parts.get(name);
      if (!target) continue;
      for (const [value, n] of pairs) if (typeof value === 'string' && Number.isFinite(n) && n > 0) target.add(value, n);
    }
  }

  snapshot(): PopulationSnapshot {
    const counts: Record<string, [string, number][]> = {};
    for (const [name, c] of this.parts()) counts[name] = [...c.entries()];
    return { v: 1, counts };
  }

  /** Every count it keeps, by its name in a snapshot: the features, then `fingerprint`. */
  parts(): [name: string, counts: BoundedCounts][] {
    return [...this.features, ['fingerprint', this.fingerprints]];
  }
}

/** splitFamily's answers, kept: a profile's few families are split for every login it judges. Cleared when full. */
const SPLIT_FAMILIES = new Map<string, [string | null, string | null, string | null]>();
const SPLIT_FAMILIES_MAX = 10_000;

function splitFamilyCached(family: string): [string | null, string | null, string | null] {
  let parts = SPLIT_FAMILIES.get(family);
  if (parts === undefined) {
    if (SPLIT_FAMILIES.size >= SPLIT_FAMILIES_MAX) SPLIT_FAMILIES.clear();
    SPLIT_FAMILIES.set(family, (parts = splitFamily(family)));
  }
  return parts;
}

/** Whether `${a}/${b}` spells `joined`, without building it. */
function joins2(joined: string, a: string, b: string): boolean {
  return joined.length === a.length + 1 + b.length && joined.startsWith(a) && joined.charCodeAt(a.length) === 47 && joined.endsWith(b);
}

/** Whether `${a}/${b}/${c}` spells `joined`, without building it. */
function joins3(joined: string, a: string, b: string, c: string): boolean {
  return (
    joined.length === a.length + b.length + c.length + 2 &&
    joined.startsWith(a) &&
    joined.charCodeAt(a.length) === 47 &&
    joined.startsWith(b, a.length + 1) &&
    joined.charCodeAt(a.length + 1 + b.length) === 47 &&
    joined.endsWith(c)
  );
}

/** The user's count of `value` and the counts' total in a list of prefixes. */
function prefixCounts(list: readonly { prefix: string; count: number }[], value: string | null, at: number, out: Float64Array): void {
  if (value === null) return;
  let c = 0;
  let n = 0;
  for (const e of list) {
    n += e.count;
    if (e.prefix === value) c += e.count;
  }
  out[2 * at] = c;
  out[2 * at + 1] = n;
}

/**
 * The user's count of each feature's value and the counts' total for that feature (at 2i and
 * 2i + 1 for the i-th of FAMILIARITY_FEATURES), from the profile's histories: one pass per
 * history, no string built. `place` is what `v`'s country, region and city were made from.
 */
function userCounts(p: Profile, v: { readonly [K in FamiliarityFeature]: string | null }, place: Observation['place'], out: Float64Array): void {
  out.fill(0);
  prefixCounts(p.addresses, v.address, 0, out);
  prefixCounts(p.subnets, v.subnet, 1, out);
  prefixCounts(p.ranges, v.range, 2, out);
  if (place !== null) {
    // Without a "/" in the login's names, its region and city strings have one and two, so an
    // entry's joined names spell them exactly when its names are the login's: compared as they are.
    const { country: c, region: r, city: y } = place;
    const plain = !c.includes('/') && !r.includes('/') && !y.includes('/');
    let country = 0;
    let region = 0;
    let city = 0;
    let n = 0;
    for (const e of p.places) {
      n += e.count;
      if (plain) {
        if (e.country !== c) continue;
        country += e.count;
        if (e.region !== r) continue;
        region += e.count;
        if (e.city === y) city += e.count;
      } else {
        if (e.country === c) country += e.count;
        if (joins2(v.region!, e.country, e.region)) region += e.count;
        if (joins3(v.city!, e.country, e.region, e.city)) city += e.count;
      }
    }
    out[6] = country;
    out[7] = out[9] = out[11] = n;
    out[8] = region;
    out[10] = city;
  }
  if (v.browser !== null || v.os !== null || v.device_type !== null) {
    let browser = 0;
    let os = 0;
    let type = 0;
    let n = 0;
    for (const e of p.families) {
      n += e.count;
      const [b, o, t] = splitFamilyCached(e.family);
      if (b === v.browser) browser += e.count;
      if (o === v.os) os += e.count;
      if (t === v.device_type) type += e.count;
    }
    out[12] = browser;
    out[13] = out[15] = out[17] = n;
    out[14] = os;
    out[16] = type;
  }
  if (v.hour !== null) {
    let n = 0;
    for (const h of p.hours) n += h;
    out[18] = p.hours[Number(v.hour)] ?? 0;
    out[19] = n;
  }
}

/** The smoothed likelihood of a value for a user with `c` of `n` logins on it, given its population share. */
export function userLikelihood(c: number, n: number, popShare: number, beta = USER_PRIOR_WEIGHT): number {
  return (c + beta * popShare) / (n + beta);
}

/**
 * The familiarity signals of a login (what `obs` would teach) for the user of `profile`,
 * against `population`: all 0 without one, or before it is ready. Built with its fields in a
 * fixed order, `score` then FAMILIARITY_FEATURES' (so every answer has the same shape).
 */
export function familiaritySignals(obs: Observation, profile: Profile | null, population: Population | null): FamilySignals<'familiarity'> {
  const s = SCORES.fill(0);
  if (profile && profile.logins !== 0 && population?.ready) {
    const values = featureValues(obs);
    const counts = USER_COUNTS;
    userCounts(profile, values, obs.place, counts);
    for (let i = 0; i < FAMILIARITY_FEATURES.length; i++) {
      const f = FAMILIARITY_FEATURES[i]!;
      const v = values[f];
      const n = counts[2 * i + 1]!;
      if (v === null || n === 0) continue;
      const q = population.share(f, v);
      s[i] = Math.log10(userLikelihood(counts[2 * i]!, n, q) / q);
    }
  }
  let score = 0;
  for (const [i, w] of WEIGHTED) score += w * s[i]!;
  return { score, address: s[0]!, subnet: s[1]!, range: s[2]!, country: s[3]!, region: s[4]!, city: s[5]!, browser: s[6]!, os: s[7]!, device_type: s[8]!, hour: s[9]! };
}

/** userCounts' answer, and the signals before they are an object, reused (the decision core is synchronous). */
const USER_COUNTS = new Float64Array(2 * FAMILIARITY_FEATURES.length);
const SCORES = new Float64Array(FAMILIARITY_FEATURES.length);
/** The terms of the score, in GROUP_WEIGHTS' order: a feature's index and its weight. */
const WEIGHTED = GROUP_WEIGHTS.flatMap((g) => (Object.entries(g) as [FamiliarityFeature, number][]).map(([f, w]) => [FAMILIARITY_FEATURES.indexOf(f), w] as const));
