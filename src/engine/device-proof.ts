import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { InputError } from '../errors.js';
import type { DeviceKeyEntry, Profile } from '../profile/profile.js';
import type { ProofOutcome } from '../signals/device.js';
import type { LimitCounters } from '../store/ports.js';
import type { DeviceProofInput, RecordedProof } from '../types.js';

/**
 * Device-bound keys (docs/signals.md#device-bound-keys). A login page makes a non-extractable
 * ECDSA P-256 key pair with WebCrypto and registers its public half for the device id; from
 * then on each decision for that device carries a signature over proofString(userId,
 * deviceId, time). A copied cookie comes without the key.
 */

/** How far the signed time may be from riskgate's clock, either way (client clocks drift). */
export const PROOF_WINDOW_MS = 120_000;
/** The limit counter that makes each proof single-use. */
const SPENT_LIMIT = 'device_proof';


/** The public key as JWK, as the login page exports it. */
export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  [k: string]: unknown;
}

/** The exact string a device signs: a version tag, then the user id, device id and time, one per line. */
export function proofString(userId: string, deviceId: string, time: number): string {
  return `riskgate-device-proof-v1\n${userId}\n${deviceId}\n${time}`;
}

const B64URL_256 = /^[A-Za-z0-9_-]{43}$/;

/** Checks a registered key: an ECDSA P-256 public JWK, without its private part; throws INVALID_DEVICE_KEY. */
export function checkPublicJwk(jwk: PublicJwk): { x: string; y: string } {
  const bad = (why: string) => new InputError('INVALID_DEVICE_KEY', `publicKey: ${why}`);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw bad('expected an ECDSA P-256 key ("kty":"EC","crv":"P-256")');
  if ('d' in jwk) throw bad('holds the private key ("d"); send only the public key');
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string' || !B64URL_256.test(jwk.x) || !B64URL_256.test(jwk.y)) throw bad('"x" and "y" must be 32-byte base64url coordinates');
  try {
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
  } catch {
    throw bad('the point is not on the P-256 curve');
  }
  return { x: jwk.x, y: jwk.y };
}

/** Checks proofs against the keys in profiles; each proof is accepted once, on any instance (a limit counter). */
export class DeviceProofs {
  private readonly keys = new LRUCache<string, KeyObject>({ max: 10_000 });

  constructor(private readonly limits: Pick<LimitCounters, 'add'>) {}

  /** The key registered for this device id, if any. */
  static keyOf(profile: Profile | null, deviceId: string | undefined): DeviceKeyEntry | undefined {
    if (!profile || !deviceId) return undefined;
    for (const k of profile.keys) if (k.device === deviceId) return k;
    return undefined;
  }

  /** What a proof proves without checking a signature: nothing to check, none sent, or an outcome a replay recorded; undefined when there is a signature to check. */
  static recorded(key: DeviceKeyEntry | undefined, deviceId: string | undefined, proof: DeviceProofInput | RecordedProof | undefined): ProofOutcome | undefined {
    if (!key || !deviceId) return 'none';
    if (proof === undefined) return 'missing';
    if (typeof proof === 'string') return proof;
    return undefined;
  }

  async check(key: DeviceKeyEntry | undefined, userId: string, deviceId: string | undefined, proof: DeviceProofInput | RecordedProof | undefined, now: number): Promise<ProofOutcome> {
    const known = DeviceProofs.recorded(key, deviceId, proof);
    if (known !== undefined || !key || !deviceId || typeof proof !== 'object') return known ?? 'none';
    // A key a replay simulated has no coordinates: only a recorded outcome can speak for it.
    if (key.x === '' || Math.abs(now - proof.time) > PROOF_WINDOW_MS) return 'invalid';
    let sig: Buffer;
    try {
      sig = Buffer.from(proof.signature, 'base64url');
    } catch {
      return 'invalid';
    }
    if (sig.length !== 64) return 'invalid';
    if (!verify('sha256', Buffer.from(proofString(userId, deviceId, proof.time)), { key: this.publicKey(key), dsaEncoding: 'ieee-p1363' }, sig)) return 'invalid';
    // Spent once: a proof again within the window is a replay. Keyed by user, device and signed
    // time, not by signature: an ECDSA signature has a second valid form, (r, n - s).
    const uses = await this.limits.add(SPENT_LIMIT, `${userId}\n${deviceId}\n${proof.time}`, 1, Math.ceil((2 * PROOF_WINDOW_MS) / 1000));
    return uses === 1 ? 'valid' : 'invalid';
  }

  private publicKey(k: DeviceKeyEntry): KeyObject {
    const id = `${k.x}.${k.y}`;
    let key = this.keys.get(id);
    if (!key) {
      key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: k.x, y: k.y }, format: 'jwk' });
      this.keys.set(id, key);
    }
    return key;
  }
}
