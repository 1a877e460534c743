import { describe, expect, it } from 'vitest';
import { learnProfile, PROFILE_LIMITS, unlearnProfile } from '../src/profile/profile.js';
import { observation } from './helpers.js';

const DAY = 86_400_000;
const obs = observation;

describe('profile', () => {
  it('learns and unlearns one login exactly', () => {
    const a = learnProfile(null, obs());
    const b = learnProfile(a, obs({ time: a.lastSeen + DAY, deviceId: 'd2', place: { country: 'SE', region: 'AB', city: 'Stockholm', tz: 'Europe/Stockholm' }, point: { lat: 59.3, lon: 18.1, radiusKm: 5 }, hour: 22 }));
    expect(b.devices.map((d) => d.id)).toEqual(['d1', 'd2']);
    expect(b.last!.country).toBe('SE');
    const c = unlearnProfile(b, { observation: obs({ time: a.lastSeen + DAY, deviceId: 'd2', place: { country: 'SE', region: 'AB', city: 'Stockholm', tz: 'Europe/Stockholm' }, hour: 22 }), previousLast: a.last });
    expect(c.devices.map((d) => d.id)).toEqual(['d1']);
    expect(c.places.map((p) => p.country)).toEqual(['NO']);
    expect(c.last).toEqual(a.last);
    expect(c.hours[22]).toBe(0);
    expect(c.logins).toBe(1);
    expect(b.devices).toHaveLength(2); // inputs are not modified
  });

  it('stays bounded: least recently seen entries go first, stale ones age out', () => {
    let p = learnProfile(null, obs());
    for (let i = 0; i < 100; i++) p = learnProfile(p, obs({ time: obs().time + i * 60_000, deviceId: `d-${i}`, subnet: `10.0.${i}.0/24` }));
    expect(p.devices).toHaveLength(PROFILE_LIMITS.devices);
    expect(p.subnets).toHaveLength(PROFILE_LIMITS.subnets);
    expect(p.devices.some((d) => d.id === 'd-99')).toBe(true);
    const later = learnProfile(p, obs({ time: obs().time + 200 * DAY, deviceId: 'd-new' }));
    expect(later.devices.map((d) => d.id)).toEqual(['d-new']);
  });

  it('keeps the hour histogram bounded so habits can change', () => {
    let p = learnProfile(null, obs());
    for (let i = 0; i < 1000; i++) p = learnProfile(p, obs({ time: obs().time + i * 1000, hour: i % 2 ? 9 : 10 }));
    expect(p.hours.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(PROFILE_LIMITS.hourHistogramCap);
  });
});
