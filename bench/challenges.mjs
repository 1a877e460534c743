// Cost of the challenge path, in process (app.inject, in-memory SQLite, outbox delivery):
// a decision that issues a challenge, a verify, and what a trust token adds to a decision.
// Run after `npm run build`: node bench/challenges.mjs
import { setupChallenges } from '../dist/challenge/index.js';
import { Keys } from '../dist/challenge/keys.js';
import { OutboxProvider } from '../dist/challenge/providers/outbox.js';
import { Engine } from '../dist/engine/engine.js';
import { ApiKeys } from '../dist/http/auth.js';
import { buildApp } from '../dist/http/app.js';
import { challengeAppOptions } from '../dist/http/challenge-routes.js';
import { Metrics } from '../dist/http/metrics.js';
import { RuleHolder } from '../dist/rules/holder.js';
import { SqliteStore } from '../dist/store/sqlite.js';

const N = Number(process.argv[2] ?? 2000);
let now = Date.parse('2026-03-02T08:00:00Z');
const clock = () => now;
const store = new SqliteStore({ path: ':memory:' });
const rules = await RuleHolder.load(new URL('../rules', import.meta.url).pathname);
const metrics = new Metrics(false);
const outbox = new OutboxProvider('outbox', ['sms', 'whatsapp', 'voice', 'email']);
// Limits out of the way: this measures the path, not the abuse limits.
const big = 1e9;
const setup = setupChallenges({ store, keys: new Keys(Buffer.alloc(32, 1)), clock, metrics, env: {}, providers: [outbox], file: { challenges: { limits: { perUserPerHour: big, perPhonePerHour: big, perCountryPerHour: big, verifyPerIpPerHour: big } } } });
const engine = new Engine({ store, rules: rules.current, clock, trust: setup.trust });
const service = setup.service(engine);
const app = await buildApp({ engine, rules, apiKeys: new ApiKeys(['k']), clock, metrics, ...challengeAppOptions(service) });
const headers = { authorization: 'Bearer k' };
const post = async (url, payload) => (await app.inject({ method: 'POST', url, headers, payload })).json();

const users = 200;
for (let u = 0; u < users; u++) {
  for (let i = 0; i < 10; i++) {
    now += 60_000;
    await post('/v1/decisions', { userId: `u${u}`, ip: '81.167.144.58', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0', deviceId: `pc${u}` });
  }
}
const challenged = (i) => ({ userId: `u${i % users}`, ip: '177.10.0.1', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1', deviceId: `phone${i}`, phone: '+4791234567' });

async function time(label, n, fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
  console.log(`${label.padEnd(44)} ${us.toFixed(0).padStart(6)} µs/op  ${(1e6 / us).toFixed(0).padStart(6)} ops/s`);
}

await time('challenge decision, nothing to issue (no phone)', N, async (i) => post('/v1/decisions', { ...challenged(i), phone: undefined }));
const ids = [];
await time('decision that issues a challenge (outbox)', N, async (i) => {
  const d = await post('/v1/decisions', challenged(i));
  if (!d.challenge) throw new Error(JSON.stringify(d));
  ids.push([d.challenge.id, outbox.last().code]);
});
await time('verify, wrong code', N, async (i) => post(`/v1/challenges/${ids[i][0]}/verify`, { code: ids[i][1] === '000000' ? '111111' : '000000' }));
const tokens = [];
await time('verify, right code, trustDevice', N, async (i) => {
  const v = await post(`/v1/challenges/${ids[i][0]}/verify`, { code: ids[i][1], trustDevice: true });
  tokens.push(v.trustToken);
});
const known = (i) => ({ userId: `u${i % users}`, ip: '81.167.144.58', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0', deviceId: `pc${i % users}` });
await time('decision, no trust token', N, async (i) => post('/v1/decisions', known(i)));
await time('decision with a valid trust token', N, async (i) => post('/v1/decisions', { ...challenged(i), trustToken: tokens[i] }));
await app.close();
await store.close();
