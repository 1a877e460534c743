import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Keys, resolveSecret } from '../src/challenge/keys.js';
import { makeTotp } from '../src/challenge/totp.js';
import { TrustTokens } from '../src/challenge/trust.js';
import { ConfigError } from '../src/errors.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { HOME, NEW_PHONE, lastCode, post } from './challenge-helpers.js';
import { IP, MINUTE, TestClock, UA, decide, habit, makeApp, type TestApp } from './helpers.js';

const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
const PHONE = '+4791234567';

/**
 * Rotating RISKGATE_SECRET: the new secret makes everything from now on, and with the old one
 * in RISKGATE_SECRET_PREVIOUS what the old one made keeps working. Two apps on one store and
 * one clock stand for the server before and after the restart.
 */
describe('rotating the server secret', () => {
  let store: SqliteBackend;
  let clock: TestClock;
  let before: TestApp;
  let after: TestApp | null;
  beforeEach(async () => {
    store = new SqliteBackend({ path: ':memory:' });
    clock = new TestClock();
    before = await makeApp({ store, clock, keys: new Keys(OLD) });
    await habit(before, HOME);
    after = null;
  });
  afterEach(async () => {
    await before.app.close();
    await (after ? after.close() : store.close());
  });
  const restart = async (keys: Keys) => (after = await makeApp({ store, clock, keys }));

  /** Under the old secret: a code in flight, recovery codes, a TOTP enrolment and a trust token, all Alice's. */
  async function madeBefore() {
    const pending = (await decide(before, { ...NEW_PHONE, phone: PHONE })).body.challenge.id as string;
    const code = lastCode(before.outbox, PHONE);
    const recovery = (await post(before, '/v1/users/alice/recovery-codes')).body.codes as string[];
    const e = (await post(before, '/v1/users/alice/totp')).body as { secret: string };
    await post(before, '/v1/users/alice/totp/confirm', { code: makeTotp(e.secret).generate({ timestamp: clock.now }) });
    const token = (await new TrustTokens(store.challenges, new Keys(OLD), 30).issue('alice', 'd-laptop', 'Chrome', IP.homeNO, clock.now)).token;
    return { pending, code, recovery, totp: e.secret, token };
  }
  /** A login of Alice's on a device and network never seen: challenged, by her authenticator once she has one. */
  let devices = 0;
  const challenged = async (t: TestApp) => {
    clock.advance(MINUTE);
    // A network she never used each time: a passed challenge teaches the last one.
    const ip = [IP.germany, IP.japan, IP.brazil][devices % 3]!;
    const d = (await decide(t, { userId: 'alice', ip, userAgent: UA.firefoxLinux, deviceId: `d-other-${++devices}` })).body;
    expect(d.action, `${ip} ${JSON.stringify(d.reasons)}`).toBe('challenge');
    return d.challenge as { id: string; channel: string };
  };
  const totpNow = (secret: string) => makeTotp(secret).generate({ timestamp: clock.now });

  it('with the old secret as previous, everything made before the rotation still works', async () => {
    const old = await madeBefore();
    const t = await restart(new Keys(NEW, [OLD]));
    expect((await post(t, `/v1/challenges/${old.pending}/verify`, { code: old.code })).body.status).toBe('verified');
    expect(await new TrustTokens(store.challenges, new Keys(NEW, [OLD]), 30).verify(old.token, 'alice', 'd-laptop', clock.now)).toBe(true);
    const byApp = await challenged(t);
    expect(byApp.channel).toBe('totp');
    expect((await post(t, `/v1/challenges/${byApp.id}/verify`, { code: totpNow(old.totp) })).body.status).toBe('verified');
    // That use sealed Alice's secret again under the new key: it no longer needs the old one.
    expect(new Keys(NEW).open((await store.challenges.getTotp('alice'))!.secretEnc, 'alice').plain).toBe(old.totp);
    expect((await store.audit.query({ kind: 'totp.resealed' })).length).toBe(1);
    const byRecovery = await challenged(t);
    expect((await post(t, `/v1/challenges/${byRecovery.id}/verify`, { recoveryCode: old.recovery[0] })).body.status).toBe('verified');

    // What is made now is made under the new secret alone: a server without the old one takes it.
    const fresh = (await post(t, '/v1/users/alice/recovery-codes')).body.codes as string[];
    const withoutOld = await makeApp({ store, clock, keys: new Keys(NEW) });
    const next = await challenged(withoutOld);
    expect((await post(withoutOld, `/v1/challenges/${next.id}/verify`, { recoveryCode: fresh[0] })).body.status).toBe('verified');
    await withoutOld.app.close();
  });

  it('without it, nothing made under the old secret passes, and an unreadable enrolment fails without a 500', async () => {
    const old = await madeBefore();
    const t = await restart(new Keys(NEW));
    expect((await post(t, `/v1/challenges/${old.pending}/verify`, { code: old.code })).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    expect(await new TrustTokens(store.challenges, new Keys(NEW), 30).verify(old.token, 'alice', 'd-laptop', clock.now)).toBe(false);
    const byApp = await challenged(t);
    expect(await post(t, `/v1/challenges/${byApp.id}/verify`, { code: totpNow(old.totp) })).toMatchObject({ status: 200, body: { status: 'invalid', attemptsLeft: 4 } });
    expect((await store.audit.query({ kind: 'totp.unreadable' })).length).toBe(1);
    expect((await post(t, `/v1/challenges/${byApp.id}/verify`, { recoveryCode: old.recovery[0] })).body.status).toBe('invalid');
  });

  it('reads RISKGATE_SECRET_PREVIOUS (comma-separated) and refuses a short or orphaned one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-secret-'));
    const env = { RISKGATE_SECRET: NEW.toString('hex'), RISKGATE_SECRET_PREVIOUS: `${OLD.toString('hex')}, ${Buffer.alloc(32, 3).toString('base64')}` };
    const { keys } = resolveSecret(env, dir);
    expect(keys.macs('code', 'x')).toEqual([new Keys(NEW).mac('code', 'x'), new Keys(OLD).mac('code', 'x'), new Keys(Buffer.alloc(32, 3)).mac('code', 'x')]);
    expect(() => resolveSecret({ ...env, RISKGATE_SECRET_PREVIOUS: 'abcd' }, dir)).toThrow(/RISKGATE_SECRET_PREVIOUS: secret 1 holds fewer than 32 bytes/);
    expect(() => resolveSecret({ RISKGATE_SECRET_PREVIOUS: OLD.toString('hex') }, dir)).toThrow(ConfigError);
  });
});
