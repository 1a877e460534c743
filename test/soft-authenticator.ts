import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A WebAuthn authenticator in software, for tests that need no browser: it answers
 * riskgate's options with the JSON a browser's credential.toJSON() gives (packed in "none"
 * attestation, ES256 keys), and can be told to lie (another origin, no user verification, an
 * old counter). The browser test (passkeys.chromium.test.ts) checks the same flows against
 * Chromium's own authenticator.
 */

type Cbor = number | string | Buffer | Map<Cbor, Cbor>;

/** The CBOR that attestation objects and COSE keys need: unsigned and negative integers, byte and text strings, maps. */
function cbor(v: Cbor): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 256) return Buffer.from([(major << 5) | 24, n]);
    if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
  return Buffer.concat([head(5, v.size), ...[...v].flatMap(([k, x]) => [cbor(k), cbor(x)])]);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
const b64 = (b: Buffer) => b.toString('base64url');

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

interface Credential {
  id: Buffer;
  key: KeyObject;
  cose: Buffer;
  rpId: string;
  counter: number;
}

export interface SoftOptions {
  /** The origin the "browser" writes into clientDataJSON. */
  origin: string;
  /** Whether the authenticator verifies the user (PIN, biometric); true by default. */
  uv?: boolean;
}

type Json = Record<string, unknown>;

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];

  constructor(private readonly o: SoftOptions) {}

  private flags(uv = this.o.uv ?? true): number {
    return UP | (uv ? UV : 0);
  }

  /** navigator.credentials.create(): a new ES256 key for options.rp.id, answered as credential.toJSON(). */
  create(options: { challenge: string; rp: { id?: string } }, over: { origin?: string } = {}): Json {
    const rpId = options.rp.id!;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = cbor(new Map<Cbor, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]));
    const id = randomBytes(16);
    const credential: Credential = { id, key: privateKey, cose, rpId, counter: 0 };
    this.credentials.push(credential);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.flags() | AT]), Buffer.alloc(4), Buffer.alloc(16), idLength, id, cose]);
    const clientData = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: over.origin ?? this.o.origin, crossOrigin: false });
    const attestation = cbor(new Map<Cbor, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    return {
      id: b64(id),
      rawId: b64(id),
      type: 'public-key',
      response: { clientDataJSON: b64(Buffer.from(clientData)), attestationObject: b64(attestation), transports: ['internal'] },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  /**
   * navigator.credentials.get(): signs options.challenge with the first credential of
   * allowCredentials it holds (or `credential`), its counter one up unless `counter` says.
   */
  get(options: { challenge: string; rpId?: string; allowCredentials?: { id: string }[] }, over: { origin?: string; counter?: number; uv?: boolean; credential?: number } = {}): Json {
    const allowed = new Set((options.allowCredentials ?? []).map((c) => c.id));
    const c = over.credential !== undefined ? this.credentials[over.credential]! : this.credentials.find((x) => allowed.has(b64(x.id)));
    if (!c) throw new Error('no credential of this authenticator is allowed');
    c.counter = over.counter ?? c.counter + 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(c.counter);
    const authData = Buffer.concat([sha256(options.rpId ?? c.rpId), Buffer.from([this.flags(over.uv)]), counter]);
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: over.origin ?? this.o.origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), c.key);
    return {
      id: b64(c.id),
      rawId: b64(c.id),
      type: 'public-key',
      response: { clientDataJSON: b64(clientData), authenticatorData: b64(authData), signature: b64(signature) },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }
}
