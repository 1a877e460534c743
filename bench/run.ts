/**
 * npm run bench: one run on this machine, every figure measured against a baseline taken in
 * the same run. Prints a table and writes bench/RESULTS.md.
 *
 *   HTTP    bare Fastify (one POST JSON route) vs riskgate POST /v1/decisions, same load
 *   engine  decisions/s in-process, without HTTP, on the same requests
 *
 * Flags: --duration S (default 10), --connections N (default 50), --users N (default 20000)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Engine } from '../src/engine/engine.js';
import { loadRuleSet } from '../src/rules/compile.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { LoginAttempt } from '../src/types.js';
import { requestMix } from './mix.js';

const { values: flags } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' }, users: { type: 'string', default: '20000' } },
});
const DURATION = Number(flags.duration);
const CONNECTIONS = Number(flags.connections);
const USERS = Number(flags.users);
const here = import.meta.dirname;
const KEY = 'bench-key';

interface Child {
  url: string;
  proc: ChildProcess;
}

function startChild(script: string, args: string[] = []): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/rgprof'] : []), join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ready (\S+)/.exec(buf);
      if (m) resolve({ url: m[1]!, proc });
    });
    proc.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
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
  errors: number;
  non2xx: number;
}

async function load(url: string, bodies: LoginAttempt[]): Promise<LoadResult> {
  const r = await autocannon({
    url: `${url}/v1/decisions`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: bodies.map((b) => ({ method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(b) })),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

/** Teaches the server its users: a few logins each from home and phone, before measuring. */
async function warm(url: string, events: LoginAttempt[]): Promise<void> {
  const queue = [...events];
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let e = queue.shift(); e; e = queue.shift()) {
        const res = await fetch(`${url}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(e) });
        await res.arrayBuffer();
      }
    }),
  );
}

async function engineAlone(warmup: LoginAttempt[], events: LoginAttempt[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-bench-engine-'));
  const rules = await loadRuleSet('rules');
  const store = new SqliteStore({ path: join(dir, 'riskgate.db') });
  let now = Date.now();
  const engine = new Engine({ store, rules: () => rules, clock: () => now });
  for (const e of warmup) {
    now += 50;
    await engine.decide(e);
  }
  const t = process.hrtime.bigint();
  for (const e of events) {
    now += 50;
    await engine.decide(e);
  }
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  await store.close();
  return events.length / seconds;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main() {
  const warmup = requestMix(USERS, USERS * 3, 7);
  const measured = requestMix(USERS, 50_000, 11);
  const rows: string[][] = [];
  console.error(`bench: ${CONNECTIONS} connections, ${DURATION}s per HTTP run, ${fmt(USERS)} users`);

  const bare = await startChild('bare-fastify.js');
  await load(bare.url, measured.slice(0, 1000)); // JIT warm-up
  const base = await load(bare.url, measured);
  const bareRss = peakRssMb(bare.proc.pid!);
  bare.proc.kill();

  const rg = await startChild('riskgate-server.js', ['rules']);
  await warm(rg.url, warmup);
  const ours = await load(rg.url, measured);
  const rgRss = peakRssMb(rg.proc.pid!);
  rg.proc.kill("SIGTERM");
  await new Promise((r) => rg.proc.once("exit", r));

  const engineRate = await engineAlone(warmup, measured);

  rows.push(['HTTP: bare Fastify, one POST JSON route', `${fmt(base.rps)} req/s`, `p50 ${base.p50} ms, p99 ${base.p99} ms`, 'baseline', `${fmt(bareRss)} MB`]);
  rows.push([
    'HTTP: riskgate POST /v1/decisions (SQLite)',
    `${fmt(ours.rps)} req/s`,
    `p50 ${ours.p50} ms, p99 ${ours.p99} ms`,
    `${fmt((ours.rps / base.rps) * 100, 1)}% of bare Fastify`,
    `${fmt(rgRss)} MB`,
  ]);
  rows.push(['engine alone, in-process (SQLite file)', `${fmt(engineRate)} decisions/s`, `${fmt(1e6 / engineRate, 1)} µs/decision`, `${fmt(engineRate / base.rps, 2)}× bare Fastify req/s`, '']);
  if (ours.errors || ours.non2xx) console.error(`warning: riskgate run had ${ours.errors} errors and ${ours.non2xx} non-2xx answers`);

  const header = ['measure', 'throughput', 'latency', 'ratio', 'peak RSS'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  console.log(table);
  const cpu = cpus();
  const machine = `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
  writeFileSync(
    join(here, '..', '..', '..', 'bench', 'RESULTS.md'),
    `# Benchmark results\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, ${machine}.\nLoad: autocannon, ${CONNECTIONS} connections, ${DURATION} s per server, the same ${fmt(measured.length)} requests over ${fmt(USERS)} warmed-up users (bench/mix.ts).\n\n${table}\n`,
  );
}

await main();
