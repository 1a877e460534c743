/**
 * A credential-stuffing flood against the SQLite store's failure counters (issue 14, finding
 * 12): a million failures, each for a user id never seen before, from rotating addresses of a
 * few networks and a new device id each, over 30 hours of the injected clock (so the first
 * day's entries expire during the run). Prints the worst event-loop stall and the memory held.
 *
 *   npm run bench:failures -- [failures] [--memory]
 *
 * `--memory` drives the in-memory counters alone (what replay uses); by default they run in a
 * SQLite file store, with its group commit, as the server runs them. 50 failures are counted
 * per event-loop turn, as 50 concurrent requests would be.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { SqliteBackend } from '../src/store/sqlite/backend.js';

const args = process.argv.slice(2);
const total = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const ephemeral = args.includes('--memory');
const PER_TURN = 50;
const SPAN_MS = 30 * 3600_000;

const dir = await mkdtemp(join(tmpdir(), 'riskgate-flood-'));
const store = new SqliteBackend({ path: ephemeral ? ':memory:' : join(dir, 'riskgate.db'), ephemeral });
const t0 = Date.parse('2026-03-02T00:00:00Z');
const heapBefore = process.memoryUsage().heapUsed;

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
let worstCall = 0;
/** The CPU time of the call with the most: on a shared machine a call's wall time includes time the process was not scheduled. */
let worstCallCpu = 0;
const started = performance.now();
for (let i = 0; i < total; i += PER_TURN) {
  const wave: Promise<unknown>[] = [];
  for (let j = i; j < Math.min(total, i + PER_TURN); j++) {
    const now = t0 + Math.floor((j * SPAN_MS) / total);
    // 16 networks, 256 addresses each (IPv4 /24s), rotating; every user and device id new.
    const ip = `5.9.${j % 16}.${(j >> 4) % 256}`;
    const c0 = performance.now();
    const u0 = process.cpuUsage();
    wave.push(store.failures.add({ userId: `stuffed-${j}`, ip, deviceId: `dev-${j}` }, now));
    const u = process.cpuUsage(u0);
    worstCall = Math.max(worstCall, performance.now() - c0);
    worstCallCpu = Math.max(worstCallCpu, (u.user + u.system) / 1000);
  }
  await Promise.all(wave);
  // Let timers run between turns, as a server's would.
  await new Promise((r) => setImmediate(r));
}
const seconds = (performance.now() - started) / 1000;
loop.disable();
const heapAfter = process.memoryUsage().heapUsed;
const memory = (store.failures as unknown as { memory: { size: { subjects: number; places: number }; evicted: number } }).memory;

console.log(`failure flood: ${total.toLocaleString('en')} failures of new user ids over 30 h (injected clock), ${ephemeral ? 'in memory' : 'SQLite file store'}`);
console.log(`  ${Math.round(total / seconds).toLocaleString('en')} failures/s; ${seconds.toFixed(1)} s`);
console.log(`  worst event-loop stall: ${(loop.max / 1e6).toFixed(1)} ms (p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms); worst single call: ${worstCall.toFixed(1)} ms wall, ${worstCallCpu.toFixed(1)} ms CPU (load average ${loadavg()[0]!.toFixed(1)})`);
console.log(`  held at the end: ${memory.size.subjects.toLocaleString('en')} subjects, ${memory.size.places.toLocaleString('en')} places; evicted over the limits: ${memory.evicted.toLocaleString('en')}`);
console.log(`  heap: ${((heapAfter - heapBefore) / 1048576).toFixed(0)} MB more than at start (${(heapAfter / 1048576).toFixed(0)} MB)`);
await store.close();
await rm(dir, { recursive: true, force: true });
