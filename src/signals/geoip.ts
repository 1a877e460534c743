import { createRequire } from 'node:module';

export interface GeoInfo {
  country: string;
  region: string;
  city: string;
  lat: number;
  lon: number;
  /** The database's accuracy radius around lat/lon. */
  radiusKm: number;
  /** IANA time zone of the location. */
  tz: string;
}

/**
 * Where an address is, or null. The engine asks about every address; `routable` is false for
 * private, loopback and other reserved ones, which no database places (a replay that reads
 * places from its input can).
 */
export type GeoLookup = (ip: string, routable: boolean) => GeoInfo | null;

type GeoipLite = typeof import('geoip-lite');
let geoip: GeoipLite | undefined;

/**
 * geoip-lite (MaxMind GeoLite2 data, CC BY-SA 4.0). Its ~190 MB table loads on the first
 * lookup, not at import, so commands that never locate an address (rules check) stay light.
 */
export function geoipLite(ip: string, routable = true): GeoInfo | null {
  if (!routable) return null;
  geoip ??= createRequire(import.meta.url)('geoip-lite') as GeoipLite;
  const r = geoip.lookup(ip);
  if (!r || !r.ll) return null;
  return {
    country: r.country ?? '',
    region: r.region ?? '',
    city: r.city ?? '',
    lat: r.ll[0],
    lon: r.ll[1],
    radiusKm: r.area ?? 0,
    tz: r.timezone ?? '',
  };
}

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance between two points, in km (haversine). */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}
