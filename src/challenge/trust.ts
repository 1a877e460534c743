import { randomUUID } from 'node:crypto';
import type { TrustVerifier } from '../engine/engine.js';
import type { TrustedDevice } from './model.js';
import type { TrustedDevices } from '../store/ports.js';
import type { Keys } from './keys.js';

const DAY_MS = 86_400_000;
const PREFIX = 'rgt1';
/** rgt1.<uuid>.<expiry ms>.<HMAC-SHA256 hex>, exactly as issue() writes it. */
const CANONICAL = /^rgt1\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([1-9][0-9]{0,14})\.([0-9a-f]{64})$/;

export interface IssuedTrust {
  token: string;
  device: TrustedDevice;
}

/**
 * "Trust this device" tokens: `rgt1.<id>.<expiry>.<mac>`, the MAC keyed with the server secret
 * over the id, user, device and expiry. The user and device are not in the token, so a token
 * presented for another user or device simply fails its MAC. The store keeps the id (to list
 * and revoke), never the token; a revoked or expired device makes its token worthless.
 */
export class TrustTokens implements TrustVerifier {
  constructor(
    private readonly store: TrustedDevices,
    private readonly keys: Keys,
    private readonly days: number,
  ) {}

  async issue(userId: string, deviceId: string, label: string, ip: string, now: number): Promise<IssuedTrust> {
    const id = randomUUID();
    const expiresAt = now + this.days * DAY_MS;
    const device: TrustedDevice = { id, userId, deviceId, label, ip, createdAt: now, expiresAt };
    await this.store.addTrustedDevice(device);
    return { token: [PREFIX, id, String(expiresAt), this.mac(id, userId, deviceId, expiresAt)].join('.'), device };
  }

  async verify(token: string, userId: string, deviceId: string | undefined, now: number): Promise<boolean> {
    if (!deviceId) return false;
    // One spelling per token: lower-case hex, no leading zero, nothing after the MAC.
    const m = CANONICAL.exec(token);
    if (!m) return false;
    const [, id, exp, mac] = m as unknown as [string, string, string, string];
    const expiresAt = Number(exp);
    if (now >= expiresAt || !this.keys.verify('trust', mac, id, userId, deviceId, String(expiresAt))) return false;
    const devices = await this.store.listTrustedDevices(userId, now);
    return devices.some((d) => d.id === id && d.deviceId === deviceId);
  }

  list(userId: string, now: number): Promise<TrustedDevice[]> {
    return this.store.listTrustedDevices(userId, now);
  }

  revoke(userId: string, id?: string): Promise<number> {
    return this.store.revokeTrustedDevices(userId, id);
  }

  private mac(id: string, userId: string, deviceId: string, expiresAt: number): string {
    return this.keys.mac('trust', id, userId, deviceId, String(expiresAt));
  }
}
