import { NATIONS, type City, type CityNet, type Nation } from './places.js';
import type { Random } from './random.js';

/**
 * Addresses. Users live in the cities of places.ts: a home is a host in one of its ISP's
 * /24s there (and, for many, an IPv6 /64 of the ISP); a phone on mobile data takes a new
 * address at each session from its carrier's CGNAT pool, one /16 per user, as a carrier
 * serves a region from one pool. Other countries are /16 blocks that geoip-lite places in
 * the country, for travel, VPN exits and attackers. The groupings are this generator's, not
 * claims about who owns a block.
 */

export interface Country {
  code: string;
  tz: string;
  lat: number;
  lon: number;
  blocks: readonly string[];
}

const range = (a: number, from: number, to: number): string[] => {
  const out: string[] = [];
  for (let b = from; b <= to; b++) out.push(`${a}.${b}`);
  return out;
};

const split = new Map<string, readonly string[]>();
/** The prefixes of a places.ts list ("a b c"). */
export function prefixes(list: string): readonly string[] {
  let l = split.get(list);
  if (!l) split.set(list, (l = list.split(' ').filter(Boolean)));
  return l;
}

export function pickNation(rng: Random): Nation {
  return rng.weighted(NATIONS.map((n) => [n, n.weight] as const));
}

/** A city of the nation, by population; `except` is left out. */
export function pickCity(rng: Random, nation: Nation, except?: City): City {
  return rng.weighted(nation.cities.filter((c) => c !== except).map((c) => [c, c.weight] as const));
}

/** An ISP of the city, by its share of the city's homes. */
export function pickNet(rng: Random, city: City): CityNet {
  return rng.weighted(city.nets.map((n) => [n, n.share] as const));
}

/** A host of a /24 ("a.b.c"). */
export function hostIn(rng: Random, p24: string): string {
  return `${p24}.${rng.int(2, 254)}`;
}

/** A home's /64 in one of the ISP's /40s near the city. */
export function homePrefix64(rng: Random, net: CityNet): string | null {
  const p40 = prefixes(net.v6);
  if (p40.length === 0) return null;
  return `${rng.pick(p40)}${rng.hex(2)}:${rng.hex(4)}`;
}

/** An address of a /64 with a (privacy extension) interface id, groups written without leading zeros. */
export function v6Address(p64: string, iid: string): string {
  return `${p64}:${iid}`
    .split(':')
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':');
}

export function interfaceId(rng: Random): string {
  return `${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}`;
}

/** Other countries: travel destinations, VPN exits, attack origins. The first /16s of eight found wholly in the country. */
export const COUNTRIES: Readonly<Record<string, Country>> = {
  ES: { code: 'ES', tz: 'Europe/Madrid', lat: 40.42, lon: -3.7, blocks: ['62.15', '80.30', '83.41', '85.59', '88.19', '95.18', '161.37'] },
  IT: { code: 'IT', tz: 'Europe/Rome', lat: 41.9, lon: 12.5, blocks: ['2.32', '79.33', '82.90', '88.54', '94.165', '151.3', '151.99'] },
  PT: { code: 'PT', tz: 'Europe/Lisbon', lat: 38.72, lon: -9.14, blocks: ['2.80', '79.169', '85.243', '89.155', '94.63', '109.50', '193.126'] },
  GR: { code: 'GR', tz: 'Europe/Athens', lat: 37.98, lon: 23.73, blocks: ['2.84', '37.6', '62.74', '79.130', '85.72', '94.65', '109.242'] },
  NL: { code: 'NL', tz: 'Europe/Amsterdam', lat: 52.37, lon: 4.9, blocks: ['77.167', '84.83', '145.15', '145.102', '178.224'] },
  CH: { code: 'CH', tz: 'Europe/Zurich', lat: 47.37, lon: 8.54, blocks: ['84.74', '147.86', '160.61', '57.28'] },
  SE: { code: 'SE', tz: 'Europe/Stockholm', lat: 59.33, lon: 18.07, blocks: ['2.0', '37.3', '79.102', '84.8', '91.130', '193.11'] },
  PL: { code: 'PL', tz: 'Europe/Warsaw', lat: 52.23, lon: 21.01, blocks: ['5.60', '37.249', '78.10', '83.0', '83.26', '89.72', '95.51', '178.183'] },
  US: { code: 'US', tz: 'America/New_York', lat: 40.71, lon: -74.0, blocks: ['73.64', '73.68', '73.69', '73.72', '73.70'] },
  DE: { code: 'DE', tz: 'Europe/Berlin', lat: 52.52, lon: 13.4, blocks: range(91, 0, 7) },
  GB: { code: 'GB', tz: 'Europe/London', lat: 51.5, lon: -0.12, blocks: range(86, 128, 135) },
  FR: { code: 'FR', tz: 'Europe/Paris', lat: 48.86, lon: 2.35, blocks: range(90, 0, 7) },
  NO: { code: 'NO', tz: 'Europe/Oslo', lat: 59.91, lon: 10.75, blocks: ['81.167', '84.211', '88.91'] },
  MX: { code: 'MX', tz: 'America/Mexico_City', lat: 19.43, lon: -99.13, blocks: ['187.142', '187.201', '187.238', '189.227', '201.108'] },
  JP: { code: 'JP', tz: 'Asia/Tokyo', lat: 35.68, lon: 139.69, blocks: ['60.121', '118.1', '126.73', '153.220', '183.75', '219.103'] },
  TH: { code: 'TH', tz: 'Asia/Bangkok', lat: 13.75, lon: 100.5, blocks: ['14.207', '58.9', '110.164', '115.87', '125.24', '171.103'] },
  NG: { code: 'NG', tz: 'Africa/Lagos', lat: 6.52, lon: 3.38, blocks: ['41.58', '102.90', '105.114', '105.118', '105.122', '154.113'] },
  VN: { code: 'VN', tz: 'Asia/Ho_Chi_Minh', lat: 10.82, lon: 106.63, blocks: ['14.161', '14.177', '14.228', '27.76', '113.181', '117.0', '123.22'] },
  BR: { code: 'BR', tz: 'America/Sao_Paulo', lat: -23.55, lon: -46.63, blocks: ['177.89', '179.65', '179.201', '187.51', '189.110', '191.171', '200.186'] },
  IN: { code: 'IN', tz: 'Asia/Kolkata', lat: 19.08, lon: 72.88, blocks: ['42.108', '59.165', '106.212', '117.196', '120.58', '182.64'] },
  ID: { code: 'ID', tz: 'Asia/Jakarta', lat: -6.2, lon: 106.85, blocks: ['39.197', '39.218', '39.239', '114.123', '120.174'] },
  RU: { code: 'RU', tz: 'Europe/Moscow', lat: 55.76, lon: 37.62, blocks: ['37.78', '95.32', '109.252', '178.64', '178.207'] },
  CN: { code: 'CN', tz: 'Asia/Shanghai', lat: 31.23, lon: 121.47, blocks: ['42.240', '101.35', '112.57', '116.252', '122.75', '175.19', '211.153'] },
  UA: { code: 'UA', tz: 'Europe/Kyiv', lat: 50.45, lon: 30.52, blocks: ['5.58', '37.55', '46.119', '77.52', '92.113', '94.179', '176.38'] },
  RO: { code: 'RO', tz: 'Europe/Bucharest', lat: 44.43, lon: 26.1, blocks: ['5.12', '79.112', '82.76', '86.120', '89.121', '92.83', '109.96'] },
  PK: { code: 'PK', tz: 'Asia/Karachi', lat: 24.86, lon: 67.0, blocks: ['39.32', '39.40', '39.48', '39.56', '59.103', '119.153', '182.183'] },
  TR: { code: 'TR', tz: 'Europe/Istanbul', lat: 41.01, lon: 28.98, blocks: ['5.24', '46.221', '78.185', '85.109', '88.247', '95.5', '176.42'] },
  AR: { code: 'AR', tz: 'America/Argentina/Buenos_Aires', lat: -34.6, lon: -58.38, blocks: ['179.37', '181.24', '181.83', '181.108', '186.59', '190.172'] },
  CO: { code: 'CO', tz: 'America/Bogota', lat: 4.71, lon: -74.07, blocks: ['181.52', '181.141', '181.242', '186.102', '190.67', '191.108'] },
  EG: { code: 'EG', tz: 'Africa/Cairo', lat: 30.04, lon: 31.24, blocks: ['41.32', '45.100', '102.62', '105.183', '156.197', '197.57'] },
};

/** A host in a /16 block. */
export function addressIn(rng: Random, block: string): string {
  return `${block}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

const EARTH_KM = 6371;

/** Great-circle distance in km. */
export function kmBetween(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * r) / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(((b.lon - a.lon) * r) / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
