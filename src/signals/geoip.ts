import { GeoDb } from './geodb.js';

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

let db: GeoDb | undefined;

/**
 * The default lookup: geoip-lite's database (MaxMind GeoLite2, CC BY-SA 4.0), read from its
 * files as needed (src/signals/geodb.ts) rather than loaded into memory; opened on the first
 * lookup, not at import, so commands that never locate an address (rules check) stay light.
 */
export function geoipLite(ip: string, routable = true): GeoInfo | null {
  if (!routable) return null;
  db ??= GeoDb.fromGeoipLite();
  const r = db.lookup(ip);
  return r && { country: r.country, region: r.region, city: r.city, lat: r.lat, lon: r.lon, radiusKm: r.radiusKm, tz: r.tz };
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
