import { describe, expect, it } from 'vitest';
import { learnProfile, type Observation, type Profile } from '../src/profile/profile.js';
import { Engine } from '../src/engine/engine.js';
import { loadRuleSet } from '../src/rules/compile.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { IP, RULES_DIR, TestClock, UA } from './helpers.js';
import { BoundedCounts, familiaritySignals, FAMILIARITY_FEATURES, fingerprintKey, Population, POPULATION_MIN_LOGINS, userLikelihood } from '../src/signals/familiarity.js';

const T0 = Date.UTC(2026, 2, 1, 8);
const DAY = 86_400_000;

function obs(over: Partial<Observation> & { city?: string } = {}, time = T0): Observation {
  const { city = 'Oslo', ...rest } = over;
  return {
    time,
    deviceId: 'd1',
    family: 'Chrome/Windows/desktop',
    subnet: '81.167.144.0/24',
    range: '81.167.0.0/16',
    address: '81.167.144.58',
    place: { country: 'NO', region: '03', city, tz: 'Europe/Oslo' },
    point: null,
    hour: 8,
    device: null,
    ...rest,
  };
}

function teach(n: number, o: (i: number) => Observation, profile: Profile | null = null, pop?: Population): Profile {
  let p = profile;
  for (let i = 0; i < n; i++) {
    const x = o(i);
    p = learnProfile(p, x);
    pop?.add(x);
  }
  return p!;
}

/** A population of `users` others, each on their own address, phone and hour. */
function others(pop: Population, users: number, logins: number): void {
  for (let u = 0; u < users; u++) {
    for (let i = 0; i < logins; i++) {
      pop.add(obs({ address: `24.48.${u}.1`, subnet: `24.48.${u}.0/24`, range: '24.48.0.0/16', family: 'Mobile Safari/iOS/mobile', place: { country: 'US', region: 'NY', city: 'New York', tz: 'America/New_York' }, hour: (u * 5) % 24 }));
    }
  }
}

describe('familiarity math', () => {
  it('smooths the user toward the population: a new user is the population', () => {
    expect(userLikelihood(0, 0, 0.2)).toBeCloseTo(0.2, 12);
    // Nine logins, none with the value: a tenth of the population's share.
    expect(userLikelihood(0, 9, 0.2)).toBeCloseTo(0.02, 12);
    // All nine with it: almost certain, never above one.
    expect(userLikelihood(9, 9, 0.2)).toBeCloseTo(0.92, 12);
  });

  it('gives an unseen value the population share of one more value', () => {
    const pop = new Population(0);
    pop.add(obs());
    pop.add(obs());
    // 2 logins, 1 distinct address: a value never seen gets 1 / (2 + 1 + 1).
    expect(pop.share('address', '10.0.0.1')).toBeCloseTo(1 / 4, 12);
    expect(pop.share('address', '81.167.144.58')).toBeCloseTo(3 / 4, 12);
  });

  it('scores 0 everywhere for a new user', () => {
    const pop = new Population(0);
    others(pop, 5, 10);
    const s = familiaritySignals(obs(), null, pop);
    expect(Object.values(s).every((v) => v === 0)).toBe(true);
  });

  it('scores the user\'s own, rare values high and unseen ones by the length of their history', () => {
    const pop = new Population(0);
    others(pop, 20, 20);
    const profile = teach(9, (i) => obs({}, T0 + i * DAY), null, pop);
    const home = familiaritySignals(obs({}, T0 + 10 * DAY), profile, pop);
    expect(home.address).toBeGreaterThan(1.5);
    expect(home.browser).toBeGreaterThan(1);
    expect(home.score).toBeGreaterThan(3);

    const away = obs({ address: '84.208.0.1', subnet: '84.208.0.0/24', range: '84.208.0.0/16', hour: 3, city: 'Bergen' }, T0 + 10 * DAY);
    const s = familiaritySignals(away, profile, pop);
    // Nine logins, never this address: log10(1 / (9 + 1)).
    expect(s.address).toBeCloseTo(-1, 1);
    expect(s.subnet).toBeCloseTo(-1, 1);
    expect(s.hour).toBeCloseTo(-1, 1);
    expect(s.country).toBeGreaterThan(0);
    expect(s.score).toBeLessThan(home.score - 3);
  });

  it('a value as common for the user as for everyone tells nothing', () => {
    const pop = new Population(0);
    // Everyone, the user too, on Chrome.
    others(pop, 20, 10);
    const p = teach(10, (i) => obs({ family: 'Mobile Safari/iOS/mobile' }, T0 + i * DAY), null, pop);
    const s = familiaritySignals(obs({ family: 'Mobile Safari/iOS/mobile' }), p, pop);
    expect(Math.abs(s.browser)).toBeLessThan(0.05);
    expect(Math.abs(s.device_type)).toBeLessThan(0.05);
  });

  it('is neutral until the population has counted its minimum of logins', () => {
    const pop = new Population(50);
    const p = teach(9, (i) => obs({}, T0 + i * DAY), null, pop);
    others(pop, 4, 10);
    expect(pop.logins).toBe(49);
    expect(pop.ready).toBe(false);
    const away = obs({ address: '84.208.0.1', subnet: '84.208.0.0/24', range: '84.208.0.0/16', hour: 3 });
    expect(Object.values(familiaritySignals(away, p, pop)).every((v) => v === 0)).toBe(true);
    expect(Object.values(familiaritySignals(away, p, null)).every((v) => v === 0)).toBe(true);
    pop.add(obs({ address: '9.9.9.9' }));
    expect(pop.ready).toBe(true);
    expect(familiaritySignals(away, p, pop).address).toBeLessThan(-0.5);
    // The default minimum: a server (or a replay) that just started judges no login by a handful of others.
    expect(new Population().minLogins).toBe(POPULATION_MIN_LOGINS);
  });

  it('counts a place by its joined names, "/" in them or not, and answers in one shape', () => {
    const place = (country: string, region: string, city: string) => ({ place: { country, region, city, tz: 'Europe/Oslo' } });
    // "A/B" + "C" and "A" + "B/C" spell the same region: a user seen at both has the region of either six times, as one seen at one.
    const mixed = new Population(0);
    const same = new Population(0);
    others(mixed, 5, 10);
    others(same, 5, 10);
    const p = teach(6, (i) => obs(i % 2 ? place('A/B', 'C', 'D') : place('A', 'B/C', 'D'), T0 + i * DAY), null, mixed);
    const q = teach(6, (i) => obs(place('A', 'B/C', 'D'), T0 + i * DAY), null, same);
    expect(p.places).toHaveLength(2);
    const login = obs(place('A', 'B/C', 'D'), T0 + 7 * DAY);
    const s = familiaritySignals(login, p, mixed);
    expect([s.region, s.city]).toEqual([familiaritySignals(login, q, same).region, familiaritySignals(login, q, same).city]);
    expect(s.region).toBeGreaterThan(0.5);
    expect(Object.keys(s)).toEqual(['score', ...FAMILIARITY_FEATURES]);
  });

  it('leaves out what a login does not have (a private address, no place)', () => {
    const pop = new Population(0);
    const p = teach(5, () => obs(), null, pop);
    const s = familiaritySignals(obs({ address: null, subnet: null, range: null, place: null }), p, pop);
    expect([s.address, s.subnet, s.range, s.country, s.region, s.city]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('the population', () => {
  it('keeps at most its cap of values, dropping the least counted to make room', () => {
    const c = new BoundedCounts(100);
    for (let i = 0; i < 50; i++) c.add('common', 1);
    for (let i = 0; i < 1000; i++) c.add(`rare-${i}`);
    expect(c.size).toBeLessThanOrEqual(100);
    expect(c.prunes).toBeGreaterThan(0);
    // The common value keeps its count whatever floods in; the rare ones come and go.
    expect(c.get('common')).toBe(50);
    expect(c.get('rare-999')).toBe(1);
    expect(c.get('rare-0')).toBe(0);
    let sum = 0;
    for (const [, n] of c.entries()) sum += n;
    expect(c.total).toBe(sum);
  });

  it('counts one more user for a fingerprint only when it is new to the user', () => {
    const pop = new Population(0);
    const fp = { stable: 's1', hw: 'h1', gl: '', screen: '1920x1080', zone: '' };
    const o = obs({ device: { net: null, region: null, ua: '', major: 0, fp } });
    pop.add(o, true);
    pop.add(o, false);
    pop.add(o, true);
    expect(pop.fingerprints.get(fingerprintKey('s1', '1920x1080'))).toBe(2);
    expect(pop.logins).toBe(3);
  });

  it('does not count a key registration as a login', () => {
    const pop = new Population(0);
    pop.add(obs({ key: { device: 'd1', x: '', y: '', time: T0 } }));
    expect(pop.logins).toBe(0);
  });

  it('round-trips through a snapshot, and merges another instance\'s counts', () => {
    const a = new Population(0);
    others(a, 3, 4);
    const b = new Population(0);
    b.merge(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.snapshot()).toEqual(a.snapshot());
    b.merge(a.snapshot());
    expect(b.logins).toBe(2 * a.logins);
    expect(b.counts('address').get('24.48.1.1')).toBe(8);
  });
});

describe('the engine and its population', () => {
  it('counts every login it learns, a passed challenge too, and judges against them', async () => {
    const rules = await loadRuleSet(RULES_DIR);
    const clock = new TestClock();
    const store = new SqliteBackend({ path: ':memory:' });
    const engine = new Engine({ store, rules: () => rules, clock: clock.read, audit: false, population: new Population(0) });
    const home = { userId: 'u1', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-home' };
    for (let i = 0; i < 10; i++) {
      await engine.decide(home);
      await engine.decide({ userId: `other-${i}`, ip: IP.germany, userAgent: UA.safariIphone, deviceId: `d-${i}` });
      clock.advance(DAY);
    }
    expect(engine.population.logins).toBe(20);
    const d = await engine.decide(home);
    expect(d.signals.familiarity.address).toBeGreaterThan(0.2);
    expect(d.signals.familiarity.browser).toBeGreaterThan(0.2);
    const away = await engine.decide({ ...home, ip: IP.brazil, deviceId: 'd-new' });
    expect(away.action).toBe('challenge');
    expect(away.signals.familiarity.score).toBeLessThan(d.signals.familiarity.score);
    const before = engine.population.logins;
    expect(await engine.passChallenge(away.record)).toBe(true);
    expect(engine.population.logins).toBe(before + 1);
    expect(engine.population.counts('country').get('BR')).toBe(1);
    await store.close();
  });
});
