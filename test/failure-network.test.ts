import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { failureNetwork, parseIp } from '../src/signals/network.js';

/** The /64 as ipaddr.js reads it: what failureNetwork's reading of the text must agree with. */
const parsed64 = (ip: string) => `${ipaddr.IPv6.parse(ip).parts.slice(0, 4).map((n) => n.toString(16)).join(':')}::/64`;

describe('failureNetwork', () => {
  it('gives the /24 of an IPv4 address', () => {
    expect(failureNetwork('81.167.144.58')).toBe('81.167.144.0/24');
  });

  it('gives the /64 of an IPv6 address wherever "::" stands in it', () => {
    const cases: [string, string][] = [
      ['2a02:0:0:1:2:3:4:5', '2a02:0:0:1::/64'], // "::" covers two groups, and the fourth follows it
      ['2a02:0:0:0:1:2:3:4', '2a02:0:0:0::/64'],
      ['2a02:1:0:0:2:3:4:5', '2a02:1:0:0::/64'],
      ['2a02:0:0:5:0:0:0:1', '2a02:0:0:5::/64'],
      ['2a02:db8:1:2:3:4:5:6', '2a02:db8:1:2::/64'],
      ['0:0:1:2:3:4:5:6', '0:0:1:2::/64'],
    ];
    for (const [raw, want] of cases) {
      const ip = parseIp(raw).ip;
      expect(failureNetwork(ip), `${raw} (${ip})`).toBe(want);
    }
  });

  it('agrees with a full parse on addresses with runs of zero groups anywhere', () => {
    let x = 99;
    const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x);
    for (let i = 0; i < 5000; i++) {
      const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? 0 : next() & 0xffff));
      groups[0] = 0x2a00 | (next() & 0xff);
      const ip = parseIp(groups.map((g) => g.toString(16)).join(':')).ip;
      expect(failureNetwork(ip), ip).toBe(parsed64(ip));
    }
  });
});
