/**
 * npm run bench:postgres-size [-- USERS]: what a login costs on the PostgreSQL store, in rows and
 * bytes, for docs/postgres.md's sizing. Teaches a fresh database (riskgate_size_<pid>, made and
 * dropped on the server of RISKGATE_BENCH_POSTGRES_URL, default postgres@127.0.0.1:5432) two
 * weeks of the fixture generator's stream for USERS users (default 600: logins, failed
 * passwords, challenges passed), through the engine as the server runs it, applies retention
 * once (which makes the coming week's empty day partitions), then VACUUMs and reads each
 * table's rows and size (pg_total_relation_size: heap, indexes and TOAST; a
 * partitioned table is the sum of its partitions).
 */
import pg from 'pg';
import { openStore } from '../src/store/open.js';
import { warmState, workload } from './workload.js';

const USERS = Number(process.argv[2] ?? 600);
const ADMIN_URL = process.env.RISKGATE_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const DAYS = 14;
const name = `riskgate_size_${process.pid}`;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client(ADMIN_URL);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

interface Table {
  name: string;
  rows: number;
  bytes: number;
  /** Partitioned by day: the days with rows, and what an empty day's partition takes (heap and indexes). */
  days?: number;
  emptyDay?: number;
}

/** Rows and bytes of every table in the database's schema; a partitioned table is the sum of its partitions. */
async function tables(url: string): Promise<Table[]> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query('VACUUM ANALYZE');
    const { rows: leaves } = await c.query<{ root: string; leaf: string; bytes: string; partition: boolean }>(`
      SELECT coalesce(pg_partition_root(c.oid)::regclass::text, c.relname) AS root, c.relname AS leaf,
             pg_total_relation_size(c.oid) AS bytes, c.relispartition AS partition
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      WHERE c.relkind = 'r'`);
    const out = new Map<string, Table & { empty: number[] }>();
    for (const l of leaves) {
      const rows = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM "${l.leaf}"`)).rows[0]!.n);
      const t = out.get(l.root) ?? { name: l.root, rows: 0, bytes: 0, empty: [] };
      t.rows += rows;
      t.bytes += Number(l.bytes);
      if (l.partition) {
        t.days = (t.days ?? 0) + (rows > 0 ? 1 : 0);
        if (rows === 0) t.empty.push(Number(l.bytes));
      }
      out.set(l.root, t);
    }
    return [...out.values()]
      .map(({ empty, ...t }) => (empty.length ? { ...t, emptyDay: Math.min(...empty) } : t))
      .sort((x, y) => y.bytes - x.bytes);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const { history } = workload(USERS, 0);
  const logins = history.filter((e) => e.outcome === 'success').length;
  const failures = history.length - logins;
  const events = history.length;
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  try {
    console.error(`postgres-size: teaching ${fmt(USERS)} users' ${fmt(events)} events...`);
    const { settings } = await warmState('postgres', history, '', url.toString());
    // Retention's round as the server runs it at start: it also makes the coming week's (empty) day partitions, which show a day's fixed cost.
    const { store } = await openStore(settings);
    await store.prune(0);
    await store.close();
    const rows = await tables(url.toString());
    const total = rows.reduce((s, r) => s + r.bytes, 0);
    console.log(`${fmt(USERS)} users, ${DAYS} days: ${fmt(logins)} logins and ${fmt(failures)} failed passwords (${fmt(events)} events)\n`);
    // A day partition's fixed cost (an empty heap and its indexes' first pages) is not a cost per event.
    const fixed = (r: Table) => (r.days ?? 0) * (r.emptyDay ?? 0);
    console.log('| table | rows | size | rows per event | bytes per event | fixed per day |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      const perDay = r.emptyDay === undefined ? '' : `${fmt(r.emptyDay / 1024)} KB`;
      console.log(`| ${r.name} | ${fmt(r.rows)} | ${fmt(r.bytes / 2 ** 20, 1)} MB | ${fmt(r.rows / events, 2)} | ${fmt((r.bytes - fixed(r)) / events)} | ${perDay} |`);
    }
    console.log(`| all | | ${fmt(total / 2 ** 20, 1)} MB | | ${fmt(rows.reduce((s, r) => s + r.bytes - fixed(r), 0) / events)} | |`);
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

await main();
