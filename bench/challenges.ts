/**
 * npm run bench:challenges -- [N] [--redis]: the cost of the challenge path, in process
 * (app.inject, outbox delivery), on SQLite and, with --redis, on the Redis store (REDIS_URL,
 * default 127.0.0.1:6379) in the same run: a decision that issues a challenge, a verify, and
 * what a trust token adds to a decision. One request at a time: latency per step.
 */
import { assemble } from '../src/assemble.js';
import { Keys } from '../src/challenge/keys.js';
import { OutboxProvider } from '../src/challenge/providers/outbox.js';
import { ApiKeys } from '../src/http/auth.js';
import { Metrics } from '../src/observability/metrics.js';
import { RuleHolder } from '../src/rules/holder.js';
import type { Backend } from '../src/store/ports.js';
import { RedisBackend } from '../src/store/redis/backend.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { deleteKeysUnder } from '../test/redis-keys.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 2000);
const kinds: Kind[] = args.includes('--redis') ? ['sqlite', 'redis'] : ['sqlite'];
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const rules = await RuleHolder.load('rules');
type Kind = 'sqlite' | 'redis';

async function openStore(kind: Kind): Promise<Backend> {
  if (kind === 'sqlite') return new SqliteBackend({ path: ':memory:' });
  const store = new RedisBackend({ url: REDIS_URL, keyPrefix: `rgbench:challenges:${process.pid}:`, local: new SqliteBackend({ path: ':memory:' }), recordTtlMs: 3_600_000 });
  if (!(await store.ready(2000))) throw new Error(`no Redis at ${REDIS_URL}`);
  return store;
}

/** µs per operation of each step, on one store. */
async function measure(kind: Kind): Promise<Map<string, number>> {
  let now = Date.parse('2026-03-02T08:00:00Z');
  const clock = () => now;
  const store = await openStore(kind);
  const metrics = new Metrics(false);
  const outbox = new OutboxProvider('outbox', ['sms', 'whatsapp', 'voice', 'email']);
  // Limits out of the way: this measures the path, not the abuse limits.
  const big = 1e9;
  const file = { challenges: { limits: { perUserPerHour: big, perPhonePerHour: big, perCountryPerHour: big, verifyPerIpPerHour: big } } };
  const { app } = await assemble({ store, rules, clock, keys: new Keys(Buffer.alloc(32, 1)), apiKeys: new ApiKeys(['k:decide+factors']), metrics, file, env: {}, providers: [outbox] });
  const headers = { authorization: 'Bearer k' };
  const post = async (url: string, payload: object) => (await app.inject({ method: 'POST', url, headers, payload })).json() as Record<string, any>;

  const users = 200;
  for (let u = 0; u < users; u++) {
    for (let i = 0; i < 10; i++) {
      now += 60_000;
      await post('/v1/decisions', { userId: `u${u}`, ip: '81.167.144.58', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0', deviceId: `pc${u}` });
    }
  }
  const challenged = (i: number) => ({ userId: `u${i % users}`, ip: '177.10.0.1', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1', deviceId: `phone${i}`, phone: '+4791234567' });
  const known = (i: number) => ({ userId: `u${i % users}`, ip: '81.167.144.58', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0', deviceId: `pc${i % users}` });

  const out = new Map<string, number>();
  async function time(label: string, fn: (i: number) => Promise<unknown>) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await fn(i);
    out.set(label, Number(process.hrtime.bigint() - t0) / 1000 / N);
  }
  await time('challenge decision, nothing to issue (no phone)', async (i) => post('/v1/decisions', { ...challenged(i), phone: undefined }));
  const ids: [string, string][] = [];
  await time('decision that issues a challenge (outbox)', async (i) => {
    const d = await post('/v1/decisions', challenged(i));
    if (!d.challenge) throw new Error(JSON.stringify(d));
    ids.push([d.challenge.id, outbox.last()!.code]);
  });
  await time('verify, wrong code', async (i) => post(`/v1/challenges/${ids[i]![0]}/verify`, { code: ids[i]![1] === '000000' ? '111111' : '000000' }));
  const tokens: string[] = [];
  await time('verify, right code, trustDevice', async (i) => {
    const v = await post(`/v1/challenges/${ids[i]![0]}/verify`, { code: ids[i]![1], trustDevice: true });
    if (v.status !== 'verified') throw new Error(JSON.stringify(v));
    tokens.push(v.trustToken);
  });
  await time('decision, no trust token', async (i) => post('/v1/decisions', known(i)));
  await time('decision with a valid trust token', async (i) => post('/v1/decisions', { ...challenged(i), trustToken: tokens[i] }));
  await app.close();
  await store.close();
  if (store instanceof RedisBackend) await deleteKeysUnder(REDIS_URL, store.keyPrefix);
  return out;
}

const results: Map<string, number>[] = [];
for (const kind of kinds) results.push(await measure(kind));
const head = ['step (one at a time, in process)', ...kinds.map((k) => `${k} µs/op`), ...(kinds.length > 1 ? ['redis / sqlite'] : [])];
console.log(`${N} operations per step\n`);
console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
for (const label of results[0]!.keys()) {
  const us = results.map((r) => r.get(label)!);
  const cells = [label, ...us.map((u) => `${u.toFixed(0)} (${(1e6 / u).toFixed(0)}/s)`), ...(us.length > 1 ? [`${(us[1]! / us[0]!).toFixed(2)}×`] : [])];
  console.log(`| ${cells.join(' | ')} |`);
}
