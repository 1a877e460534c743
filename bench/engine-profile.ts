/**
 * Engine alone, for profiling: `node --cpu-prof build/bench/bench/engine-profile.js [users] [sqlite|memory]`.
 * Teaches a SQLite file store two weeks of generated history, then decides the third week's
 * logins 50 at a time, and prints decisions/s. Run under --cpu-prof to see where the time goes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { loadRuleSet } from '../src/rules/compile.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { warmState, workload } from './workload.js';

const users = Number(process.argv[2] ?? 2000);
const work = workload(users, 50_000);
const state = await warmState('sqlite', work.history, '');
const store = new SqliteBackend({ path: join(state.dir, 'riskgate.db') });
const rules = await loadRuleSet('rules');
const engine = new Engine({ store, rules: () => rules, clock: Date.now });
for (const pass of [1, 2]) {
  const queue = [...work.requests];
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: 50 }, async () => { for (let r = queue.shift(); r; r = queue.shift()) await engine.decide(r); }));
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  // CPU per decision is the steadier figure on a shared machine: 1e6 / it is the rate with a core to itself.
  const us = (used.user + used.system) / work.requests.length;
  console.log(`pass ${pass}: ${work.requests.length} decisions, ${Math.round(work.requests.length / s)} decisions/s, ${us.toFixed(1)} µs CPU/decision (${Math.round(1e6 / us)}/s on a core)`);
}
await store.close();
rmSync(state.dir, { recursive: true, force: true });
void mkdtempSync;
