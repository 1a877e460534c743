/**
 * Same-session A/B of two whole riskgate servers (two checkouts, each built with `npm run build`):
 * both start on copies of one warmed SQLite data directory, then wrk runs against each in turn,
 * alternating which goes first, and each run's server CPU per request (/proc/PID/stat) is printed.
 *
 *   node build/bench/bench/ab-servers.js --a /path/to/old/checkout --b /path/to/new/checkout \
 *     [--users 5000] [--rounds 6] [--duration 8] [--level warn|info]
 *
 * `--level info` logs as the default `riskgate serve` does (an audit line per decision), to a file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { warmState, workload } from './workload.js';
import { cpuMicros, runWrk } from './wrk.js';

const { values: flags } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    users: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '8' },
    level: { type: 'string', default: 'warn' },
    connections: { type: 'string', default: '50' },
  },
});
if (!flags.a || !flags.b) throw new Error('--a and --b: the two checkouts');
const here = import.meta.dirname;
const root = join(here, '..', '..', '..');
const KEY = 'bench-key';

/** Starts `checkout`'s built server on `dir`, logging at `level` to `logFile`. */
function startServer(checkout: string, dir: string, level: string, logFile: string): Promise<{ url: string; proc: ChildProcess }> {
  const code = `
    const { loadConfig } = await import(${JSON.stringify(join(checkout, 'dist', 'config.js'))});
    const { createLogger } = await import(${JSON.stringify(join(checkout, 'dist', 'log.js'))});
    const { startServer } = await import(${JSON.stringify(join(checkout, 'dist', 'server.js'))});
    const dir = ${JSON.stringify(dir)};
    const env = { ...process.env, RISKGATE_API_KEYS: ${JSON.stringify(KEY)}, RISKGATE_SECRET: 'be'.repeat(32) };
    delete env.REDIS_URL; delete env.DATABASE_URL;
    const config = loadConfig({ config: dir + '/riskgate.yaml', data: dir, rules: 'rules', port: '0' });
    const server = await startServer({ config, env, logger: createLogger(${JSON.stringify(level)}), announce: () => {} });
    process.stderr.write('ready ' + server.url + '\\n');
    process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  `;
  const out = openSync(logFile, 'w');
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: checkout, stdio: ['ignore', out, 'pipe'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ready (\S+)/.exec(buf);
      if (m) resolve({ url: m[1]!, proc });
    });
    proc.on('exit', (c) => reject(new Error(`server of ${checkout} exited with ${c}: ${buf}`)));
  });
}

async function wrk(url: string, bodiesFile: string, seconds: number, pid: number): Promise<{ rps: number; cpu: number; p99: number; non2xx: number }> {
  const before = cpuMicros(pid);
  const r = await runWrk(url, bodiesFile, { seconds, connections: Number(flags.connections), key: KEY });
  return { rps: r.requests / r.seconds, cpu: (cpuMicros(pid) - before) / Math.max(1, r.requests), p99: r.p99, non2xx: r.non2xx };
}

const work = workload(Number(flags.users), 50_000);
console.error(`ab: teaching ${flags.users} users...`);
const state = await warmState('sqlite', work.history, '');
const tmp = mkdtempSync(join(tmpdir(), 'http-ab-'));
const bodies = join(tmp, 'bodies.jsonl');
writeFileSync(bodies, work.requests.map((b) => JSON.stringify(b)).join('\n') + '\n');
const sides = [
  { name: 'A', checkout: flags.a },
  { name: 'B', checkout: flags.b },
];
const servers: { name: string; checkout: string; url: string; proc: ChildProcess; cpus: number[] }[] = [];
for (const s of sides) {
  const dir = join(tmp, s.name);
  cpSync(state.dir, dir, { recursive: true });
  servers.push({ ...s, ...(await startServer(s.checkout, dir, flags.level, join(tmp, `${s.name}.log`))), cpus: [] as number[] });
}
rmSync(state.dir, { recursive: true, force: true });
for (const s of servers) await wrk(s.url, bodies, 10, s.proc.pid!); // JIT and geolocation warm-up
const rounds = Number(flags.rounds);
for (let i = 0; i < rounds; i++) {
  const order = i % 2 ? [servers[1]!, servers[0]!] : [servers[0]!, servers[1]!];
  for (const s of order) {
    const r = await wrk(s.url, bodies, Number(flags.duration), s.proc.pid!);
    s.cpus.push(r.cpu);
    console.log(`round ${i + 1} ${s.name}: ${r.cpu.toFixed(1)} µs/req, ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(1)} ms, non2xx ${r.non2xx}`);
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
for (const s of servers) console.log(`${s.name} (${s.checkout}): median ${median(s.cpus).toFixed(1)} µs/req, mean ${mean(s.cpus).toFixed(1)}`);
const ratios = servers[0]!.cpus.map((a, i) => servers[1]!.cpus[i]! / a);
console.log(`B/A per round: ${ratios.map((r) => r.toFixed(3)).join(' ')}; median ${median(ratios).toFixed(3)}`);
for (const s of servers) {
  s.proc.kill('SIGTERM');
  await new Promise((r) => s.proc.once('exit', r));
}
rmSync(tmp, { recursive: true, force: true });
