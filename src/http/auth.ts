import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * API keys, held only as SHA-256 digests and compared in constant time: a key never sits
 * in memory or on disk in clear after start.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(sha256);
  }

  static fromDigests(hex: readonly string[]): ApiKeys {
    const k = new ApiKeys([]);
    k.digests.push(...hex.map((h) => Buffer.from(h, 'hex')));
    return k;
  }

  get size(): number {
    return this.digests.length;
  }

  verify(presented: string): boolean {
    const d = sha256(presented);
    let ok = false;
    // Compare against every key, so the time taken does not tell which one (or none) matched.
    for (const k of this.digests) ok = timingSafeEqual(d, k) || ok;
    return ok;
  }

  /** The key from an `Authorization: Bearer <key>` header, or null. */
  static bearer(header: string | undefined): string | null {
    if (!header) return null;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1]! : null;
  }
}

export const API_KEY_FILE = 'api-keys.sha256';

/**
 * Keys from RISKGATE_API_KEYS (comma-separated); without it, the digests kept in the data
 * directory; on the very first start, a new key whose digest is kept there and which is
 * returned (to be printed once, never logged).
 */
export function resolveApiKeys(env: NodeJS.ProcessEnv, dataDir: string): { keys: ApiKeys; generated: string | null } {
  const fromEnv = (env.RISKGATE_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (fromEnv.length) return { keys: new ApiKeys(fromEnv), generated: null };
  const file = join(dataDir, API_KEY_FILE);
  if (existsSync(file)) {
    const digests = readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[0-9a-f]{64}$/.test(l));
    if (digests.length) return { keys: ApiKeys.fromDigests(digests), generated: null };
  }
  const key = `rg_${randomBytes(32).toString('base64url')}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${sha256(key).toString('hex')}\n`, { mode: 0o600 });
  return { keys: new ApiKeys([key]), generated: key };
}
