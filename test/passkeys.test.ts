import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigFile } from '../src/config.js';
import { HOME, NEW_PHONE, post, send } from './challenge-helpers.js';
import { MINUTE, TestClock, copyRules, decide, habit, makeApp, type TestApp } from './helpers.js';
import { SoftAuthenticator } from './soft-authenticator.js';
import { SERVER_STORES, describeEachStore, type StoreKind } from './stores.js';

const ORIGIN = 'https://login.example.com';
const PASSKEYS = { rpId: 'example.com', rpName: 'Example', origins: [ORIGIN] };

type Options = { challenge: string; rp: { id?: string }; excludeCredentials?: { id: string }[] };
type RequestOptions = { challenge: string; rpId?: string; allowCredentials?: { id: string }[]; userVerification?: string };

async function register(t: TestApp, key: SoftAuthenticator, userId = 'alice', over: { origin?: string } = {}) {
  const r = await post(t, `/v1/users/${userId}/passkeys/registration`, {});
  expect(r.status).toBe(200);
  return post(t, `/v1/users/${userId}/passkeys`, { response: key.create(r.body.options as Options, over) });
}

let logins = 0;
/** A risky login (a new phone on a new subnet of the user's provider); each another phone and subnet, as a passed one teaches the profile. */
async function riskyLogin(t: TestApp, userId = 'alice') {
  logins += 1;
  const d = await decide(t, { ...NEW_PHONE, userId, deviceId: `d-phone-${logins}`, ip: `81.167.${150 + (logins % 90)}.9`, phone: '+4791234567' });
  expect(d.body.action).toBe('challenge');
  return d.body.challenge as { id: string; channel: string; attemptsLeft: number; channels: string[]; options?: RequestOptions };
}

/** Two riskgate instances on one shared state of `kind`, with one clock, passkeys configured. */
async function twoInstances(kind: StoreKind, file: ConfigFile = { passkeys: PASSKEYS }) {
  const world = await kind.world();
  const clock = new TestClock();
  const a = await makeApp({ store: await world.open(), clock, file });
  const b = await makeApp({ store: await world.open(), clock, file });
  await habit(a, HOME);
  return {
    a,
    b,
    async close() {
      await a.app.close();
      await b.app.close();
      await world.close();
    },
  };
}

describeEachStore(SERVER_STORES, 'passkeys over HTTP, two instances', twoInstances, (w) => {
  it('registers on one instance and passes a step-up on the other; the assertion is spent with its challenge', async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const r = await register(w.a, key);
    expect(r.body).toEqual({ status: 'registered', id: expect.any(String) });
    const c = await riskyLogin(w.b);
    expect(c.channel).toBe('passkey');
    expect(c.options).toMatchObject({ rpId: 'example.com', userVerification: 'required', allowCredentials: [{ id: key.credentials[0]!.id.toString('base64url'), type: 'public-key', transports: ['internal'] }] });
    const assertion = key.get(c.options!);
    expect((await post(w.b, `/v1/challenges/${c.id}/verify`, { passkey: assertion })).body).toEqual({ status: 'verified', attemptsLeft: 5 });
    expect((await post(w.a, `/v1/challenges/${c.id}/verify`, { passkey: assertion })).body.status).toBe('used');
    const other = await riskyLogin(w.a);
    expect((await post(w.a, `/v1/challenges/${other.id}/verify`, { passkey: assertion })).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    const listed = (await send(w.a, 'GET', '/v1/users/alice/passkeys')).body.passkeys;
    expect(listed).toEqual([{ id: r.body.id, label: '', createdAt: expect.any(String), lastUsedAt: new Date(w.a.clock.now).toISOString() }]);
  });

  it('a registration challenge is good once, and not after passkeys.timeoutSeconds', async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const options = (await post(w.a, '/v1/users/alice/passkeys/registration', {})).body.options as Options;
    const late = (await post(w.a, '/v1/users/alice/passkeys/registration', {})).body.options as Options;
    const response = key.create(options);
    expect((await post(w.b, '/v1/users/alice/passkeys', { response })).status).toBe(200);
    expect((await post(w.a, '/v1/users/alice/passkeys', { response })).body.error).toMatchObject({ code: 'PASSKEY_REGISTRATION_FAILED', message: expect.stringMatching(/already used, or expired/) });
    w.a.clock.advance(5 * MINUTE);
    expect((await post(w.a, '/v1/users/alice/passkeys', { response: key.create(late) })).status).toBe(422);
    // Options list the user's passkeys, so one authenticator is not registered twice.
    const again = (await post(w.b, '/v1/users/alice/passkeys/registration', {})).body.options as Options;
    expect(again.excludeCredentials!.map((x) => x.id)).toEqual([key.credentials[0]!.id.toString('base64url')]);
  });

  it('a credential works only for its user, and a counter that goes backwards is refused and audited', async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    await register(w.a, key, 'alice');
    await habit(w.a, { ...HOME, userId: 'bob', deviceId: 'd-bob' });
    const bobKey = new SoftAuthenticator({ origin: ORIGIN });
    await register(w.a, bobKey, 'bob');
    const bobs = await riskyLogin(w.a, 'bob');
    const signed = key.get(bobs.options!, { credential: 0 });
    expect((await post(w.b, `/v1/challenges/${bobs.id}/verify`, { passkey: signed })).body.status).toBe('invalid');
    expect((await w.b.store.audit.query({ ref: bobs.id, kind: 'passkey.rejected' }))[0]).toMatchObject({ userId: 'bob', detail: { passkeyId: null } });

    const c1 = await riskyLogin(w.a);
    expect((await post(w.a, `/v1/challenges/${c1.id}/verify`, { passkey: key.get(c1.options!, { counter: 7 }) })).body.status).toBe('verified');
    const c2 = await riskyLogin(w.a);
    expect((await post(w.b, `/v1/challenges/${c2.id}/verify`, { passkey: key.get(c2.options!, { counter: 7 }) })).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    const [audited] = await w.b.store.audit.query({ ref: c2.id, kind: 'passkey.counter_regressed' });
    expect(audited).toMatchObject({ userId: 'alice', detail: { stored: 7, presented: 7 } });
    expect((await post(w.b, `/v1/challenges/${c2.id}/verify`, { passkey: key.get(c2.options!, { counter: 8 }) })).body.status).toBe('verified');
  });
});

describe('passkeys: checks and settings', () => {
  async function app(file: ConfigFile = { passkeys: PASSKEYS }) {
    const t = await makeApp({ file });
    await habit(t, HOME);
    return t;
  }

  it('without a passkeys: block, every passkey route and a {passkey} answer are 409 PASSKEYS_NOT_CONFIGURED', async () => {
    const t = await app({});
    try {
      for (const r of [await post(t, '/v1/users/alice/passkeys/registration', {}), await send(t, 'GET', '/v1/users/alice/passkeys'), await send(t, 'DELETE', '/v1/users/alice/passkeys/k1')]) {
        expect(r).toMatchObject({ status: 409, body: { error: { code: 'PASSKEYS_NOT_CONFIGURED' } } });
      }
      const c = await riskyLogin(t);
      expect(c.channel).toBe('sms');
      const key = new SoftAuthenticator({ origin: ORIGIN });
      key.create({ challenge: 'x', rp: { id: 'example.com' } });
      const r = await post(t, `/v1/challenges/${c.id}/verify`, { passkey: key.get({ challenge: 'x' }, { credential: 0 }) });
      expect(r).toMatchObject({ status: 409, body: { error: { code: 'PASSKEYS_NOT_CONFIGURED' } } });
    } finally {
      await t.close();
    }
  });

  it('takes the browser\'s JSON as it is and nothing else: no coercion, no unknown field, one answer', async () => {
    const t = await app();
    try {
      const key = new SoftAuthenticator({ origin: ORIGIN });
      await register(t, key);
      const c = await riskyLogin(t);
      const good = key.get(c.options!);
      const bad = (body: unknown) => post(t, `/v1/challenges/${c.id}/verify`, body);
      const response = good.response as Record<string, unknown>;
      for (const body of [
        { passkey: { ...good, type: 'password' } },
        { passkey: { ...good, response: { ...response, signature: 12 } } },
        { passkey: { ...good, response: { ...response, signature: 'not base64url!' } } },
        { passkey: { ...good, extra: 1 } },
        { passkey: good, code: '123456' },
        { passkey: JSON.stringify(good) },
      ]) {
        const r = await bad(body);
        expect(r.status, JSON.stringify(r.body)).toBe(400);
        expect(r.body.error.code).toBe('INVALID_REQUEST');
      }
      expect((await post(t, '/v1/users/alice/passkeys', { response: { id: 'x' } })).body.error.code).toBe('INVALID_REQUEST');
      expect((await post(t, '/v1/users/alice/passkeys/registration', { userName: 5 })).body.error.code).toBe('INVALID_REQUEST');
      // None of that cost an attempt.
      expect((await bad({ passkey: good })).body).toEqual({ status: 'verified', attemptsLeft: 5 });
    } finally {
      await t.close();
    }
  });

  it('user verification is required by default; "preferred" takes a touch alone', async () => {
    const t = await app();
    const lax = await app({ passkeys: { ...PASSKEYS, userVerification: 'preferred' } });
    try {
      const touch = new SoftAuthenticator({ origin: ORIGIN, uv: false });
      expect((await register(t, touch)).body.error.message).toMatch(/user could not be verified/i);
      expect((await register(lax, touch)).status).toBe(200);
      const c = await riskyLogin(lax);
      expect(c.options!.userVerification).toBe('preferred');
      expect((await post(lax, `/v1/challenges/${c.id}/verify`, { passkey: touch.get(c.options!) })).body.status).toBe('verified');
      // Registered with a PIN, then answered without one: refused where it is required.
      const pin = new SoftAuthenticator({ origin: ORIGIN });
      await register(t, pin);
      const c2 = await riskyLogin(t);
      expect((await post(t, `/v1/challenges/${c2.id}/verify`, { passkey: pin.get(c2.options!, { uv: false }) })).body.status).toBe('invalid');
      expect((await t.store.audit.query({ ref: c2.id, kind: 'passkey.rejected' }))[0]!.detail).toMatchObject({ reason: expect.stringMatching(/user could not be verified/i) });
    } finally {
      await t.close();
      await lax.close();
    }
  });

  it('checks the origin and the rpId of a registration and of an assertion', async () => {
    const t = await app();
    try {
      const key = new SoftAuthenticator({ origin: ORIGIN });
      expect((await register(t, key, 'alice', { origin: 'https://evil.example.net' })).body.error.message).toMatch(/origin/i);
      await register(t, key);
      const c = await riskyLogin(t);
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { passkey: key.get(c.options!, { origin: 'https://login.example.com.evil.net' }) })).body.status).toBe('invalid');
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { passkey: key.get({ ...c.options!, rpId: 'evil.net' }) })).body.status).toBe('invalid');
      const reasons = (await t.store.audit.query({ ref: c.id, kind: 'passkey.rejected' })).map((e) => String(e.detail!.reason));
      expect(reasons).toEqual([expect.stringMatching(/rp ?id/i), expect.stringMatching(/origin/i)]);
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { passkey: key.get(c.options!) })).body).toEqual({ status: 'verified', attemptsLeft: 3 });
    } finally {
      await t.close();
    }
  });

  it('a passkey challenge expires and locks like any other', async () => {
    const t = await app({ passkeys: PASSKEYS, challenges: { maxAttempts: 2 } });
    try {
      const key = new SoftAuthenticator({ origin: ORIGIN });
      await register(t, key);
      const late = await riskyLogin(t);
      t.clock.advance(5 * MINUTE);
      expect((await post(t, `/v1/challenges/${late.id}/verify`, { passkey: key.get(late.options!) })).body.status).toBe('expired');
      const c = await riskyLogin(t);
      const other = await riskyLogin(t);
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { passkey: key.get(other.options!) })).body.status).toBe('invalid');
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { passkey: key.get(other.options!) })).body.status).toBe('locked');
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { passkey: key.get(c.options!) })).body.status).toBe('locked');
    } finally {
      await t.close();
    }
  });

  it('challenges.prefer orders passkey and TOTP; the login service can still move a passkey challenge to a code', async () => {
    const t = await app({ passkeys: PASSKEYS, challenges: { prefer: ['totp', 'passkey'] } });
    const codes = await app({ passkeys: PASSKEYS, challenges: { prefer: [] } });
    try {
      const key = new SoftAuthenticator({ origin: ORIGIN });
      await register(t, key);
      expect((await riskyLogin(t)).channel).toBe('passkey');
      await t.store.challenges.putTotp({ userId: 'alice', secretEnc: 'sealed', confirmed: true, lastStep: 0, createdAt: t.clock.now });
      expect((await riskyLogin(t)).channel).toBe('totp');

      await register(codes, key);
      const c = await riskyLogin(codes);
      expect(c.channel).toBe('sms');
      expect(c.options).toBeUndefined();
    } finally {
      await t.close();
      await codes.close();
    }
  });

  it('a passkey challenge is not moved to a code by /resend (a downgrade, issue 14 finding 9): 409, audited', async () => {
    const t = await app();
    try {
      const key = new SoftAuthenticator({ origin: ORIGIN });
      await register(t, key);
      const c = await riskyLogin(t);
      expect(c.channels).toEqual([]);
      expect(await post(t, `/v1/challenges/${c.id}/resend`, { channel: 'sms' })).toMatchObject({ status: 409, body: { error: { code: 'DOWNGRADE_REFUSED' } } });
      expect(t.outbox.messages).toHaveLength(0);
      expect((await t.store.audit.query({ ref: c.id, kind: 'challenge.downgrade_refused' })).map((e) => e.detail)).toEqual([{ from: 'passkey', to: 'sms' }]);
    } finally {
      await t.close();
    }
  });

  it('with challenges.allowDowngrade, a passkey challenge moves to a code with /resend, and either answer passes it', async () => {
    const t = await app({ passkeys: PASSKEYS, challenges: { allowDowngrade: true } });
    try {
      const key = new SoftAuthenticator({ origin: ORIGIN });
      await register(t, key);
      const c = await riskyLogin(t);
      const moved = await post(t, `/v1/challenges/${c.id}/resend`, { channel: 'sms' });
      expect(moved.body).toMatchObject({ channel: 'sms', delivered: true });
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { code: t.outbox.last()!.code })).body.status).toBe('verified');
    } finally {
      await t.close();
    }
  });

  it('policy.enroll: an allowed login of a user with no strong factor suggests a passkey, until the user has one', async () => {
    const t = await app();
    const off = await app({});
    try {
      const home = await decide(t, HOME);
      expect(home.body).toMatchObject({ action: 'allow', enroll: { suggest: 'passkey' } });
      // Only where passkeys can be registered, and only on the actions the policy names (allow).
      expect((await decide(off, HOME)).body.enroll).toBeUndefined();
      const risky = await decide(t, { ...NEW_PHONE, deviceId: 'd-x', ip: '81.167.200.9', phone: '+4791234567' });
      expect(risky.body.action).toBe('challenge');
      expect(risky.body.enroll).toBeUndefined();
      // TOTP is a strong factor too; a passkey ends the nudge for good.
      await t.store.challenges.putTotp({ userId: 'alice', secretEnc: 'sealed', confirmed: true, lastStep: 0, createdAt: t.clock.now });
      expect((await decide(t, HOME)).body.enroll).toBeUndefined();
      await t.store.challenges.deleteTotp('alice');
      await register(t, new SoftAuthenticator({ origin: ORIGIN }));
      expect((await decide(t, HOME)).body.enroll).toBeUndefined();
    } finally {
      await t.close();
      await off.close();
    }
  });

  it('policy.enroll.on names the decisions that carry it; a policy without enroll never suggests', async () => {
    const dir = await copyRules();
    const policy = join(dir, 'policy.yaml');
    await writeFile(policy, (await readFile(policy, 'utf8')).replace('on: [allow]', 'on: [challenge]'));
    const t = await makeApp({ file: { passkeys: PASSKEYS }, rulesDir: dir });
    const none = await copyRules();
    const text = await readFile(join(none, 'policy.yaml'), 'utf8');
    await writeFile(join(none, 'policy.yaml'), text.slice(0, text.indexOf('  enroll:')));
    const without = await makeApp({ file: { passkeys: PASSKEYS }, rulesDir: none });
    try {
      await habit(t, HOME);
      expect((await decide(t, HOME)).body.enroll).toBeUndefined();
      const d = await decide(t, { ...NEW_PHONE, deviceId: 'd-x', ip: '81.167.200.9', phone: '+4791234567' });
      expect(d.body).toMatchObject({ action: 'challenge', challenge: { channel: 'sms' }, enroll: { suggest: 'passkey' } });
      await habit(without, HOME);
      expect((await decide(without, HOME)).body.enroll).toBeUndefined();
    } finally {
      await t.close();
      await without.close();
      await rm(dir, { recursive: true, force: true });
      await rm(none, { recursive: true, force: true });
    }
  });
});
