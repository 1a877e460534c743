import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type ListMatch = 'ip' | 'user' | 'device' | 'country';

export interface ListSubject {
  /** The address as ipaddr.js parsed it (IPv4-mapped IPv6 already unwrapped). */
  addr: ipaddr.IPv4 | ipaddr.IPv6;
  userId: string;
  deviceId: string;
  country: string;
}

export interface CompiledList {
  readonly name: string;
  readonly match: ListMatch;
  readonly size: number;
  test(s: ListSubject): boolean;
}

type Block = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Compiles a named list once at load. `ip` lists take addresses and CIDR blocks (IPv4 and
 * IPv6); the others take exact values (countries case-insensitively). Returns the values
 * that do not parse instead of throwing, so the loader can report each one.
 */
export function compileList(name: string, match: ListMatch, values: readonly string[]): { list: CompiledList; invalid: number[] } {
  const invalid: number[] = [];
  if (match === 'ip') {
    const v4: Block[] = [];
    const v6: Block[] = [];
    values.forEach((raw, i) => {
      const text = raw.trim();
      const [addr, bits, extra] = text.split('/');
      const kind = isIP(addr ?? '');
      const prefix = bits === undefined ? (kind === 6 ? 128 : 32) : Number(bits);
      if (kind === 0 || extra !== undefined || (bits !== undefined && !/^\d+$/.test(bits)) || prefix > (kind === 6 ? 128 : 32)) {
        invalid.push(i);
        return;
      }
      const parsed = ipaddr.parse(addr!);
      (parsed.kind() === 'ipv4' ? v4 : v6).push([parsed, prefix]);
    });
    return {
      list: {
        name,
        match,
        size: values.length,
        test: (s) => {
          const blocks = s.addr.kind() === 'ipv4' ? v4 : v6;
          for (const b of blocks) if ((s.addr as ipaddr.IPv4).match(b as [ipaddr.IPv4, number])) return true;
          return false;
        },
      },
      invalid,
    };
  }
  const normalize = match === 'country' ? (v: string) => v.trim().toUpperCase() : (v: string) => v;
  values.forEach((v, i) => {
    if (v.trim() === '' || (match === 'country' && !/^[A-Za-z]{2}$/.test(v.trim()))) invalid.push(i);
  });
  const set = new Set(values.map(normalize));
  const field = match === 'user' ? 'userId' : match === 'device' ? 'deviceId' : 'country';
  return {
    list: { name, match, size: values.length, test: (s) => s[field] !== '' && set.has(field === 'country' ? s[field].toUpperCase() : s[field]) },
    invalid,
  };
}
