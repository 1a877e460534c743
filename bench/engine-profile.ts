/**
 * Engine alone, for profiling: `node --cpu-prof build/bench/bench/engine-profile.js [users] [sqlite|redis]`.
 * Teaches a store (a SQLite file, or Redis at REDIS_URL under a key prefix of its own) two weeks
 * of generated history, then decides the third week's logins 50 at a time, and prints
 * decisions/s. Run under --cpu-prof to see where the time goes. On Redis it also prints the
 * commands and socket writes per decision, counted on 200 decisions made one at a time (with
 * nothing else in flight, each write is a round trip). With ENGINE_PROFILE=FILE.cpuprofile it
 * writes a CPU profile of the measured passes alone (not of the teaching before them).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Engine } from '../src/engine/engine.js';
import { loadRuleSet } from '../src/rules/compile.js';
import { openStore } from '../src/store/open.js';
import type { Backend } from '../src/store/ports.js';
import { RedisBackend } from '../src/store/redis/backend.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { deleteKeysUnder } from '../test/redis-keys.js';
import { decideAll, warmState, workload } from './workload.js';

const users = Number(process.argv[2] ?? 2000);
const kind = (process.argv[3] ?? 'sqlite') as 'sqlite' | 'redis';
if (kind !== 'sqlite' && kind !== 'redis') throw new Error(`store: sqlite or redis, not ${String(kind)}`);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const work = workload(users, 50_000);
const state = await warmState(kind, work.history, REDIS_URL);
let store: Backend;
if (kind === 'redis') {
  const opened = await openStore(state.settings);
  if (!(await opened.ready!(5000))) throw new Error(`no Redis at ${REDIS_URL}`);
  store = opened.store;
} else store = new SqliteBackend({ path: join(state.dir, 'riskgate.db') });
const rules = await loadRuleSet('rules');
const engine = new Engine({ store, rules: () => rules, clock: Date.now });

if (store instanceof RedisBackend) {
  const counted = countRedis(store.client);
  const sample = work.requests.slice(0, 200);
  for (const r of sample) await engine.decide(r);
  const { commands, writes, names } = counted();
  const per = (n: number) => (n / sample.length).toFixed(2);
  console.log(`redis, one decision at a time: ${per(commands)} commands and ${per(writes)} socket writes per decision (${[...names].map(([n, c]) => `${n} ${per(c)}`).join(', ')})`);
}

const profileTo = process.env.ENGINE_PROFILE;
const inspector = profileTo ? new Session() : null;
if (inspector) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.start');
}
for (const pass of [1, 2]) {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await decideAll(engine, work.requests, 50);
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  // CPU per decision is the steadier figure on a shared machine: 1e6 / it is the rate with a core to itself.
  const us = (used.user + used.system) / work.requests.length;
  console.log(`pass ${pass}: ${work.requests.length} decisions on ${kind}, ${Math.round(work.requests.length / s)} decisions/s, ${us.toFixed(1)} µs CPU/decision (${Math.round(1e6 / us)}/s on a core)`);
}
if (inspector && profileTo) {
  const { profile } = await inspector.post('Profiler.stop');
  writeFileSync(profileTo, JSON.stringify(profile));
  inspector.disconnect();
}
await store.close();
if (kind === 'redis') await deleteKeysUnder(REDIS_URL, state.prefix);
rmSync(state.dir, { recursive: true, force: true });

/** Counts the commands sent on `client` and the writes to its socket, until the returned function is called. */
function countRedis(client: Redis): () => { commands: number; writes: number; names: Map<string, number> } {
  const names = new Map<string, number>();
  let commands = 0;
  let writes = 0;
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    commands++;
    names.set(command.name, (names.get(command.name) ?? 0) + 1);
    return (send as (...a: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.sendCommand;
  // What reaches the socket: a write(2) per _write or _writev call (corked writes leave in one _writev).
  const stream = (client as unknown as { stream: Record<'_write' | '_writev', (...a: unknown[]) => unknown> }).stream;
  const original = { _write: stream._write, _writev: stream._writev };
  for (const name of ['_write', '_writev'] as const) {
    const f = original[name];
    stream[name] = (...a: unknown[]) => (writes++, f.apply(stream, a));
  }
  return () => {
    client.sendCommand = send;
    Object.assign(stream, original);
    return { commands, writes, names };
  };
}
