// A page that registers a passkey with riskgate and passes a step-up with it (docs/challenges.md#passkeys).
// Run riskgate with a passkeys: block for this page's origin (README.md beside this file), then:
//   RISKGATE_URL=http://127.0.0.1:3000 RISKGATE_KEY=rg_... node examples/passkeys/server.js
// and open http://localhost:8080. The API key stays on this server: the browser only talks to it.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';

const PAGE = readFileSync(new URL('./index.html', import.meta.url), 'utf8');

/** One call to riskgate; its status and JSON body. */
async function riskgate(o, method, path, body) {
  const res = await fetch(`${o.riskgateUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${o.riskgateKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * The demo's routes. A real login service would take the user from its session for the
 * passkey routes (only a logged-in user adds a passkey) and check a password before asking
 * for a decision; this page takes a user name, to show riskgate's side alone.
 */
export function buildPasskeyDemo(o) {
  // A browser keeps connections open (and opens spare ones): a demo stops at once instead of waiting for them.
  const app = Fastify({ forceCloseConnections: true });
  const pending = new Map(); // challenge id → user, until it is verified
  const user = (name) => encodeURIComponent(String(name ?? ''));
  const relay = (reply, r) => reply.code(r.status).send(r.body);

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE));

  app.post('/passkeys/registration', async (req, reply) => relay(reply, await riskgate(o, 'POST', `/v1/users/${user(req.body.username)}/passkeys/registration`, { userName: req.body.username })));
  app.post('/passkeys', async (req, reply) => relay(reply, await riskgate(o, 'POST', `/v1/users/${user(req.body.username)}/passkeys`, { response: req.body.response, label: req.body.label || undefined })));
  app.post('/passkeys/list', async (req, reply) => relay(reply, await riskgate(o, 'GET', `/v1/users/${user(req.body.username)}/passkeys`)));
  app.post('/passkeys/delete', async (req, reply) => relay(reply, await riskgate(o, 'DELETE', `/v1/users/${user(req.body.username)}/passkeys/${encodeURIComponent(req.body.id)}`)));

  // The password was right (imagine): ask riskgate. `ip` lets the page pretend to log in from elsewhere.
  app.post('/login', async (req, reply) => {
    const deviceId = req.body.newDevice ? randomBytes(16).toString('base64url') : 'demo-device';
    const d = await riskgate(o, 'POST', '/v1/decisions', { userId: req.body.username, ip: req.body.ip, userAgent: req.headers['user-agent'], deviceId });
    if (d.status !== 200) return relay(reply, d);
    if (d.body.challenge) pending.set(d.body.challenge.id, req.body.username);
    return { action: d.body.action, reasons: d.body.reasons, challenge: d.body.challenge, enroll: d.body.enroll };
  });

  app.post('/login/verify', async (req, reply) => {
    if (!pending.has(req.body.challengeId)) return reply.code(404).send({ error: 'no such login' });
    const v = await riskgate(o, 'POST', `/v1/challenges/${encodeURIComponent(req.body.challengeId)}/verify`, { passkey: req.body.passkey });
    if (v.body.status === 'verified') pending.delete(req.body.challengeId);
    return relay(reply, v);
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.RISKGATE_URL ?? 'http://127.0.0.1:3000';
  const app = buildPasskeyDemo({ riskgateUrl: () => url, riskgateKey: process.env.RISKGATE_KEY });
  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 8080) });
  console.log(`open http://localhost:${app.server.address().port}`);
}
