// Fastify hook styles, same process, in turn: async onRequest/preHandler/onSend hooks against
// callback ones that call done() (what src/http/app.ts and src/http/idempotency.ts use), with
// AsyncLocalStorage on as in the server. Prints CPU per request of each and their difference.
//   node bench/hook-styles.mjs
import { AsyncLocalStorage } from 'node:async_hooks';
import Fastify from 'fastify';
const als = new AsyncLocalStorage();
function build(callback) {
  const app = Fastify();
  app.addHook('onRequest', (req, reply, done) => als.run(req.id, done));
  if (callback) {
    app.addHook('onRequest', (req, reply, done) => { if (!req.headers.authorization) return; done(); });
    app.post('/x', { preHandler: (req, reply, done) => { if (req.headers['idempotency-key'] === undefined) return done(); }, onSend: (req, reply, payload, done) => done(null, payload) }, async (req) => ({ ok: 1 }));
  } else {
    app.addHook('onRequest', async (req, reply) => { if (!req.headers.authorization) return reply.send('no'); });
    app.post('/x', { preHandler: async (req, reply) => { if (req.headers['idempotency-key'] === undefined) return; }, onSend: async (req, reply, payload) => payload }, async (req) => ({ ok: 1 }));
  }
  return app;
}
const apps = [build(false), build(true)];
await Promise.all(apps.map((a) => a.ready()));
const opts = { method: 'POST', url: '/x', headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, payload: '{"a":1}' };
async function batch(app, n) {
  const t = process.cpuUsage();
  let left = n;
  await Promise.all(Array.from({ length: 50 }, async () => { while (left-- > 0) await app.inject(opts); }));
  const u = process.cpuUsage(t); return (u.user + u.system) / n;
}
for (const a of apps) await batch(a, 20000);
const r = [[], []];
for (let i = 0; i < 30; i++) for (const k of i % 2 ? [1, 0] : [0, 1]) r[k].push(await batch(apps[k], 4000));
const med = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
const ratios = r[0].map((a, i) => r[1][i] / a);
console.log(`async hooks median ${med(r[0]).toFixed(2)} µs/req, callback hooks ${med(r[1]).toFixed(2)} µs/req, ratio median ${med(ratios).toFixed(3)}, diff median ${med(r[0].map((a,i)=>a-r[1][i])).toFixed(2)} µs`);
