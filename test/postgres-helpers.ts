import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { PgBackend } from '../src/store/postgres/backend.js';

/**
 * PostgreSQL for the tests: the one on this machine (RISKGATE_TEST_POSTGRES_URL, else
 * postgres@127.0.0.1:5432, trust auth), reached as a user that may create databases. Each test
 * file that uses it gets a database of its own, riskgate_test_<random>, dropped when the file's
 * tests end; each test a schema of its own in it (testSchema), dropped after the test. Without
 * PostgreSQL these tests are skipped with a message; with RISKGATE_REQUIRE_POSTGRES=1 (set by
 * .ci/run) a missing PostgreSQL fails the run instead.
 */
export const PG_ADMIN_URL = process.env.RISKGATE_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const REQUIRED = process.env.RISKGATE_REQUIRE_POSTGRES === '1';

async function probe(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (e) {
    const err = e as Error & { errors?: Error[] };
    return err.message || err.errors?.map((x) => x.message).join('; ') || String(e);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const down = await probe(PG_ADMIN_URL);
/** Why the PostgreSQL tests are skipped; null when they run. */
export const pgSkip: string | null = (() => {
  if (down === null) return null;
  const message = `no PostgreSQL at ${PG_ADMIN_URL} (${down})`;
  if (REQUIRED) throw new Error(`RISKGATE_REQUIRE_POSTGRES=1 but ${message}`);
  process.stderr.write(`\n[riskgate] PostgreSQL tests SKIPPED: ${message}. Start PostgreSQL (or point RISKGATE_TEST_POSTGRES_URL at one) to run them; CI sets RISKGATE_REQUIRE_POSTGRES=1 and fails instead.\n`);
  return message;
})();

const suffix = () => randomBytes(6).toString('hex');

/** `base` with another database and, when given, a search_path of one schema. */
function urlOf(database: string, schema?: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${database}`;
  if (schema) u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

let database: Promise<string> | null = null;

/** This test file's database (made on first use), as a URL. */
export function testDatabase(): Promise<string> {
  database ??= (async () => {
    const name = `riskgate_test_${suffix()}`;
    await admin(`CREATE DATABASE ${name}`);
    return name;
  })();
  return database.then((name) => urlOf(name));
}

if (pgSkip === null) {
  afterAll(async () => {
    if (!database) return;
    const name = await database;
    database = null;
    // FORCE: a server a test killed may have left connections behind.
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
}

async function admin(sql: string, url = PG_ADMIN_URL): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A schema of its own in this file's database: `url` selects it (search_path); `drop()` removes it and everything in it. */
export async function testSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const db = await testDatabase();
  const name = `t_${suffix()}`;
  await admin(`CREATE SCHEMA ${name}`, db);
  const url = urlOf(new URL(db).pathname.slice(1), name);
  return { url, drop: () => admin(`DROP SCHEMA ${name} CASCADE`, db) };
}

/** A PostgreSQL backend on `url`, opened (connected and migrated) as `riskgate serve` opens it. */
export function pgBackend(url: string): Promise<PgBackend> {
  return PgBackend.open({ url, poolSize: 4 });
}
