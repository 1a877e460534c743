import { BlockList, isIP } from 'node:net';

export type ListMatch = 'ip' | 'user' | 'device' | 'country';

export interface ListSubject {
  ip: string;
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

/**
 * Compiles a named list once at load. `ip` lists take addresses and CIDR blocks (IPv4 and
 * IPv6); the others take exact values (countries case-insensitively). Returns the values
 * that do not parse instead of throwing, so the loader can report each one.
 */
export function compileList(name: string, match: ListMatch, values: readonly string[]): { list: CompiledList; invalid: number[] } {
  const invalid: number[] = [];
  if (match === 'ip') {
    const block = new BlockList();
    values.forEach((raw, i) => {
      const [addr, bits, extra] = raw.trim().split('/');
      const kind = isIP(addr ?? '');
      const type = kind === 6 ? 'ipv6' : 'ipv4';
      const prefix = bits === undefined ? undefined : Number(bits);
      if (kind === 0 || extra !== undefined || (prefix !== undefined && (!/^\d+$/.test(bits!) || prefix > (kind === 6 ? 128 : 32)))) {
        invalid.push(i);
      } else if (prefix === undefined) {
        block.addAddress(addr!, type);
      } else {
        block.addSubnet(addr!, prefix, type);
      }
    });
    return {
      list: {
        name,
        match,
        size: values.length,
        test: (s) => block.check(s.ip, isIP(s.ip) === 6 ? 'ipv6' : 'ipv4'),
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
