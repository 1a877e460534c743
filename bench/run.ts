/**
 * npm run bench: one run on this machine, every figure measured against a baseline taken in
 * the same run. Prints a table and writes bench/RESULTS.md (bench/README.md explains it).
 *
 *   HTTP    bare Fastify (one POST JSON route) vs riskgate POST /v1/decisions, same load
 *   engine  decisions/s in-process, without HTTP, on the same requests (SQLite; Redis too with
 *           --redis, PostgreSQL with --postgres)
 *   replay  events/s and peak memory of `riskgate replay` on a generated stream of ~1M events
 *
 * Flags: --duration S (10), --connections N (50), --users N (5000), --redis (riskgate on the
 * Redis store too: REDIS_URL, default 127.0.0.1:6379), --postgres (on the PostgreSQL store
 * too: a database riskgate_bench_<pid> made and dropped on the server of
 * RISKGATE_BENCH_POSTGRES_URL, default postgres@127.0.0.1:5432), --replay-users N (18000: ~1M
 * events; 0 skips the replay run), --skip-fsync (no store.fsync run: a memory run with many users),
 * --load wrk|autocannon (the HTTP load generator: wrk when it is installed, else autocannon).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { Engine } from '../src/engine/engine.js';
import { loadRuleSet } from '../src/rules/compile.js';
import { openStore } from '../src/store/open.js';
import type { Backend } from '../src/store/ports.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import type { LoginAttempt } from '../src/types.js';
import { deleteKeysUnder } from '../test/redis-keys.js';
import { decideAll, warmState, workload, type StoreKind } from './workload.js';
import { cpuMicros, runWrk } from './wrk.js';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    users: { type: 'string', default: '5000' },
    redis: { type: 'boolean', default: false },
    postgres: { type: 'boolean', default: false },
    'replay-users': { type: 'string', default: '18000' },
    'skip-fsync': { type: 'boolean', default: false },
    load: { type: 'string' },
  },
});
/** wrk (C, a fraction of a core for this load) when installed: the load generator shares the 2 cores with the server. */
const LOADER = flags.load ?? (spawnSync('wrk', ['--version']).error ? 'autocannon' : 'wrk');
if (LOADER !== 'wrk' && LOADER !== 'autocannon') throw new Error(`--load: wrk or autocannon, not ${LOADER}`);
const DURATION = Number(flags.duration);
const CONNECTIONS = Number(flags.connections);
const USERS = Number(flags.users);
const REPLAY_USERS = Number(flags['replay-users']);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const PG_ADMIN_URL = process.env.RISKGATE_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const NAMES: Record<StoreKind, string> = { sqlite: 'SQLite', redis: 'Redis', postgres: 'PostgreSQL' };

/** A fresh database for one PostgreSQL run, as a URL; `drop()` removes it. */
async function benchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `riskgate_bench_${process.pid}`;
  const admin = async (sql: string) => {
    const c = new pg.Client(PG_ADMIN_URL);
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
const here = import.meta.dirname;
const root = join(here, '..', '..', '..');
const KEY = 'bench-key';

interface Child {
  url: string;
  proc: ChildProcess;
}

function startChild(script: string, args: string[] = []): Promise<Child> {
  return new Promise((resolve, reject) => {
    const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/rgprof'] : [];
    const proc = spawn(process.execPath, [...prof, join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ready (\S+)/.exec(buf);
      if (m) resolve({ url: m[1]!, proc });
    });
    proc.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function stop(c: Child): Promise<void> {
  c.proc.kill('SIGTERM');
  await new Promise((r) => c.proc.once('exit', r));
}

/** Peak resident set of a process so far (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Requests not answered: autocannon counts those still in flight when the run ends as errors. */
  errors: number;
  non2xx: number;
  rss: number;
  /** The server's CPU time per answered request, in µs. */
  cpuPerRequest: number;
}

async function load(c: Child, bodies: LoginAttempt[], duration = DURATION): Promise<LoadResult> {
  return LOADER === 'wrk' ? loadWrk(c, bodies, duration) : loadAutocannon(c, bodies, duration);
}

async function loadAutocannon(c: Child, bodies: LoginAttempt[], duration: number): Promise<LoadResult> {
  const cpuBefore = cpuMicros(c.proc.pid!);
  const r = await autocannon({
    url: `${c.url}/v1/decisions`,
    connections: CONNECTIONS,
    duration,
    requests: bodies.map((b) => ({ method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(b) })),
  });
  const cpuPerRequest = (cpuMicros(c.proc.pid!) - cpuBefore) / Math.max(1, r.requests.total);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx, rss: peakRssMb(c.proc.pid!), cpuPerRequest };
}

/** The same load from wrk (two threads), each thread sending the bodies in turn from its own offset (bench/wrk-bodies.lua). */
async function loadWrk(c: Child, bodies: LoginAttempt[], duration: number): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-bench-wrk-'));
  const file = join(dir, 'bodies.jsonl');
  writeFileSync(file, bodies.map((b) => JSON.stringify(b)).join('\n') + '\n');
  const cpuBefore = cpuMicros(c.proc.pid!);
  const r = await runWrk(c.url, file, { seconds: duration, connections: CONNECTIONS, key: KEY });
  rmSync(dir, { recursive: true, force: true });
  const cpuPerRequest = (cpuMicros(c.proc.pid!) - cpuBefore) / Math.max(1, r.requests);
  const ms = (x: number) => Math.round(x * 10) / 10;
  return { rps: r.requests / r.seconds, p50: ms(r.p50), p99: ms(r.p99), errors: r.errors, non2xx: r.non2xx, rss: peakRssMb(c.proc.pid!), cpuPerRequest };
}

/** Decisions/s in-process on the same requests, as many at once as the HTTP load has connections. */
async function engineAlone(store: Backend, requests: LoginAttempt[]): Promise<number> {
  const rules = await loadRuleSet('rules');
  const engine = new Engine({ store, rules: () => rules, clock: Date.now });
  const started = process.hrtime.bigint();
  await decideAll(engine, requests, CONNECTIONS);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await store.close();
  return requests.length / seconds;
}

/** `riskgate replay` as an analyst runs it, on a generated stream written to a temporary file. */
function replayRun(users: number): { events: number; rate: number; cpuRate: number; wallRate: number; rss: number } {
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-bench-replay-'));
  const file = join(dir, 'stream.jsonl');
  const cli = join(root, 'dist', 'cli.js');
  const gen = spawnSync(process.execPath, [cli, 'generate', '--seed', 'bench', '--users', String(users), '--days', '42', '--out', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (gen.status !== 0) throw new Error('riskgate generate failed');
  const started = performance.now();
  const run = spawnSync(process.execPath, [cli, 'replay', file, '--warmup', '14d', '--out', join(dir, 'decisions.jsonl'), '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = (performance.now() - started) / 1000;
  rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`riskgate replay failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as { run: { events: number; eventsPerSecond: number; cpuSeconds: number; peakRssMb: number } };
  // By its own clock, per second of its CPU (the figure a busy machine does not distort), and by the wall clock with start-up.
  return { events: out.run.events, rate: out.run.eventsPerSecond, cpuRate: out.run.events / out.run.cpuSeconds, wallRate: out.run.events / wall, rss: out.run.peakRssMb };
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main() {
  const work = workload(USERS, 50_000);
  console.error(`bench: ${LOADER}, ${CONNECTIONS} connections, ${DURATION} s per HTTP run; ${fmt(USERS)} generated users, ${fmt(work.history.length)} events of history, ${fmt(work.requests.length)} requests`);
  const rows: string[][] = [];
  // Each row is printed as soon as it is measured, so a run that fails later still tells what it measured.
  const push = (row: string[]) => {
    rows.push(row);
    console.error(`bench: ${row.filter(Boolean).join(' | ')}`);
  };

  const bare = await startChild('bare-fastify.js');
  await load(bare, work.requests.slice(0, 1000)); // JIT warm-up
  const base = await load(bare, work.requests);
  await stop(bare);
  push(['HTTP: bare Fastify, one POST JSON route', `${fmt(base.rps)} req/s`, `p50 ${base.p50} ms, p99 ${base.p99} ms`, 'baseline', `${fmt(base.cpuPerRequest)} µs`, `${fmt(base.rss)} MB`]);

  let engineDir = '';
  // SQLite twice: as installed, and with store.fsync (power loss: an fdatasync per turn of writes).
  const runs: { kind: StoreKind; fsync: boolean }[] = [
    { kind: 'sqlite', fsync: false },
    ...(flags['skip-fsync'] ? [] : [{ kind: 'sqlite' as const, fsync: true }]),
    ...(flags.redis ? [{ kind: 'redis' as const, fsync: false }] : []),
    ...(flags.postgres ? [{ kind: 'postgres' as const, fsync: false }] : []),
  ];
  for (const { kind, fsync } of runs) {
    console.error(`bench: teaching the ${kind} store two weeks of history...`);
    const db = kind === 'postgres' ? await benchDatabase() : null;
    const state = await warmState(kind, work.history, REDIS_URL, db?.url);
    if (fsync) writeFileSync(join(state.dir, 'riskgate.yaml'), 'store:\n  fsync: true\n');
    if (kind === 'sqlite' && !engineDir) {
      engineDir = mkdtempSync(join(tmpdir(), 'riskgate-bench-engine-'));
      cpSync(state.dir, engineDir, { recursive: true });
    }
    const server = await startChild('riskgate-server.js', [state.dir, kind, ...(db ? [db.url] : [])]);
    // Warm-up as for bare Fastify: JIT, and the geolocation table that loads on the first lookup (~1 s of CPU).
    // These logins are sent again in the measured run, as their users' next logins.
    await load(server, work.requests.slice(0, 1000), 2);
    const r = await load(server, work.requests);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    await stop(server);
    rmSync(state.dir, { recursive: true, force: true });
    await db?.drop();
    // Answers from the fail mode are 200s too: a run that needed it measured the wrong thing.
    const fallbacks = /^riskgate_store_fallbacks_total\{[^}]*\} (\d+)/m.exec(metrics);
    if (fallbacks) console.error(`warning: riskgate (${kind}) answered ${fallbacks[1]} requests in its store fail mode`);
    if (r.non2xx) console.error(`warning: riskgate (${kind}) gave ${r.non2xx} non-2xx answers`);
    push([
      `HTTP: riskgate POST /v1/decisions (${NAMES[kind]}${fsync ? ', store.fsync' : ''})`,
      `${fmt(r.rps)} req/s`,
      `p50 ${r.p50} ms, p99 ${r.p99} ms`,
      `${fmt((r.rps / base.rps) * 100, 1)}% of bare Fastify`,
      `${fmt(r.cpuPerRequest)} µs (${fmt((base.cpuPerRequest / r.cpuPerRequest) * 100, 1)}% of bare Fastify's rate)`,
      `${fmt(r.rss)} MB`,
    ]);
  }

  const engineRow = (kind: string, rate: number) => [`engine alone, in-process (${kind})`, `${fmt(rate)} decisions/s`, `${fmt(1e6 / rate, 1)} µs/decision`, `${fmt((rate / base.rps) * 100, 1)}% of bare Fastify`, '', ''];
  push(engineRow('SQLite', await engineAlone(new SqliteBackend({ path: join(engineDir, 'riskgate.db') }), work.requests)));
  rmSync(engineDir, { recursive: true, force: true });
  if (flags.redis) {
    // The server's Redis state went with it: teach a fresh one the same history.
    console.error('bench: teaching the redis store again for the engine alone...');
    const state = await warmState('redis', work.history, REDIS_URL);
    const opened = await openStore(state.settings);
    if (!(await opened.ready!(5000))) throw new Error(`no Redis at ${REDIS_URL}`);
    push(engineRow('Redis', await engineAlone(opened.store, work.requests)));
    await deleteKeysUnder(REDIS_URL, state.prefix);
    rmSync(state.dir, { recursive: true, force: true });
  }
  if (flags.postgres) {
    console.error('bench: teaching the postgres store again for the engine alone...');
    const db = await benchDatabase();
    const state = await warmState('postgres', work.history, REDIS_URL, db.url);
    push(engineRow('PostgreSQL', await engineAlone((await openStore(state.settings)).store, work.requests)));
    await db.drop();
    rmSync(state.dir, { recursive: true, force: true });
  }

  if (REPLAY_USERS > 0) {
    console.error(`bench: generating and replaying a stream of ${fmt(REPLAY_USERS)} users over 42 days...`);
    const r = replayRun(REPLAY_USERS);
    push([
      `replay --out: ${fmt(r.events)} generated events`,
      `${fmt(r.rate)} events/s by its own clock, ${fmt(r.wallRate)} with start-up, ${fmt(r.cpuRate)} per CPU second`,
      '',
      `${fmt(r.rate / 100_000 * 100, 1)}% of the 100,000 events/s target`,
      `${fmt(1e6 / r.cpuRate, 1)} µs CPU per event`,
      `${fmt(r.rss)} MB`,
    ]);
  }

  const header = ['measure', 'throughput', 'latency', 'ratio', 'server CPU per request', 'peak RSS'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  console.log(table);
  const cpu = cpus();
  const machine = `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
  writeFileSync(
    join(root, 'bench', 'RESULTS.md'),
    `# Benchmark results\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, ${machine}.\n` +
      `HTTP load: ${LOADER === 'wrk' ? 'wrk (2 threads)' : 'autocannon'}, ${CONNECTIONS} connections, ${DURATION} s per server, the same ${fmt(work.requests.length)} requests: the third week of a generated stream of ${fmt(USERS)} users ` +
      `(bench/workload.ts), after the store learned the first two weeks (${fmt(work.history.length)} events).\n` +
      `Server CPU per request: the server process's user + system time over the run, divided by the requests it answered; on a shared machine it is the steadier ratio ` +
      `(bare Fastify's µs ÷ riskgate's µs is the share of bare Fastify's rate riskgate would reach with a core to itself).\n\n${table}\n`,
  );
}

await main();
