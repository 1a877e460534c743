import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { openStore, type StoreSettings } from '../src/store/open.js';
import type { PgBackend } from '../src/store/postgres/backend.js';
import { SCHEMA_VERSION } from '../src/store/postgres/schema.js';
import { PgRecord, type StreamTrail } from '../src/store/postgres/record.js';
import type { AuditEntry, DecisionRecord } from '../src/store/ports.js';
import type { RedisBackend } from '../src/store/redis/backend.js';
import { DAY, HOUR, REPO, RULES_DIR, RUN_TS, observation } from './helpers.js';
import { pgBackend, pgSkip, testSchema } from './postgres-helpers.js';
import { REDIS_URL, redisBackend, redisSkip, skippedTitle, testPrefix } from './redis-helpers.js';
import { deleteKeysUnder } from './redis-keys.js';

/** What only the PostgreSQL store has: its schema's versions, its connection errors, its day partitions. (Its ports run the contract suite.) */
const settings = (databaseUrl: string): StoreSettings => ({ dataDir: '/nonexistent', databaseUrl, timeoutMs: 1000, redis: { keyPrefix: 'rg:', recordDays: 90 }, postgres: { poolSize: 2 } });

const entry = (time: number, over: Partial<AuditEntry> = {}): AuditEntry => ({ time, kind: 'failure', ref: null, userId: 'alice', ip: '5.9.0.1', action: 'allow', score: 0, rules: [], rulesVersion: 'v1', detail: null, ...over });

describe.skipIf(pgSkip !== null)(skippedTitle('the PostgreSQL store', pgSkip), () => {
  let schema: { url: string; drop(): Promise<void> };
  const opened: PgBackend[] = [];
  beforeEach(async () => {
    schema = await testSchema();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await schema.drop();
  });
  const open = async () => {
    const s = await pgBackend(schema.url);
    opened.push(s);
    return s;
  };
  const sql = async <R,>(text: string, values: unknown[] = []) => ((await (opened[0] ?? (await open())).db.pool.query(text, values)).rows as R[]);

  it('migrates a fresh database once when two instances start together (advisory lock), and both then share it', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    expect(await sql<{ version: number }>('SELECT version FROM riskgate_migrations ORDER BY version')).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    await a.audit.append(entry(Date.parse('2026-03-02T08:00:00Z')));
    expect(await b.audit.query({})).toHaveLength(1);
  });

  it('refuses a database whose schema is newer than this riskgate, in one line', async () => {
    await open();
    await sql('INSERT INTO riskgate_migrations (version) VALUES ($1)', [SCHEMA_VERSION + 1]);
    const refused = openStore(settings(schema.url));
    await expect(refused).rejects.toThrow(ConfigError);
    await expect(refused).rejects.toThrow(new RegExp(`^PostgreSQL at postgres://.*: the database schema is version ${SCHEMA_VERSION + 1}, newer than this riskgate's \\(${SCHEMA_VERSION}\\); upgrade riskgate$`));
  });

  it('names what is wrong with bad connection settings in one line, never the password', async () => {
    const cases: [string, RegExp][] = [
      ['postgres://postgres:hunter2@127.0.0.1:1/riskgate', /^PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/riskgate: connect ECONNREFUSED 127\.0\.0\.1:1$/],
      [new URL('/riskgate_no_such_database', schema.url).toString(), /: database "riskgate_no_such_database" does not exist$/],
      ['mysql://root@127.0.0.1/riskgate', /^DATABASE_URL must start with postgres:\/\/ or postgresql:\/\/, not mysql:\/\/$/],
      ['localhost:5432', /^DATABASE_URL must start with postgres:\/\/ or postgresql:\/\/, not localhost:\/\/$/],
      ['not a url', /^DATABASE_URL is not a URL/],
    ];
    for (const [url, message] of cases) {
      const e = await openStore(settings(url)).then(() => null, (err: unknown) => err as Error);
      expect(e).toBeInstanceOf(ConfigError);
      expect(e!.message).toMatch(message);
      expect(e!.message).not.toContain('hunter2');
      expect(e!.message).not.toContain('\n');
    }
  });

  it('`riskgate serve` with a DATABASE_URL that cannot work prints one line and exits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-pg-'));
    const child = spawn(process.execPath, [...RUN_TS, join(REPO, 'src/cli.ts'), 'serve', '--port', '0', '--data', dir, '--rules', RULES_DIR], {
      env: { PATH: process.env.PATH, DATABASE_URL: 'postgres://riskgate:s3cret@127.0.0.1:1/riskgate', RISKGATE_API_KEYS: 'k', RISKGATE_SECRET: 'ab'.repeat(32) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
    expect(code).toBe(2);
    expect(stderr).toBe('riskgate serve: PostgreSQL at postgres://riskgate:***@127.0.0.1:1/riskgate: connect ECONNREFUSED 127.0.0.1:1\n');
  });

  it('keeps the audit trail and learned marks by day: retention drops whole partitions, and the coming days are made ahead', async () => {
    const s = await open();
    const midnight = Date.parse('2026-03-05T00:00:00Z');
    for (const d of [-3, -2, -1, 0]) await s.audit.append(entry(midnight + d * DAY + 3_600_000, { ref: `e${d}` }));
    await s.decisions.save({ id: 'dec-old', time: midnight - 2 * DAY, userId: 'alice', ip: '5.9.0.1', requestAction: 'login', action: 'allow', score: 0, reasons: [], shadow: [], rulesVersion: 'v1', observation: observation({ time: midnight - 2 * DAY }) });
    expect(await s.profiles.learn('alice', 'dec-old', observation({ time: midnight - 2 * DAY }))).toBe(true);
    const partitions = async (table: string) =>
      (await sql<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '${table}'::regclass ORDER BY 1`)).map((r) => r.name);
    expect(await partitions('audit')).toEqual(['audit_p20260302', 'audit_p20260303', 'audit_p20260304', 'audit_p20260305']);

    // Cut in the middle of the day before: that day stays whole; the two before go, with their 3 rows and a learned mark.
    expect(await s.prune(midnight - DAY / 2)).toBe(4);
    expect((await partitions('audit')).filter((p) => p < 'audit_p20260306')).toEqual(['audit_p20260304', 'audit_p20260305']);
    expect((await partitions('learned')).filter((p) => p < 'learned_p20260306')).toEqual([]);
    expect((await s.audit.query({})).map((e) => e.ref)).toEqual(['e0', 'e-1']);
    expect(await s.profiles.unlearn('dec-old')).toBe(false);

    // prune() also makes today's partitions and the week after (on the wall clock).
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
    const ahead = Array.from({ length: 8 }, (_, i) => `audit_p${day(Date.now() + i * DAY)}`);
    expect(await partitions('audit')).toEqual(expect.arrayContaining(ahead));
  });

  it('drops the whole days older than `audit.retentionDays` when `riskgate serve` starts', async () => {
    const s = await open();
    const midnight = Date.parse('2026-03-10T00:00:00Z');
    for (const d of [-5, -4, -3, -2, -1]) await s.audit.append(entry(midnight + d * DAY + HOUR, { ref: `e${d}` }));
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-retention-'));
    try {
      await writeFile(join(dir, 'riskgate.yaml'), 'audit:\n  retentionDays: 3\n');
      const config = loadConfig({ config: join(dir, 'riskgate.yaml'), data: dir, rules: RULES_DIR, port: '0' });
      const env = { DATABASE_URL: schema.url, RISKGATE_API_KEYS: 'retention-key:admin', RISKGATE_SECRET: 'ab'.repeat(32) };
      // Three days before 01:00 on the 10th is 01:00 on the 7th: the 5th and the 6th are wholly older and go; the 7th stays whole.
      const server = await startServer({ config, env, logger: createLogger('silent'), announce: () => undefined, clock: () => midnight + HOUR });
      try {
        const res = await fetch(`${server.url}/v1/audit?kind=failure`, { headers: { authorization: 'Bearer retention-key' } });
        expect(((await res.json()) as { entries: AuditEntry[] }).entries.map((e) => e.ref)).toEqual(['e-1', 'e-2', 'e-3']);
      } finally {
        await server.close();
      }
      const days = (await sql<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit'::regclass ORDER BY 1`)).map((r) => r.name);
      expect(days.filter((d) => d < 'audit_p20260310')).toEqual(['audit_p20260307', 'audit_p20260308', 'audit_p20260309']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes a NUL in a user id as U+FFFD everywhere, instead of failing the batch it is in', async () => {
    const s = await open();
    const t = Date.parse('2026-03-02T08:00:00Z');
    await Promise.all([s.audit.append(entry(t, { userId: 'eve\u0000', detail: { note: 'a\u0000b' } })), s.audit.append(entry(t + 1, { userId: 'bob' }))]);
    expect(await s.audit.query({ userId: 'eve\u0000' })).toEqual([entry(t, { userId: 'eve\uFFFD', detail: { note: 'a\uFFFDb' } })]);
    expect(await s.failures.add({ userId: 'eve\u0000', ip: '5.9.0.1', deviceId: 'd\u0000' }, t)).toMatchObject({ user_30m: 1, device_1h: 1 });
    expect(await s.profiles.learn('eve\u0000', 'dec-nul', observation())).toBe(true);
    expect((await s.profiles.get('eve\u0000'))?.logins).toBe(1);
  });
});

describe.skipIf((redisSkip ?? pgSkip) !== null)(skippedTitle('PostgreSQL beside Redis', redisSkip ?? pgSkip), () => {
  let schema: { url: string; drop(): Promise<void> };
  let prefix: string;
  const handles: RedisBackend[] = [];
  beforeEach(async () => {
    schema = await testSchema();
    prefix = testPrefix();
  });
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.close();
    await deleteKeysUnder(REDIS_URL, prefix);
    await schema.drop();
  });
  /** Another instance: its Redis connection, its pool, its consumer in the group; it drains when told. */
  const instance = async (o: { url?: string; connect?: boolean } = {}) => {
    const record = await PgRecord.open({ url: schema.url, poolSize: 2 });
    const s = await redisBackend(prefix, { ...o, local: (r) => record.beside(r, { drainEveryMs: null }) });
    handles.push(s);
    return { s, trail: s.local as StreamTrail };
  };
  const rows = async (where = 'true') => {
    const c = new pg.Client(schema.url);
    await c.connect();
    try {
      return (await c.query<{ entry: string | null; ref: string | null }>(`SELECT entry, ref FROM audit WHERE ${where} ORDER BY seq`)).rows;
    } finally {
      await c.end();
    }
  };
  const T = Date.parse('2026-03-02T08:00:00Z');
  const decision: DecisionRecord = { id: 'dec-1', time: T, userId: 'alice', ip: '5.9.0.1', requestAction: 'login', action: 'allow', score: 0, reasons: [], shadow: [], rulesVersion: 'v1', observation: observation({ time: T }) };

  it('acknowledges a decision with its record and its stream entry in one MULTI; PostgreSQL has it once drained, and feedback finds it there once Redis forgot it', async () => {
    const { s: a, trail } = await instance();
    const { s: b } = await instance();
    await a.decisions.save(decision);
    expect(await a.client.exists(`${prefix}d:dec-1`)).toBe(1);
    expect(await a.client.xlen(`${prefix}audit`)).toBe(1);
    expect(await rows()).toEqual([]);
    // Read before it is drained: from the stream.
    expect((await b.audit.query({ ref: 'dec-1' })).map((e) => e.kind)).toEqual(['decision']);
    expect(await trail.health(1000)).toEqual({ ok: true, postgres: 'ok', auditBacklog: 1 });

    expect(await trail.drain()).toBe(1);
    expect(await a.client.xlen(`${prefix}audit`)).toBe(0);
    expect(await rows()).toEqual([{ entry: expect.stringMatching(/^\d+-\d+$/), ref: 'dec-1' }]);
    expect((await b.audit.query({ ref: 'dec-1' })).map((e) => e.kind)).toEqual(['decision']);
    await a.client.del(`${prefix}d:dec-1`);
    expect(await b.decisions.get('dec-1')).toEqual(decision);
  });

  it('writes the entries an instance read but never acknowledged (it died) once, from another instance that claims them', async () => {
    const { s: a, trail } = await instance();
    for (let i = 0; i < 3; i++) await a.audit.append(entry(T + i, { ref: `e${i}` }));
    // The dead instance: it read the three, wrote them to PostgreSQL, and died before acknowledging.
    const key = `${prefix}audit`;
    await a.client.xgroup('CREATE', key, 'riskgate', '0');
    const read = (await a.client.xreadgroup('GROUP', 'riskgate', 'dead', 'COUNT', 10, 'STREAMS', key, '>')) as [string, [string, string[]][]][];
    const claimedByDead = read[0]![1];
    expect(claimedByDead).toHaveLength(3);
    const record = await PgRecord.open({ url: schema.url, poolSize: 1 });
    await record.table.insert(claimedByDead.map(([id, fields]) => ({ entry: id, e: JSON.parse(fields[1]!) as AuditEntry })));
    await record.close();

    // Pending for less than the claim delay: a live instance may be writing them.
    expect(await trail.drain()).toBe(0);
    expect(await trail.drain(0)).toBe(3);
    expect((await rows()).map((r) => r.ref)).toEqual(['e0', 'e1', 'e2']);
    expect(await a.client.xlen(key)).toBe(0);
    expect(await a.client.xpending(key, 'riskgate')).toEqual([0, null, null, null]);
  });

  it('writes an entry to PostgreSQL directly while Redis is down, so what the fail mode decides is audited', async () => {
    const { s } = await instance({ url: 'redis://127.0.0.1:1', connect: false });
    await s.audit.append(entry(T, { ref: 'while-down' }));
    await s.decisions.save(decision);
    expect((await rows()).map((r) => [r.entry, r.ref])).toEqual([
      [null, 'while-down'],
      [null, 'dec-1'],
    ]);
    expect(await s.decisions.get('dec-1').catch(() => 'Redis is down')).toBe('Redis is down');
  });
});
