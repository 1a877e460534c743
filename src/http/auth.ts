import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { narrowFile, writePrivateFile } from '../files.js';

/**
 * What a key may do. Each route under /v1 names the one scope it needs (its `config.scope`):
 * - `decide`: decisions, failed passwords, feedback, answering and resending challenges;
 * - `factors`: a user's second factors (TOTP, recovery codes, trusted devices, passkeys, device keys);
 * - `admin`: the rule set (listing, reload) and the audit trail.
 */
export const SCOPES = ['decide', 'factors', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** A key without scopes: what the login service needs, and nothing of the operator's. */
export const BARE_KEY_SCOPES: readonly Scope[] = ['decide', 'factors'];
/** The key generated at first start serves both the login service and its operator (development). */
const GENERATED_KEY_SCOPES: readonly Scope[] = SCOPES;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope an API key needs for this route; every route under /v1 names one (buildApp refuses one that does not). */
    scope?: Scope;
  }
}

/** SHA-256 in one call: no Hash object per request (its ~0.7 µs of the key check). */
export function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/**
 * The scopes of `key:scope+scope` (or of a bare key), or a message saying what is wrong with
 * the entry, which never repeats the key.
 */
export function parseScopes(text: string | undefined): Scope[] | string {
  if (text === undefined) return [...BARE_KEY_SCOPES];
  const names = text.split('+').map((s) => s.trim());
  const unknown = names.filter((s) => !isScope(s));
  if (unknown.length) return `unknown scope ${unknown.map((s) => `"${s}"`).join(', ')} (scopes: ${SCOPES.join(', ')})`;
  return [...new Set(names as Scope[])];
}

interface KeyEntry {
  digest: Buffer;
  scopes: ReadonlySet<Scope>;
}

/**
 * API keys, held only as SHA-256 digests with their scopes and compared in constant time: a
 * key never sits in memory or on disk in clear after start.
 */
export class ApiKeys {
  private readonly entries: KeyEntry[] = [];

  /** Keys as RISKGATE_API_KEYS spells them: `key` (decide+factors) or `key:scope+scope`. */
  constructor(specs: readonly string[]) {
    specs.forEach((spec, i) => {
      const colon = spec.indexOf(':');
      const key = colon < 0 ? spec : spec.slice(0, colon);
      const scopes = parseScopes(colon < 0 ? undefined : spec.slice(colon + 1));
      if (!key) throw new ConfigError(`RISKGATE_API_KEYS entry ${i + 1}: the key is empty`);
      if (typeof scopes === 'string') throw new ConfigError(`RISKGATE_API_KEYS entry ${i + 1}: ${scopes}`);
      this.entries.push({ digest: sha256(key), scopes: new Set(scopes) });
    });
  }

  /** Keys kept as `<sha256 hex> [scope+scope]` lines (the data directory's file). */
  static fromDigests(lines: readonly { hex: string; scopes: readonly Scope[] }[]): ApiKeys {
    const k = new ApiKeys([]);
    for (const l of lines) k.entries.push({ digest: Buffer.from(l.hex, 'hex'), scopes: new Set(l.scopes) });
    return k;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The scopes of the presented key, or null when it is not one of ours. */
  verify(presented: string): ReadonlySet<Scope> | null {
    const d = sha256(presented);
    let found: ReadonlySet<Scope> | null = null;
    // Compare against every key, so the time taken does not tell which one (or none) matched.
    for (const e of this.entries) if (timingSafeEqual(d, e.digest)) found = e.scopes;
    return found;
  }

  /** The key from an `Authorization: Bearer <key>` header, or null. */
  static bearer(header: string | undefined): string | null {
    if (!header) return null;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1]! : null;
  }
}

export const API_KEY_FILE = 'api-keys.sha256';

/** The lines of the key file: a digest, then its scopes (a line without them is a bare key). */
function readKeyFile(file: string): ApiKeys | null {
  const lines: { hex: string; scopes: Scope[] }[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      const m = /^([0-9a-f]{64})(?:\s+(\S+))?$/.exec(line);
      const scopes = m ? parseScopes(m[2]) : 'not "<sha256 hex> [scope+scope]"';
      if (!m || typeof scopes === 'string') throw new ConfigError(`${file}:${i + 1}: ${scopes as string}`);
      lines.push({ hex: m[1]!, scopes });
    });
  return lines.length ? ApiKeys.fromDigests(lines) : null;
}

/**
 * Keys from RISKGATE_API_KEYS (comma-separated `key` or `key:scope+scope`); without it, the
 * digests kept in the data directory; on the very first start, a new key with every scope,
 * whose digest is kept there and which is returned with its scopes (to be printed once,
 * never logged).
 */
export function resolveApiKeys(env: NodeJS.ProcessEnv, dataDir: string): { keys: ApiKeys; generated: { key: string; scopes: readonly Scope[] } | null } {
  const fromEnv = (env.RISKGATE_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (fromEnv.length) return { keys: new ApiKeys(fromEnv), generated: null };
  const file = join(dataDir, API_KEY_FILE);
  if (existsSync(file)) narrowFile(file);
  const kept = existsSync(file) ? readKeyFile(file) : null;
  if (kept) return { keys: kept, generated: null };
  const key = `rg_${randomBytes(32).toString('base64url')}`;
  const scopes = GENERATED_KEY_SCOPES.join('+');
  writePrivateFile(dataDir, API_KEY_FILE, `${sha256(key).toString('hex')} ${scopes}\n`);
  return { keys: new ApiKeys([`${key}:${scopes}`]), generated: { key, scopes: GENERATED_KEY_SCOPES } };
}
