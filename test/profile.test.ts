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

  it('learns as a copy on write: the input stays as it was, the result is what learning in place makes', () => {
    // Devices with fingerprints and histories, places, networks and hours that repeat, lists that fill and age out.
    let s = 11;
    const pick = (n: number) => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n;
    let p = learnProfile(null, obs());
    for (let i = 0; i < 400; i++) {
      const d = `d${pick(25)}`;
      const net = `10.${pick(3)}.${pick(45)}.0/24`;
      const o = obs({
        time: obs().time + i * 3 * 3_600_000 + (i % 50 === 49 ? 190 * DAY : 0),
        deviceId: pick(10) === 0 ? null : d,
        family: ['Chrome/Windows/desktop', 'Firefox/Linux/desktop', `Safari/iOS/mobile${pick(22)}`][pick(3)]!,
        subnet: net,
        range: `10.${pick(3)}.0.0/16`,
        address: `10.0.0.${pick(30)}`,
        place: { country: 'NO', region: `${pick(5)}`, city: `c${pick(45)}`, tz: 'Europe/Oslo' },
        hour: pick(24),
        device: { net, region: `NO/${pick(5)}`, ua: `ua${pick(3)}`, major: 100 + pick(5), fp: { stable: `s${pick(6)}`, hw: `h${pick(3)}`, gl: pick(2) ? `g${pick(6)}` : '', screen: `sc${pick(2)}`, zone: 'z' } },
      });
      const before = JSON.stringify(p);
      const inPlace = learnProfile(structuredClone(p), o, true);
      const next = learnProfile(p, o);
      expect(JSON.stringify(p)).toBe(before);
      expect(JSON.stringify(next)).toBe(JSON.stringify(inPlace));
      p = next;
    }
  });

  it('keeps the hour histogram bounded so habits can change', () => {
    let p = learnProfile(null, obs());
    for (let i = 0; i < 1000; i++) p = learnProfile(p, obs({ time: obs().time + i * 1000, hour: i % 2 ? 9 : 10 }));
    expect(p.hours.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(PROFILE_LIMITS.hourHistogramCap);
  });
});
