import pg from 'pg';
import { ConfigError } from '../../errors.js';
import { migrate } from './schema.js';

/** Something that runs a query: the pool, or one connection taken from it (a transaction). */
export interface Queryable {
  query<R extends pg.QueryResultRow>(q: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/** A statement prepared once per connection (by name); call it with its parameters. */
export type Statement = <R extends pg.QueryResultRow = pg.QueryResultRow>(...values: unknown[]) => Promise<pg.QueryResult<R>>;

export interface PgDbOptions {
  /** postgres://user[:password]@host[:port]/database[?options] (DATABASE_URL). */
  url: string;
  /** Connections this instance keeps at most. */
  poolSize?: number | undefined;
  /** A connection attempt without an answer after this long fails. */
  connectTimeoutMs?: number | undefined;
}

const INT8 = 20;

/** bigint columns hold milliseconds and counts, far below 2^53: numbers, not strings. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? Number : pg.types.getTypeParser(oid, format))) as pg.CustomTypesConfig['getTypeParser'],
};

/** The URL without its password, to name in messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** An error's own words: a refused connection to a name with two addresses is an AggregateError whose message is empty. */
function reason(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length) return [...new Set(e.errors.map(reason))].join('; ');
  if (e instanceof Error) return e.message || (e as { code?: string }).code || e.name;
  return String(e);
}

/**
 * The connection pool (node-postgres) that every port of the PostgreSQL backend shares.
 * Statements are prepared by name on each connection the first time they run there, so a
 * login's queries are parsed and planned once per connection, not once per login.
 */
export class PgDb {
  readonly pool: pg.Pool;
  private readonly names = new Set<string>();

  private constructor(o: PgDbOptions) {
    this.pool = new pg.Pool({
      connectionString: o.url,
      max: o.poolSize ?? 10,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 2000,
      keepAlive: true,
      application_name: 'riskgate',
      types,
    });
    // An idle connection that breaks is dropped by the pool and the next query opens another;
    // failed queries reach their callers (and the store guard), so this needs no second report.
    this.pool.on('error', () => undefined);
  }

  /**
   * Connects and brings the schema up to date (schema.ts). Anything that prevents it (a bad
   * URL, an unreachable server, a refused login, a missing database, a newer schema) is a
   * ConfigError whose message is one line naming the server without its password.
   */
  static async open(o: PgDbOptions): Promise<PgDb> {
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      throw new ConfigError('DATABASE_URL is not a URL (postgres://user@host:5432/database)');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, not ${url.protocol}//`);
    const db = new PgDb(o);
    try {
      await migrate(db.pool);
    } catch (e) {
      await db.close();
      throw new ConfigError(`PostgreSQL at ${redactedUrl(o.url)}: ${reason(e)}`);
    }
    return db;
  }

  /** Statements of one part, prepared under "scope.name" (names are per connection, so they must be unique). */
  prepare<const T extends Record<string, string>>(scope: string, texts: T): { [K in keyof T]: Statement } {
    const out = {} as { [K in keyof T]: Statement };
    for (const [key, text] of Object.entries(texts)) {
      const name = `${scope}.${key}`;
      if (this.names.has(name)) throw new Error(`statement ${name} prepared twice`);
      this.names.add(name);
      out[key as keyof T] = (<R extends pg.QueryResultRow>(...values: unknown[]) => this.pool.query<R>({ name, text, values: values.map(pgValue) })) as Statement;
    }
    return out;
  }

  /** Runs `fn` in a transaction on one connection: committed when it resolves, rolled back when it throws. */
  async transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** For /healthz: a round trip within `timeoutMs`. */
  async health(timeoutMs: number): Promise<{ ok: boolean; postgres: string }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.pool.query('SELECT 1'), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
      return { ok: true, postgres: 'ok' };
    } catch {
      return { ok: false, postgres: 'unreachable' };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/**
 * A parameter as PostgreSQL can take it: text cannot hold NUL, so a NUL in a string (which
 * no real user id, address or user agent has) reads as U+FFFD, the same way on every write
 * and lookup, instead of failing the statement (and with it a batch of other logins' rows).
 */
export function pgValue(v: unknown): unknown {
  if (typeof v === 'string') return v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v;
  if (Array.isArray(v)) return v.map(pgValue);
  return v;
}

/** JSON for a jsonb column, which refuses the \u0000 escape: NUL in a string reads as U+FFFD there too. */
export function jsonb(v: unknown): string {
  const s = JSON.stringify(v);
  return s.includes('\\u0000') ? JSON.stringify(v, (_, x: unknown) => pgValue(x)) : s;
}

/** The SQLSTATE of a PostgreSQL error (pg's DatabaseError), else undefined. */
export function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
