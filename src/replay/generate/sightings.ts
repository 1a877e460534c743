import type { Fingerprint } from '../event.js';
import type { GenEvent } from './stream.js';

/** How a device id last showed itself in a user's logins, and how often it did. */
export interface SeenDevice {
  id: string;
  uses: number;
  time: number;
  userAgent: string | undefined;
  fingerprint: Fingerprint | undefined;
  /** It has proved a device-bound key. */
  keyed: boolean;
}

/**
 * What a user's legitimate logins have shown so far: what malware or a phishing page on the
 * user's side could capture. Bounded by the user's device ids.
 */
export class Sightings {
  logins = 0;
  private readonly devices = new Map<string, SeenDevice>();

  observe(e: GenEvent): void {
    this.logins++;
    if (!e.deviceId) return;
    let d = this.devices.get(e.deviceId);
    if (!d) this.devices.set(e.deviceId, (d = { id: e.deviceId, uses: 0, time: e.time, userAgent: e.userAgent, fingerprint: e.fingerprint, keyed: false }));
    d.uses++;
    if (e.time >= d.time) Object.assign(d, { time: e.time, userAgent: e.userAgent, fingerprint: e.fingerprint });
    if (e.deviceProof === 'valid') d.keyed = true;
  }

  /** The device the user logged in with most (the first seen, of equals). */
  top(): SeenDevice | null {
    let best: SeenDevice | null = null;
    for (const d of this.devices.values()) if (best === null || d.uses > best.uses) best = d;
    return best;
  }
}
