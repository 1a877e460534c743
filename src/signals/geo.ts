import { isFresh, type LastLogin, type Profile } from '../profile/profile.js';
import { distanceKm, type GeoInfo } from './geoip.js';
import type { FamilySignals } from './schema.js';

export interface Travel {
  distanceKm: number;
  minutes: number;
  speedKmh: number;
}

/**
 * Distance and speed from the last learned login. The distance is what remains beyond both
 * locations' accuracy radius, so two guesses for the same city never look like a journey;
 * the time is at least a minute, so two logins in one second never look infinitely fast.
 */
export function travelFrom(last: LastLogin, here: GeoInfo, now: number): Travel {
  const raw = distanceKm(last.lat, last.lon, here.lat, here.lon);
  const distance = Math.max(0, raw - last.radiusKm - here.radiusKm);
  const minutes = Math.max(0, (now - last.time) / 60_000);
  return { distanceKm: distance, minutes, speedKmh: distance / (Math.max(1, minutes) / 60) };
}

export function geoSignals(geo: GeoInfo | null, profile: Profile | null, now: number): FamilySignals<'geo'> {
  if (!geo) {
    return {
      located: false,
      country: '',
      region: '',
      city: '',
      country_known: false,
      region_known: false,
      city_known: false,
      distance_km: -1,
      minutes_since_last: profile?.last ? Math.max(0, (now - profile.last.time) / 60_000) : -1,
      speed_kmh: -1,
    };
  }
  const places = profile ? profile.places.filter((p) => isFresh(p, now)) : [];
  const travel = profile?.last ? travelFrom(profile.last, geo, now) : null;
  return {
    located: true,
    country: geo.country,
    region: geo.region,
    city: geo.city,
    country_known: places.some((p) => p.country === geo.country),
    region_known: places.some((p) => p.country === geo.country && p.region === geo.region),
    city_known: places.some((p) => p.country === geo.country && p.region === geo.region && p.city === geo.city),
    distance_km: travel ? travel.distanceKm : -1,
    minutes_since_last: travel ? travel.minutes : -1,
    speed_kmh: travel ? travel.speedKmh : -1,
  };
}
