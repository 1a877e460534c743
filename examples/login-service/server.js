// A login service that asks riskgate after each password check (docs/integration.md).
// Run: RISKGATE_URL=http://127.0.0.1:3000 RISKGATE_KEY=rg_... node examples/login-service/server.js
import { randomBytes, randomUUID, scryptSync, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';

const DEVICE_COOKIE = 'rg_did'; // the device id: minted once, kept 400 days (the longest a browser keeps a cookie)
const TRUST_COOKIE = 'rg_trust'; // the trust token of a verified "trust this device", as long as riskgate's challenges.trustDays
const DEVICE_DAYS = 400;
const TRUST_DAYS = 30;

function cookies(req) {
  return Object.fromEntries((req.headers.cookie ?? '').split(';').filter(Boolean).map((c) => c.trim().split('=').map(decodeURIComponent)));
}
function setCookie(reply, name, value, days, sameSite = 'Lax') {
  reply.header('set-cookie', `${name}=${encodeURIComponent(value)}; Max-Age=${days * 86400}; Path=/; HttpOnly; Secure; SameSite=${sameSite}`);
}

/** One call to riskgate with an Idempotency-Key, retried once on a network error or a 5xx: the retry never acts twice. */
async function riskgate(o, path, body) {
  const headers = { authorization: `Bearer ${o.riskgateKey}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() };
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${o.riskgateUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(3000) });
      if (res.status < 500 || attempt === 2) return { status: res.status, body: await res.json() };
    } catch (e) {
      if (attempt === 2) throw e;
    }
  }
}

export function buildLoginService(o) {
  const app = Fastify();
  const salt = randomBytes(16);
  const hash = (password) => scryptSync(password, salt, 32);
  const users = new Map(Object.entries(o.users).map(([name, u]) => [name, { ...u, hash: hash(u.password) }]));
  const pending = new Map(); // challenge id → user, until the code is verified

  app.post('/login', async (req, reply) => {
    const { username, password } = req.body;
    let deviceId = cookies(req)[DEVICE_COOKIE];
    if (!deviceId || !/^[A-Za-z0-9_-]{22}$/.test(deviceId)) {
      deviceId = randomBytes(16).toString('base64url');
      setCookie(reply, DEVICE_COOKIE, deviceId, DEVICE_DAYS);
    }
    const login = { userId: username, ip: req.ip, userAgent: req.headers['user-agent'], deviceId };
    const user = users.get(username);
    if (!user || !timingSafeEqual(user.hash, hash(password))) {
      const failure = await riskgate(o, '/v1/login-failures', login);
      return reply.code(failure.body.blocked ? 429 : 401).send({ error: failure.body.blocked ? 'too many attempts' : 'wrong username or password' });
    }
    const trustToken = cookies(req)[TRUST_COOKIE];
    const d = await riskgate(o, '/v1/decisions', { ...login, ...(trustToken ? { trustToken } : {}), ...(user.phone ? { phone: user.phone } : {}) });
    if (d.status !== 200) return reply.code(503).send({ error: 'try again' }); // riskgate unreachable: fail closed
    if (d.body.action === 'allow') return { session: `session-for-${username}` };
    if (d.body.action === 'block') return reply.code(403).send({ error: 'login refused' });
    // A challenge without a challenge object: riskgate has no second factor for this user. Step up by your own means, or refuse.
    if (!d.body.challenge) return reply.code(403).send({ error: 'verify your identity with support' });
    pending.set(d.body.challenge.id, username);
    return { challenge: { id: d.body.challenge.id, channel: d.body.challenge.channel, destination: d.body.challenge.destination } };
  });

  app.post('/login/verify', async (req, reply) => {
    const { challengeId, code, trustDevice } = req.body;
    const username = pending.get(challengeId);
    if (!username) return reply.code(404).send({ error: 'no such login' });
    const v = await riskgate(o, `/v1/challenges/${encodeURIComponent(challengeId)}/verify`, { code, trustDevice: Boolean(trustDevice) });
    if (v.body.status !== 'verified') return reply.code(401).send({ error: 'wrong code', attemptsLeft: v.body.attemptsLeft });
    pending.delete(challengeId);
    if (v.body.trustToken) setCookie(reply, TRUST_COOKIE, v.body.trustToken, TRUST_DAYS, 'Strict');
    return { session: `session-for-${username}` };
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = buildLoginService({ riskgateUrl: process.env.RISKGATE_URL ?? 'http://127.0.0.1:3000', riskgateKey: process.env.RISKGATE_KEY, users: { alice: { password: 'correct horse', phone: '+4791234567' } } });
  await app.listen({ port: Number(process.env.PORT ?? 8080) });
}
