import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { InputError } from '../errors.js';
import { isFresh, type Profile } from '../profile/profile.js';
import type { FamilySignals } from './schema.js';

export interface NetworkInfo {
  /** The address in canonical form; IPv4-mapped IPv6 addresses become IPv4. */
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

/** Parses and classifies an address; throws InputError for anything that is not an IPv4 or IPv6 address. */
export function parseIp(raw: string): NetworkInfo {
  const kind = isIP(raw);
  if (kind === 0) throw new InputError('INVALID_IP', `"${raw.slice(0, 64)}" is not an IPv4 or IPv6 address`);
  const addr = ipaddr.process(raw);
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

export function networkSignals(net: NetworkInfo, profile: Profile | null, now: number): FamilySignals<'network'> {
  return {
    private: net.private,
    version: net.version,
    subnet: net.subnet,
    subnet_known: profile ? profile.subnets.some((n) => n.prefix === net.subnet && isFresh(n, now)) : false,
    range_known: profile ? profile.ranges.some((n) => n.prefix === net.range && isFresh(n, now)) : false,
  };
}
