import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { narrowFile, writePrivateFile } from '../files.js';

/** What each derived key is for; a key is never used for two purposes. */
type Purpose = 'code' | 'recovery' | 'trust' | 'totp';

type KeySet = Record<Purpose, Buffer>;

function deriveKeys(secret: Buffer): KeySet {
  const derive = (p: Purpose) => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `riskgate/${p}/v1`, 32));
  return { code: derive('code'), recovery: derive('recovery'), trust: derive('trust'), totp: derive('totp') };
}

/**
 * The server secret and the keys derived from it (HKDF-SHA256, one per purpose): HMAC keys
 * for one-time codes, recovery codes and trust tokens, and the AES-256-GCM key that encrypts
 * TOTP secrets at rest. The secret comes from the environment (RISKGATE_SECRET).
 *
 * Rotation: with previous secrets (RISKGATE_SECRET_PREVIOUS), everything is made under the
 * current one, and what was made under a previous one (a code in flight, a trust token, a
 * recovery code, a sealed TOTP secret) is still accepted.
 */
const HEX = /^(?:[0-9a-f]{2})+$/;

export class Keys {
  /** The current key set first, then the previous ones. */
  private readonly sets: KeySet[];

  constructor(secret: Buffer, previous: Buffer[] = []) {
    for (const s of [secret, ...previous]) if (s.length < 32) throw new Error('RISKGATE_SECRET must hold at least 32 bytes (64 hex digits or 44 base64 characters)');
    this.sets = [secret, ...previous].map(deriveKeys);
  }

  /** Keyed hash of `parts` under the current secret, joined unambiguously; hex. */
  mac(purpose: Exclude<Purpose, 'totp'>, ...parts: string[]): string {
    return Keys.macWith(this.sets[0]!, purpose, parts);
  }

  /** The keyed hashes of `parts` under each secret, current first: to find a stored hash made before a rotation. */
  macs(purpose: Exclude<Purpose, 'totp'>, ...parts: string[]): string[] {
    return this.sets.map((k) => Keys.macWith(k, purpose, parts));
  }

  /** Whether `mac` is the keyed hash of `parts` under the current or a previous secret; each compared in constant time. */
  verify(purpose: Exclude<Purpose, 'totp'>, mac: string, ...parts: string[]): boolean {
    let ok = false;
    for (const m of this.macs(purpose, ...parts)) ok = Keys.same(m, mac) || ok;
    return ok;
  }

  private static macWith(keys: KeySet, purpose: Exclude<Purpose, 'totp'>, parts: string[]): string {
    const h = createHmac('sha256', keys[purpose]);
    for (const p of parts) h.update(`${Buffer.byteLength(p)}:${p};`);
    return h.digest('hex');
  }

  /**
   * Constant-time comparison of two hex MACs, each in the one spelling mac() writes: Buffer's
   * hex decoding would take upper case and ignore trailing junk, giving a MAC many spellings.
   */
  static same(a: string, b: string): boolean {
    if (a.length !== b.length || !HEX.test(a) || !HEX.test(b)) return false;
    return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
  }

  /** AES-256-GCM under the current secret, with a random nonce; `context` (the user id) is authenticated, so a ciphertext moved to another user fails. */
  encrypt(plain: string, context: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.sets[0]!.totp, iv);
    c.setAAD(Buffer.from(context));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64url'), body.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
  }

  /** Opens a value sealed under the current or a previous secret, and says whether it was the current one; throws when none opens it. */
  open(sealed: string, context: string): { plain: string; current: boolean } {
    const [v, iv, body, tag] = sealed.split('.');
    if (v !== 'v1' || !iv || body === undefined || !tag) throw new Error('not a sealed value');
    let failure: unknown;
    for (const [i, keys] of this.sets.entries()) {
      try {
        const d = createDecipheriv('aes-256-gcm', keys.totp, Buffer.from(iv, 'base64url'));
        d.setAAD(Buffer.from(context));
        d.setAuthTag(Buffer.from(tag, 'base64url'));
        return { plain: Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8'), current: i === 0 };
      } catch (e) {
        failure = e;
      }
    }
    throw failure;
  }
}

export const SECRET_FILE = 'secret.key';

/** Reads a secret given as hex (64+ digits) or base64. */
function parseSecret(text: string): Buffer {
  const t = text.trim();
  return /^[0-9a-fA-F]{64,}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
}

/**
 * RISKGATE_SECRET from the environment; without it (development), a secret generated once
 * into the data directory (mode 0600), so codes and tokens survive a restart; on Redis or
 * PostgreSQL it is required, since instances must share it. `generated`
 * tells the caller to warn: a production server should take its secret from the environment.
 */
export function resolveSecret(env: NodeJS.ProcessEnv, dataDir: string): { keys: Keys; generated: boolean } {
  const shared = env.REDIS_URL ? 'REDIS_URL' : env.DATABASE_URL ? 'DATABASE_URL' : null;
  if (shared && !env.RISKGATE_SECRET) {
    // Each instance would generate its own: a code sent by one, or a trust token it issued, would fail on the others.
    throw new ConfigError(`${shared} is set but RISKGATE_SECRET is not: instances that share a store must share one secret (openssl rand -hex 32)`);
  }
  const previous = (env.RISKGATE_SECRET_PREVIOUS ?? '')
    .split(',')
    .filter((t) => t.trim())
    .map((t, i) => {
      const secret = parseSecret(t);
      if (secret.length < 32) throw new ConfigError(`RISKGATE_SECRET_PREVIOUS: secret ${i + 1} holds fewer than 32 bytes`);
      return secret;
    });
  if (env.RISKGATE_SECRET) {
    const secret = parseSecret(env.RISKGATE_SECRET);
    if (secret.length < 32) throw new ConfigError('RISKGATE_SECRET must hold at least 32 bytes: 64 hex digits or 44 base64 characters (openssl rand -hex 32)');
    return { keys: new Keys(secret, previous), generated: false };
  }
  if (previous.length) throw new ConfigError('RISKGATE_SECRET_PREVIOUS is set but RISKGATE_SECRET is not: rotation needs the new secret in RISKGATE_SECRET');
  const file = join(dataDir, SECRET_FILE);
  if (existsSync(file)) {
    narrowFile(file);
    return { keys: new Keys(parseSecret(readFileSync(file, 'utf8'))), generated: true };
  }
  const secret = randomBytes(32);
  writePrivateFile(dataDir, SECRET_FILE, `${secret.toString('hex')}\n`);
  return { keys: new Keys(secret), generated: true };
}
