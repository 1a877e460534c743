import type { GeoInfo, GeoLookup } from '../signals/geoip.js';
import type { LoginEvent } from './event.js';

/** How a replay locates addresses: the geolocation database, or the places the input records (`--geo csv`). */
export type GeoSource = 'geoip' | 'csv';

/**
 * Half the earth's circumference: an accuracy radius that covers the whole globe. The input
 * records a place by name, without coordinates, so its point is "somewhere": travel from or
 * to it always measures 0 km (the engine discounts both radii), and impossible travel cannot fire.
 */
export const ANYWHERE_KM = 20_038;

/** Thrown when `--geo csv` meets an event whose input records no place (JSONL, or a CSV without a Country column). */
export class NoRecordedPlace extends Error {
  constructor(readonly event: LoginEvent) {
    super('--geo csv reads the place from the RBA CSV\'s Country, Region, City and ASN columns');
    this.name = 'NoRecordedPlace';
  }
}

/**
 * A GeoLookup that answers from the event being replayed rather than from its address: the
 * replay sets the event (`at`) before the engines decide it. Every address is placed, private
 * ones too, since the input recorded where the login came from; an event whose country is
 * empty is not located. The ASN is carried on the event, but no signal reads one.
 */
export class RecordedPlaces {
  private current: GeoInfo | null = null;

  at(ev: LoginEvent): void {
    const p = ev.place;
    if (!p) throw new NoRecordedPlace(ev);
    this.current = p.country ? { country: p.country, region: p.region, city: p.city, lat: 0, lon: 0, radiusKm: ANYWHERE_KM, tz: '' } : null;
  }

  readonly lookup: GeoLookup = () => this.current;
}
