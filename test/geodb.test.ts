import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { GeoDb, parseV4, parseV6 } from '../src/signals/geodb.js';
import { geoipLite } from '../src/signals/geoip.js';
import { IP } from './helpers.js';

type Lite = { lookup(ip: string): { country: string; region: string; city: string; timezone?: string; ll: [number | null, number | null]; area?: number; range: [number, number] | '' } | null };
const lite = createRequire(import.meta.url)('geoip-lite') as Lite;
const db = GeoDb.fromGeoipLite();

/** A deterministic stream of 32-bit words (xorshift), so a failure names an address that fails again. */
function words(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}
const dotted = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** geoip-lite's answer in GeoDb's shape; a range with no place (no accuracy radius, no or zero coordinates) is no answer. */
function expected(ip: string) {
  const a = lite.lookup(ip);
  if (!a || a.area === undefined) return null;
  return { country: a.country, region: a.region, city: a.city, tz: a.timezone ?? '', lat: a.ll[0], lon: a.ll[1], radiusKm: a.area ?? 0 };
}

describe('GeoDb: geoip-lite data read from its files', () => {
  it('answers as geoip-lite does for random IPv4 addresses and the edges of its ranges', () => {
    const next = words(20261202);
    const ips: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const n = next();
      ips.push(dotted(n));
      // The first and last address of the range geoip-lite finds, and the addresses just outside it.
      const range = lite.lookup(dotted(n))?.range;
      if (range) for (const edge of [range[0], range[1], range[0] - 1, range[1] + 1]) if (edge >= 0 && edge < 2 ** 32) ips.push(dotted(edge));
    }
    let placed = 0;
    for (const ip of ips) {
      const want = expected(ip);
      expect(db.lookup(ip), ip).toEqual(want);
      if (want) placed++;
    }
    expect(placed).toBeGreaterThan(10_000);
  });

  it('answers as geoip-lite does for IPv6 addresses, IPv4-mapped ones included', () => {
    const next = words(7);
    const hex = () => (next() & 0xffff).toString(16);
    const prefixes = ['2001', '2a02', '2600', '2804', '2400', '2c0f', '2a00', '2003', '240e'];
    let placed = 0;
    for (let i = 0; i < 10_000; i++) {
      const ip = `${prefixes[i % prefixes.length]}:${Array.from({ length: 7 }, hex).join(':')}`;
      const want = expected(ip);
      expect(db.lookup(ip), ip).toEqual(want);
      if (want) placed++;
    }
    expect(placed).toBeGreaterThan(1_000);
    for (const ip of ['::ffff:81.167.144.58', '2a02:2121::1', '2001:4860:4860::8888', '::1', '::']) expect(db.lookup(ip), ip).toEqual(expected(ip));
    expect(db.lookup('::ffff:81.167.144.58')).toEqual(db.lookup('81.167.144.58'));
  });

  it('places nothing private, nothing that is not an address, and no range the database has no place for', () => {
    for (const ip of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '0.0.0.0', 'not-an-ip', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '', '1::2::3']) {
      expect(db.lookup(ip), ip).toBeNull();
    }
    // geoip-lite answers these with an empty country and no coordinates, which the engine took for (0, 0).
    expect(lite.lookup('104.18.102.244')).toMatchObject({ country: '', ll: [null, null] });
    expect(db.lookup('104.18.102.244')).toBeNull();
    expect(geoipLite(IP.homeNO)?.country).toBe('NO');
    expect(geoipLite(IP.homeNO, false)).toBeNull();
  });

  it('parses addresses as net.isIP accepts them', () => {
    expect(parseV4('255.255.255.255')).toBe(2 ** 32 - 1);
    expect(parseV4('81.167.144.58')).toBe(((81 << 24) >>> 0) + (167 << 16) + (144 << 8) + 58);
    expect(parseV6('2001:db8::1')).toEqual([0x20010db8, 0, 0, 1]);
    expect(parseV6('::ffff:1.2.3.4')).toEqual([0, 0, 0xffff, 0x01020304]);
    expect(parseV6('fe80::1%eth0')).toEqual([0xfe800000, 0, 0, 1]);
    for (const bad of ['1:2:3:4:5:6:7:8:9', 'g::1', '12345::1', '1.2.3.4']) expect(parseV6(bad), bad).toBeNull();
  });
});
