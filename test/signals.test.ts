import { describe, expect, it } from 'vitest';
import { travelFrom } from '../src/signals/geo.js';
import { compileList } from '../src/signals/lists.js';
import { parseIp } from '../src/signals/network.js';
import { localHour } from '../src/signals/time.js';
import { UserAgentParser } from '../src/signals/useragent.js';
import { InputError } from '../src/errors.js';

describe('network', () => {
  it('parses, canonicalizes and classifies addresses', () => {
    expect(parseIp('81.167.144.58')).toMatchObject({ ip: '81.167.144.58', version: 4, subnet: '81.167.144.0/24', range: '81.167.0.0/16', private: false });
    expect(parseIp('::ffff:81.167.144.58').ip).toBe('81.167.144.58');
    expect(parseIp('2A02:2F0C:0000::1')).toMatchObject({ ip: '2a02:2f0c::1', version: 6, subnet: '2a02:2f0c:0::/48', range: '2a02:2f0c::/32' });
    for (const p of ['10.0.0.1', '192.168.1.1', '127.0.0.1', '100.64.1.1', '::1', 'fe80::1']) expect(parseIp(p).private).toBe(true);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', 'localhost', '1.2.3.4/24']) expect(() => parseIp(bad)).toThrow(InputError);
  });
});

describe('time', () => {
  it('gives the local hour, DST included', () => {
    expect(localHour(Date.parse('2026-01-15T08:30:00Z'), 'Europe/Oslo')).toBe(9);
    expect(localHour(Date.parse('2026-07-15T08:30:00Z'), 'Europe/Oslo')).toBe(10);
    expect(localHour(Date.parse('2026-07-15T08:30:00Z'), 'Asia/Kolkata')).toBe(14);
    expect(localHour(Date.parse('2026-07-15T23:30:00Z'), 'America/Sao_Paulo')).toBe(20);
    expect(localHour(Date.parse('2026-07-15T08:30:00Z'), null)).toBe(8);
    expect(localHour(Date.parse('2026-07-15T08:30:00Z'), 'Not/AZone')).toBe(8);
    // The day the clocks go forward in Oslo (01:00 UTC): both sides of the change.
    expect(localHour(Date.parse('2026-03-29T00:30:00Z'), 'Europe/Oslo')).toBe(1);
    expect(localHour(Date.parse('2026-03-29T01:30:00Z'), 'Europe/Oslo')).toBe(3);
    expect(localHour(Date.parse('2026-03-29T22:30:00Z'), 'Europe/Oslo')).toBe(0);
  });
});

describe('travel', () => {
  it('discounts accuracy radii and never divides by zero', () => {
    const last = { time: 0, lat: 59.91, lon: 10.75, radiusKm: 20, country: 'NO', city: 'Oslo' };
    const tokyo = { country: 'JP', region: '13', city: 'Tokyo', lat: 35.68, lon: 139.69, radiusKm: 20, tz: 'Asia/Tokyo' };
    const t = travelFrom(last, tokyo, 30 * 60_000);
    expect(t.distanceKm).toBeGreaterThan(8100);
    expect(t.speedKmh).toBeCloseTo(t.distanceKm * 2, 5);
    expect(travelFrom(last, { ...tokyo, lat: 59.95, lon: 10.8 }, 0).distanceKm).toBe(0);
    expect(Number.isFinite(travelFrom(last, tokyo, 0).speedKmh)).toBe(true);
  });
});

describe('user agents', () => {
  it('parses once per distinct string and flags automation', () => {
    const p = new UserAgentParser();
    const a = p.parse('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1');
    expect(a).toMatchObject({ browser: 'Mobile Safari', os: 'iOS', deviceType: 'mobile', automation: false });
    expect(p.parse('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1')).toBe(a);
    expect(p.parse('python-requests/2.32').automation).toBe(true);
    expect(p.parse(undefined)).toMatchObject({ present: false, family: 'unknown' });
  });
});

describe('lists', () => {
  it('matches CIDR blocks of both families and exact values', () => {
    const { list, invalid } = compileList('l', 'ip', ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', 'nope', '1.2.3.4/40']);
    expect(invalid).toEqual([3, 4]);
    const s = (ip: string) => ({ addr: parseIp(ip).addr, userId: '', deviceId: '', country: '' });
    expect([list.test(s('10.9.9.9')), list.test(s('2001:db8:1::1')), list.test(s('192.0.2.7')), list.test(s('192.0.2.8'))]).toEqual([true, true, true, false]);
    const c = compileList('c', 'country', ['no', 'SE']).list;
    const addr = parseIp('1.1.1.1').addr;
    expect(c.test({ addr, userId: '', deviceId: '', country: 'NO' })).toBe(true);
    expect(c.test({ addr, userId: '', deviceId: '', country: '' })).toBe(false);
  });
});
