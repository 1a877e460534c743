import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { InputError } from '../errors.js';
import { isFresh, type Profile } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';

export interface NetworkInfo {
  /** The address in canonical form; an IPv6 form carrying an IPv4 address (embeddedIPv4) becomes that IPv4 address. */
  ip: string;
  version: 4 | 6;
  /** The /24 (IPv4) or /48 (IPv6) the address is in: a household or office. */
  subnet: string;
  /** The /16 (IPv4) or /32 (IPv6) the address is in: roughly a provider's block. */
  range: string;
  /** Private, loopback, link-local, carrier-grade NAT, reserved... anything not routable on the internet. */
  private: boolean;
  /** The parsed address, for CIDR lists. */
  addr: ipaddr.IPv4 | ipaddr.IPv6;
}

/**
 * The IPv4 address inside an IPv6 form that carries one, or null: IPv4-mapped (::ffff:0:0/96),
 * IPv4-translated (::ffff:0:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96), 6to4
 * (2002::/16, the router's address) and Teredo (2001::/32, the client's NAT, stored inverted).
 * Unwrapped, such an address meets the IPv4 deny lists and counters like the plain IPv4 one.
 */
export function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = addr.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const zeroUpTo = (n: number) => p.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(5) && p[5] === 0xffff) return v4(p[6]!, p[7]!);
  if (zeroUpTo(4) && p[4] === 0xffff && p[5] === 0) return v4(p[6]!, p[7]!);
  // ::/96 other than :: and ::1, which are the unspecified and loopback addresses.
  if (zeroUpTo(6) && (p[6] !== 0 || p[7]! > 1)) return v4(p[6]!, p[7]!);
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return v4(p[6]!, p[7]!);
  if (p[0] === 0x2002) return v4(p[1]!, p[2]!);
  if (p[0] === 0x2001 && p[1] === 0) return v4(p[6]! ^ 0xffff, p[7]! ^ 0xffff);
  return null;
}

/**
 * Why `raw` is not an address riskgate takes, or null. A zone id (`fe80::1%eth0`) is refused:
 * it names the interface of the host that saw the address, so `%1`, `%2`... would make one
 * address count as many.
 */
export function ipProblem(raw: string): string | null {
  if (raw.includes('%')) return `"${raw.slice(0, 64)}" carries a zone id (after "%"); send the address without it`;
  return isIP(raw) === 0 ? `"${raw.slice(0, 64)}" is not an IPv4 or IPv6 address` : null;
}

/** Parses and classifies an address; throws InputError (naming the field `ip`) when ipProblem finds one. */
export function parseIp(raw: string): NetworkInfo {
  const problem = ipProblem(raw);
  if (problem) throw new InputError('INVALID_IP', `ip: ${problem}`);
  const parsed = ipaddr.parse(raw);
  const addr = parsed.kind() === 'ipv6' ? (embeddedIPv4(parsed as ipaddr.IPv6) ?? parsed) : parsed;
  const range = addr.range();
  const isPrivate = range !== 'unicast';
  if (addr.kind() === 'ipv4') {
    const o = (addr as ipaddr.IPv4).octets;
    return {
      ip: addr.toString(),
      version: 4,
      subnet: `${o[0]}.${o[1]}.${o[2]}.0/24`,
      range: `${o[0]}.${o[1]}.0.0/16`,
      private: isPrivate,
      addr,
    };
  }
  const p = (addr as ipaddr.IPv6).parts.map((n) => n.toString(16));
  return {
    ip: addr.toString(),
    version: 6,
    subnet: `${p[0]}:${p[1]}:${p[2]}::/48`,
    range: `${p[0]}:${p[1]}::/32`,
    private: isPrivate,
    addr,
  };
}

/**
 * The network failures are also counted for: the /24 of an IPv4 address, the /64 of an IPv6
 * one (a single host, or one household, is given a whole /64). `ip` is canonical (parseIp).
 */
export function failureNetwork(ip: string): string {
  if (!ip.includes(':')) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  const head = canonicalHead(ip);
  if (head !== null) return `${head}::/64`;
  const p = ipaddr.IPv6.parse(ip).parts;
  return `${p[0]!.toString(16)}:${p[1]!.toString(16)}:${p[2]!.toString(16)}:${p[3]!.toString(16)}::/64`;
}

/**
 * The first four groups of an IPv6 address in canonical form (RFC 5952, as parseIp writes it:
 * lower case, no leading zeros, the longest run of zero groups as "::"), read off the text
 * without parsing it; null for any other form, which is parsed instead.
 */
function canonicalHead(ip: string): string | null {
  const gap = ip.indexOf('::');
  let head: string[];
  if (gap === -1) {
    head = ip.split(':');
    if (head.length !== 8) return null;
  } else {
    head = gap === 0 ? [] : ip.slice(0, gap).split(':');
    if (head.length < 4) {
      // The groups "::" stands for are as many as the eight lack; then those written after it.
      const rest = ip.slice(gap + 2);
      const after = rest === '' ? [] : rest.split(':');
      for (let zeros = 8 - head.length - after.length; zeros > 0 && head.length < 4; zeros--) head.push('0');
      for (const g of after) if (head.length < 4) head.push(g);
    }
  }
  for (let i = 0; i < 4; i++) if (!CANONICAL_GROUP.test(head[i] ?? '')) return null;
  return `${head[0]}:${head[1]}:${head[2]}:${head[3]}`;
}

const CANONICAL_GROUP = /^(?:0|[1-9a-f][0-9a-f]{0,3})$/;

export function networkSignals(net: NetworkInfo, profile: Profile | null, now: number, address: string): FamilySignals<'network'> {
  return {
    address_known: profile ? profile.addresses.some((n) => n.prefix === address && isFresh(n, now)) : false,
    private: net.private,
    version: net.version,
    subnet: net.subnet,
    subnet_known: profile ? profile.subnets.some((n) => n.prefix === net.subnet && isFresh(n, now)) : false,
    range_known: profile ? profile.ranges.some((n) => n.prefix === net.range && isFresh(n, now)) : false,
  };
}
