import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChallengeRecord, PasskeyRecord } from '../src/challenge/model.js';
import { learnProfile } from '../src/profile/profile.js';
import { NO_FAILURES } from '../src/signals/attempts.js';
import type { AuditEntry, Backend, DecisionRecord } from '../src/store/ports.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { nextVerifyState } from '../src/store/verify-attempt.js';
import { AUTH, DAY, HOUR, IP, MINUTE, TestClock, UA, decide, fail, habit, makeApp, observation, type TestApp } from './helpers.js';
import { REDIS_URL, redisBackend, redisSkip, skippedTitle, testPrefix } from './redis-helpers.js';
import { deleteKeysUnder, keysUnder } from './redis-keys.js';
import { STORE_KINDS, describeEachStore, handle, type StoreKind, type World } from './stores.js';

const T0 = observation().time;
const obs = observation;
const inSweden = { place: { country: 'SE', region: 'AB', city: 'Stockholm', tz: 'Europe/Stockholm' }, point: { lat: 59.3, lon: 18.1, radiusKm: 5 } };

const record = (id: string, over: Partial<DecisionRecord> = {}): DecisionRecord => ({
  id,
  time: T0,
  userId: 'alice',
  ip: IP.homeNO,
  requestAction: 'login',
  action: 'challenge',
  score: 60,
  reasons: [{ rule: 'geo.new_country', points: 20, message: 'first login from BR' }],
  shadow: ['geo.shadow_rule'],
  rulesVersion: 'v1@abc',
  observation: obs(),
  ...over,
});

const challenge = (id: string, over: Partial<ChallengeRecord> = {}): ChallengeRecord => ({
  id,
  decisionId: `dec-${id}`,
  userId: 'alice',
  ip: IP.osloNO,
  deviceId: 'd-new-phone',
  channel: 'sms',
  destination: '+4791234567',
  phone: '+4791234567',
  email: 'alice@example.com',
  provider: 'outbox',
  providerRef: null,
  codeHash: 'ffee',
  status: 'pending',
  attempts: 0,
  maxAttempts: 5,
  sends: 1,
  createdAt: T0,
  expiresAt: T0 + 5 * MINUTE,
  verifiedAt: null,
  ...over,
});

const entry = (over: Partial<AuditEntry>): AuditEntry => ({
  time: T0,
  kind: 'failure',
  ref: null,
  userId: 'alice',
  ip: IP.germany,
  action: 'allow',
  score: 0,
  rules: [],
  rulesVersion: 'v1',
  detail: null,
  ...over,
});

/** Two handles on one shared state of a backend (test/stores.ts). */
async function twoHandles(kind: StoreKind): Promise<{ world: World; a: Backend; b: Backend; close(): Promise<void> }> {
  const world = await kind.world();
  return { world, a: await world.open(), b: await world.open(), close: () => world.close() };
}

/** What every backend must do, port by port, run on each of them (test/stores.ts). */
describeEachStore(STORE_KINDS, 'store contract', twoHandles, (w) => {
  const a = handle(() => w.a);
  const b = handle(() => w.b);

  describe('profiles', () => {
    it('knows nothing of an unknown user, decision or learned login', async () => {
      expect(await a.profiles.get('nobody')).toBeNull();
      expect(await a.decisions.get('00000000-0000-4000-8000-000000000000')).toBeNull();
      expect(await a.profiles.unlearn('never-learned')).toBe(false);
    });

    it('learns a decided login once, and every handle sees it', async () => {
      await a.decisions.save(record('dec-1', { action: 'allow' }));
      expect(await a.profiles.learn('alice', 'dec-1', obs())).toBe(true);
      expect(await b.profiles.learn('alice', 'dec-1', obs())).toBe(false);
      expect(await b.profiles.get('alice')).toEqual(learnProfile(null, obs()));
      expect(await b.profiles.learn('alice', 'dec-2', obs({ time: T0 + DAY, deviceId: 'd2' }))).toBe(true);
      const p = (await a.profiles.get('alice'))!;
      expect(p.logins).toBe(2);
      expect(p.devices.map((d) => d.id)).toEqual(['d1', 'd2']);
      expect(await a.profiles.get('bob')).toBeNull();
    });

    it('unlearns exactly what a decision taught, and puts back the last login it displaced', async () => {
      const trip = obs({ time: T0 + DAY, deviceId: 'd-phone', hour: 22, ...inSweden });
      await a.decisions.save(record('home', { action: 'allow' }));
      await a.decisions.save(record('trip', { action: 'allow', time: trip.time, observation: trip }));
      await a.profiles.learn('alice', 'home', obs());
      const before = await a.profiles.get('alice');
      await a.profiles.learn('alice', 'trip', trip);
      expect((await a.profiles.get('alice'))!.last!.country).toBe('SE');

      expect(await b.profiles.unlearn('trip')).toBe(true);
      const after = (await a.profiles.get('alice'))!;
      expect(after.devices).toEqual(before!.devices);
      expect(after.places).toEqual(before!.places);
      expect(after.last).toEqual(before!.last);
      expect(after.hours).toEqual(before!.hours);
      expect(after.logins).toBe(1);
      // Once only; after that the decision may teach again (as a later confirmed_legit would).
      expect(await a.profiles.unlearn('trip')).toBe(false);
      expect(await a.profiles.learn('alice', 'trip', trip)).toBe(true);
    });

    it('loses no update when many logins of one user are learned at once through two handles', async () => {
      const n = 40;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => (i % 2 ? a : b).profiles.learn('alice', `dec-${i}`, obs({ time: T0 + i * MINUTE, deviceId: `d-${i % 5}`, hour: i % 24 }))),
      );
      expect(results.every(Boolean)).toBe(true);
      const p = (await a.profiles.get('alice'))!;
      expect(p.logins).toBe(n);
      expect(p.devices.reduce((sum, d) => sum + d.count, 0)).toBe(n);
      expect(p.hours.reduce((sum, h) => sum + h, 0)).toBe(n);
      expect(p.lastSeen).toBe(T0 + (n - 1) * MINUTE);
    });

    it('refuses a stored profile of a version it does not know, rather than read it as its own', async () => {
      const doc = (v: unknown) => JSON.stringify({ ...learnProfile(null, obs()), v });
      await w.world.writeProfileDoc('from-the-future', doc(3));
      await w.world.writeProfileDoc('unversioned', doc(null));
      await expect(a.profiles.get('from-the-future')).rejects.toThrow('the stored profile of user "from-the-future" has version 3; this riskgate reads versions 1 and 2');
      await expect(b.profiles.learn('from-the-future', 'dec-f', obs())).rejects.toThrow('has version 3');
      await expect(a.profiles.get('unversioned')).rejects.toThrow('has version null');
    });

    it('reads a version 1 profile, learns on it and writes version 2', async () => {
      const { v: _v, keys: _k, addresses: _a, ...rest } = learnProfile(null, obs());
      const v1 = { ...rest, v: 1, devices: rest.devices.map((d) => ({ id: d.id, family: d.family, first: d.first, last: d.last, count: d.count })) };
      await w.world.writeProfileDoc('old', JSON.stringify(v1));
      const read = await a.profiles.get('old');
      expect(read).toMatchObject({ v: 2, keys: [], addresses: [], logins: 1 });
      expect(read!.devices[0]).toMatchObject({ id: 'd1', nets: [], fp: null });
      await a.decisions.save(record('dec-old', { action: 'allow' }));
      expect(await b.profiles.learn('old', 'dec-old', obs({ time: obs().time + 1000 }))).toBe(true);
      expect(await a.profiles.get('old')).toMatchObject({ v: 2, logins: 2 });
    });

    it('lets exactly one of many concurrent learns of the same decision teach', async () => {
      await a.decisions.save(record('same-decision', { action: 'allow' }));
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).profiles.learn('alice', 'same-decision', obs())));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await a.profiles.get('alice'))!.logins).toBe(1);
    });
  });

  describe('decision log and audit trail', () => {
    it('keeps decisions for feedback, readable through every handle, and audits them as kind "decision"', async () => {
      const r = record('6f1c0000-0000-4000-8000-000000000001');
      await a.decisions.save(r);
      expect(await b.decisions.get(r.id)).toEqual(r);
      const audited = await a.audit.query({ ref: r.id });
      expect(audited).toEqual([
        {
          time: T0,
          kind: 'decision',
          ref: r.id,
          userId: 'alice',
          ip: IP.homeNO,
          action: 'challenge',
          score: 60,
          rules: ['geo.new_country'],
          rulesVersion: 'v1@abc',
          detail: expect.objectContaining({ requestAction: 'login', shadow: ['geo.shadow_rule'] }),
        },
      ]);
    });

    it('answers audit queries by user, kind, ref and time, newest first, and prunes by age', async () => {
      await a.audit.append(entry({ time: T0, userId: 'alice' }));
      await a.audit.append(entry({ time: T0 + 1, userId: 'bob' }));
      await a.audit.append(entry({ time: T0 + 2, userId: 'alice', kind: 'feedback', ref: 'dec-9', detail: { outcome: 'confirmed_legit' } }));
      await a.audit.append(entry({ time: T0 + 3, userId: 'alice' }));
      const times = (es: AuditEntry[]) => es.map((e) => e.time - T0);
      expect(times(await a.audit.query({ userId: 'alice' }))).toEqual([3, 2, 0]);
      expect(times(await a.audit.query({ kind: 'failure' }))).toEqual([3, 1, 0]);
      expect(await a.audit.query({ ref: 'dec-9' })).toEqual([entry({ time: T0 + 2, userId: 'alice', kind: 'feedback', ref: 'dec-9', detail: { outcome: 'confirmed_legit' } })]);
      expect(times(await a.audit.query({ since: T0 + 1, until: T0 + 3 }))).toEqual([2, 1]);
      expect(times(await a.audit.query({ limit: 2 }))).toEqual([3, 2]);
      // Retention removes what is older than the cut. A backend may keep the cut's own day
      // whole (PostgreSQL drops day partitions), so the cut here is at midnight.
      const midnight = Math.floor(T0 / DAY) * DAY;
      await a.audit.append(entry({ time: midnight - 1 }));
      await a.audit.append(entry({ time: midnight - 3 * DAY }));
      expect(await a.prune(midnight)).toBe(2);
      expect(times(await a.audit.query({}))).toEqual([3, 2, 1, 0]);
    });
  });

  describe('limit counters', () => {
    it('count atomically: concurrent adds through two handles each see a count of their own', async () => {
      const seen = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).limits.add('contract', 'k', 1, 60)));
      expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      // A point given back, on the other handle; other keys and other limits count apart.
      expect(await b.limits.add('contract', 'k', -1, 60)).toBe(99);
      expect(await a.limits.add('contract', 'other', 1, 60)).toBe(1);
      expect(await a.limits.add('another', 'k', 1, 60)).toBe(1);
    });
  });

  describe('idempotency keys', () => {
    const answer = { status: 200, body: '{"decisionId":"d-1"}' };
    it('claims a key once, even when two handles race; a retry then sees it running, then its answer', async () => {
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).idempotency.claim('scope:k1', 'fp', T0, MINUTE)));
      expect(claims.filter((c) => c.state === 'claimed')).toHaveLength(1);
      expect(claims.filter((c) => c.state === 'running').every((c) => c.state === 'running' && c.fingerprint === 'fp')).toBe(true);
      await a.idempotency.complete('scope:k1', 'fp', answer, T0 + 1000, DAY);
      expect(await b.idempotency.claim('scope:k1', 'fp', T0 + HOUR, MINUTE)).toEqual({ state: 'done', fingerprint: 'fp', answer });
      // Another request with the key learns whose it is, so it can be refused.
      expect(await b.idempotency.claim('scope:k1', 'other', T0 + HOUR, MINUTE)).toMatchObject({ state: 'done', fingerprint: 'fp' });
      // Keys of other scopes are apart.
      expect(await b.idempotency.claim('other-scope:k1', 'other', T0, MINUTE)).toEqual({ state: 'claimed' });
    });

    it('keeps an answer until its time on the injected clock, a claim until its own', async () => {
      await a.idempotency.claim('scope:k2', 'fp', T0, MINUTE);
      await a.idempotency.complete('scope:k2', 'fp', answer, T0, DAY);
      expect((await b.idempotency.claim('scope:k2', 'fp', T0 + DAY - 1, MINUTE)).state).toBe('done');
      expect(await b.idempotency.claim('scope:k2', 'new', T0 + DAY, MINUTE)).toEqual({ state: 'claimed' });
      // A claim whose holder died lapses: the retry runs.
      await a.idempotency.claim('scope:k3', 'fp', T0, MINUTE);
      expect((await b.idempotency.claim('scope:k3', 'fp', T0 + MINUTE - 1, MINUTE)).state).toBe('running');
      expect(await b.idempotency.claim('scope:k3', 'fp', T0 + MINUTE, MINUTE)).toEqual({ state: 'claimed' });
    });

    it('release drops only a claim without an answer, and only its own', async () => {
      await a.idempotency.claim('scope:k4', 'fp', T0, MINUTE);
      await b.idempotency.release('scope:k4', 'other');
      expect((await b.idempotency.claim('scope:k4', 'fp', T0, MINUTE)).state).toBe('running');
      await b.idempotency.release('scope:k4', 'fp');
      expect(await b.idempotency.claim('scope:k4', 'fp', T0, MINUTE)).toEqual({ state: 'claimed' });
      await a.idempotency.complete('scope:k4', 'fp', answer, T0, DAY);
      await a.idempotency.release('scope:k4', 'fp');
      expect((await b.idempotency.claim('scope:k4', 'fp', T0, MINUTE)).state).toBe('done');
      // What expired goes (where the backend does not expire keys by itself).
      const gone = await a.idempotency.expire(T0 + 2 * DAY);
      expect(gone === 0 || gone >= 1).toBe(true);
      expect(await b.idempotency.claim('scope:k4', 'fp', T0 + 2 * DAY, MINUTE)).toEqual({ state: 'claimed' });
    });
  });

  describe('failure counters', () => {
    it('counts failures over sliding windows and distinct users per address, shared by handles', async () => {
      const who = { userId: 'u1', ip: '5.9.0.1', deviceId: 'dev' };
      expect(await a.failures.counts(who, T0)).toEqual(NO_FAILURES);
      for (let i = 0; i < 3; i++) await a.failures.add(who, T0 + i * MINUTE);
      expect(await b.failures.add({ userId: 'u2', ip: '5.9.0.1' }, T0 + 4 * MINUTE)).toMatchObject({ ip_1h: 4, ip_users_1h: 2, user_30m: 1 });
      const now = T0 + 5 * MINUTE;
      const expected = { failed_challenges_24h: 0, user_30m: 3, user_24h: 3, ip_1h: 4, ip_24h: 4, network_1h: 4, network_24h: 4, device_1h: 3, ip_users_1h: 2, ip_users_24h: 2, network_users_1h: 2, network_users_24h: 2 };
      expect(await a.failures.counts(who, now)).toEqual(expected);
      expect(await b.failures.counts(who, now)).toEqual(expected);
      // 40 minutes on (5-minute buckets), the 30-minute window has let them go; the hour has not.
      expect(await a.failures.counts(who, T0 + 40 * MINUTE)).toMatchObject({ user_30m: 0, user_24h: 3, ip_1h: 4, ip_users_1h: 2 });
      // The distinct users of a window are exact: u1's failures ended at +2 min, u2's at +4.
      expect(await a.failures.counts(who, T0 + 63 * MINUTE)).toMatchObject({ ip_users_1h: 1, ip_users_24h: 2 });
      expect(await a.failures.counts({ userId: 'someone-else', ip: '8.8.8.8' }, now)).toEqual(NO_FAILURES);
    });

    it('counts the network too: addresses rotated within an IPv6 /64 or an IPv4 /24 add up', async () => {
      for (const [i, ip] of ['2a01:4f8:10:20::1', '2a01:4f8:10:20:ffff::9', '2a01:4f8:10:20:1:2:3:4'].entries()) await a.failures.add({ userId: `v6-${i}`, ip }, T0 + i * MINUTE);
      expect(await b.failures.counts({ userId: 'x', ip: '2a01:4f8:10:20::77' }, T0 + 5 * MINUTE)).toMatchObject({ ip_1h: 0, ip_users_1h: 0, network_1h: 3, network_24h: 3, network_users_1h: 3, network_users_24h: 3 });
      // The next /64 is another network.
      expect(await b.failures.counts({ userId: 'x', ip: '2a01:4f8:10:21::1' }, T0 + 5 * MINUTE)).toEqual(NO_FAILURES);
      for (let i = 0; i < 4; i++) await b.failures.add({ userId: `v4-${i % 2}`, ip: `5.9.7.${10 + i}` }, T0 + i * MINUTE);
      expect(await a.failures.add({ userId: 'v4-9', ip: '5.9.7.200' }, T0 + 70 * MINUTE)).toMatchObject({ ip_1h: 1, ip_users_24h: 1, network_1h: 1, network_24h: 5, network_users_1h: 1, network_users_24h: 3 });
      expect(await a.failures.counts({ userId: 'x', ip: '5.9.8.1' }, T0 + 70 * MINUTE)).toEqual(NO_FAILURES);
    });

    it("counts the user's wrong codes apart from failed passwords, read with a login's counts", async () => {
      await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).failures.addWrongCode('coded', T0 + i * MINUTE)));
      await a.failures.add({ userId: 'coded', ip: '5.9.0.3' }, T0 + 20 * MINUTE);
      expect(await b.failures.counts({ userId: 'coded', ip: '8.8.8.8' }, T0 + HOUR)).toMatchObject({ failed_challenges_24h: 12, user_24h: 1, ip_1h: 0 });
      expect(await a.failures.add({ userId: 'coded', ip: '5.9.0.3' }, T0 + HOUR)).toMatchObject({ failed_challenges_24h: 12, user_24h: 2 });
      expect(await a.failures.counts({ userId: 'someone-else', ip: '5.9.0.3' }, T0 + HOUR)).toMatchObject({ failed_challenges_24h: 0 });
      // A day on, the wrong codes are forgotten.
      expect(await b.failures.counts({ userId: 'coded', ip: '8.8.8.8' }, T0 + 26 * HOUR)).toEqual(NO_FAILURES);
    });

    it('never loses a failure counted through two handles at once', async () => {
      const who = { userId: 'victim', ip: '5.9.0.9' };
      await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).failures.add({ ...who, userId: `user-${i % 20}` }, T0 + i)));
      expect(await a.failures.counts({ userId: 'user-0', ip: who.ip }, T0 + MINUTE)).toMatchObject({ ip_1h: 60, ip_users_1h: 20, network_1h: 60, network_users_1h: 20, user_30m: 3 });
    });

    it('reads every window on the injected clock, never on real time', async () => {
      // A replay runs days of failures within a second of real time: it must count as the server would.
      await a.failures.add({ userId: 'u1', ip: '5.9.0.1' }, T0);
      expect(await a.failures.add({ userId: 'u1', ip: '5.9.0.1' }, T0 + 2 * HOUR)).toMatchObject({ ip_users_1h: 1, ip_1h: 1, ip_24h: 2 });
      expect(await a.failures.add({ userId: 'u1', ip: '5.9.0.1' }, T0 + 2 * HOUR + MINUTE)).toMatchObject({ ip_users_1h: 1, ip_1h: 2 });
      expect(await a.failures.counts({ userId: 'u1', ip: '5.9.0.1' }, T0 + 48 * HOUR)).toEqual(NO_FAILURES);
    });
  });

  describe('challenge state', () => {
    const all = <T,>(n: number, f: (s: Backend, i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i % 2 ? a : b, i)));

    it('keeps a challenge readable through every handle; attempts count, a resend keeps them, a verified one answers "used"', async () => {
      const c = challenge('c-1');
      await a.challenges.createChallenge(c);
      expect(await b.challenges.getChallenge('c-1')).toEqual(c);
      expect(await b.challenges.getChallenge('c-none')).toBeNull();
      expect(await b.challenges.recordVerifyAttempt('c-none', 'invalid', T0)).toBeNull();
      expect(await b.challenges.recordVerifyAttempt('c-1', 'invalid', T0 + 1)).toEqual({ status: 'invalid', attempts: 1, maxAttempts: 5, changed: true });
      const resent = { channel: 'email' as const, destination: 'alice@example.com', provider: 'mail', providerRef: null, codeHash: 'ab12', expiresAt: T0 + 10 * MINUTE };
      expect(await a.challenges.recordDelivery('c-1', resent)).toBe(true);
      expect(await b.challenges.getChallenge('c-1')).toEqual({ ...c, ...resent, attempts: 1, sends: 2 });
      expect(await a.challenges.recordVerifyAttempt('c-1', 'verified', T0 + 6 * MINUTE)).toEqual({ status: 'verified', attempts: 1, maxAttempts: 5, changed: true });
      expect(await b.challenges.recordVerifyAttempt('c-1', 'verified', T0 + 6 * MINUTE)).toEqual({ status: 'used', attempts: 1, maxAttempts: 5, changed: false });
      expect(await b.challenges.getChallenge('c-1')).toMatchObject({ status: 'verified', verifiedAt: T0 + 6 * MINUTE });
      expect(await b.challenges.recordDelivery('c-1', resent)).toBe(false);
      expect(await a.challenges.recordDelivery('c-none', resent)).toBe(false);
    });

    it('never lets concurrent attempts through two handles pass maxAttempts, nor verify twice', async () => {
      await a.challenges.createChallenge(challenge('c-wrong'));
      const wrong = await all(30, (s) => s.challenges.recordVerifyAttempt('c-wrong', 'invalid', T0 + 1));
      expect(wrong.filter((o) => o!.status === 'invalid')).toHaveLength(4);
      expect(wrong.filter((o) => o!.status === 'locked')).toHaveLength(26);
      // Five answers were counted (the fifth locked it); the other 25 only read the lock.
      expect(wrong.filter((o) => o!.changed)).toHaveLength(5);
      expect(await b.challenges.getChallenge('c-wrong')).toMatchObject({ status: 'locked', attempts: 5 });

      await a.challenges.createChallenge(challenge('c-right'));
      const right = await all(10, (s) => s.challenges.recordVerifyAttempt('c-right', 'verified', T0 + 1));
      expect(right.map((o) => o!.status).sort()).toEqual(['used', 'used', 'used', 'used', 'used', 'used', 'used', 'used', 'used', 'verified']);
      expect(right.filter((o) => o!.changed).map((o) => o!.status)).toEqual(['verified']);
    });

    it('applies nextVerifyState, the rules every store shares, in every state: what it answers and what it keeps', async () => {
      const cases = (['pending', 'verified', 'locked', 'expired'] as const).flatMap((status) =>
        [0, 3, 4, 5].flatMap((attempts) =>
          [false, true].flatMap((late) =>
            (['verified', 'invalid', 'locked', 'expired'] as const).map((result) => {
              const c = challenge(`s-${status}-${attempts}-${late ? 'late' : 'due'}-${result}`, { status, attempts, verifiedAt: status === 'verified' ? T0 + 1 : null });
              return { c, result, now: late ? c.expiresAt : c.expiresAt - 1 };
            }),
          ),
        ),
      );
      await Promise.all(cases.map(({ c }) => a.challenges.createChallenge(c)));
      const got = await Promise.all(cases.map(async ({ c, result, now }) => ({ outcome: await b.challenges.recordVerifyAttempt(c.id, result, now), kept: await a.challenges.getChallenge(c.id) })));
      const want = cases.map(({ c, result, now }) => {
        const next = nextVerifyState(c, result, now);
        return { outcome: next.outcome, kept: { ...c, status: next.status, attempts: next.attempts, verifiedAt: next.verifiedAt } };
      });
      expect(got).toEqual(want);
    });

    it('expires a late answer, and sweeps each due pending challenge once, whoever sweeps', async () => {
      await a.challenges.createChallenge(challenge('late'));
      expect(await b.challenges.recordVerifyAttempt('late', 'verified', T0 + 5 * MINUTE)).toMatchObject({ status: 'expired' });
      for (const id of ['due-1', 'due-2', 'due-3', 'resent', 'answered']) await a.challenges.createChallenge(challenge(id));
      await a.challenges.createChallenge(challenge('not-due', { expiresAt: T0 + HOUR }));
      await b.challenges.recordDelivery('resent', { channel: 'sms', destination: '+4791234567', provider: 'outbox', providerRef: null, codeHash: 'cd34', expiresAt: T0 + HOUR });
      await b.challenges.recordVerifyAttempt('answered', 'verified', T0 + MINUTE);
      const swept = (await all(4, (s) => s.challenges.expireChallenges(T0 + 10 * MINUTE, 2))).flat();
      expect(swept.map((c) => c.id).sort()).toEqual(['due-1', 'due-2', 'due-3']);
      expect(swept.every((c) => c.status === 'expired')).toBe(true);
      expect(await a.challenges.expireChallenges(T0 + 10 * MINUTE, 100)).toEqual([]);
      expect(await b.challenges.getChallenge('due-1')).toMatchObject({ status: 'expired' });
      expect(await b.challenges.getChallenge('resent')).toMatchObject({ status: 'pending' });
      expect((await a.challenges.expireChallenges(T0 + 2 * HOUR, 100)).map((c) => c.id).sort()).toEqual(['not-due', 'resent']);
    });

    it('accepts each TOTP step once, only forward, whichever handle asks; reseals by compare-and-set', async () => {
      expect(await a.challenges.getTotp('alice')).toBeNull();
      expect(await a.challenges.useTotpStep('alice', 5)).toBe(false);
      const rec = { userId: 'alice', secretEnc: 'v1.sealed', confirmed: false, lastStep: 0, createdAt: T0 };
      await a.challenges.putTotp(rec);
      expect(await b.challenges.getTotp('alice')).toEqual(rec);
      const once = await all(10, (s) => s.challenges.useTotpStep('alice', 100));
      expect(once.filter(Boolean)).toHaveLength(1);
      expect(await a.challenges.useTotpStep('alice', 99)).toBe(false);
      expect(await a.challenges.useTotpStep('alice', 101)).toBe(true);
      await b.challenges.putTotp({ ...rec, confirmed: true, lastStep: 101 });
      expect(await a.challenges.getTotp('alice')).toEqual({ ...rec, confirmed: true, lastStep: 101 });
      // A reseal replaces the sealed secret only if it is still the one read, and nothing else.
      const reseals = await all(6, (s, i) => s.challenges.resealTotp('alice', 'v1.sealed', `v1.new-${i}`));
      expect(reseals.filter(Boolean)).toHaveLength(1);
      expect(await a.challenges.resealTotp('bob', 'v1.sealed', 'v1.x')).toBe(false);
      expect(await b.challenges.getTotp('alice')).toMatchObject({ secretEnc: expect.stringMatching(/^v1\.new-\d$/), confirmed: true, lastStep: 101 });
      expect(await b.challenges.deleteTotp('alice')).toBe(true);
      expect(await a.challenges.deleteTotp('alice')).toBe(false);
      expect(await a.challenges.getTotp('alice')).toBeNull();
    });

    it('spends a recovery code once under concurrency; a new set replaces the old', async () => {
      await a.challenges.replaceRecoveryCodes('alice', ['h1', 'h2', 'h3'], T0);
      const spent = await all(10, (s) => s.challenges.useRecoveryCode('alice', 'h1', T0));
      expect(spent.filter(Boolean)).toHaveLength(1);
      expect(await b.challenges.useRecoveryCode('bob', 'h2', T0)).toBe(false);
      await b.challenges.replaceRecoveryCodes('alice', ['h4'], T0 + 1);
      expect(await a.challenges.useRecoveryCode('alice', 'h2', T0)).toBe(false);
      expect(await a.challenges.useRecoveryCode('alice', 'h4', T0)).toBe(true);
      expect(await a.challenges.useRecoveryCode('alice', 'h4', T0)).toBe(false);
    });

    it('lists trusted devices until they expire, newest first, and revokes one or all', async () => {
      const dev = (id: string, createdAt: number, days = 30) => ({ id, userId: 'alice', deviceId: `d-${id}`, label: 'Chrome', ip: IP.homeNO, createdAt, expiresAt: createdAt + days * DAY });
      await a.challenges.addTrustedDevice(dev('t1', T0));
      await b.challenges.addTrustedDevice(dev('t2', T0 + HOUR));
      await a.challenges.addTrustedDevice(dev('short', T0 + 2 * HOUR, 1));
      expect((await b.challenges.listTrustedDevices('alice', T0 + 3 * HOUR)).map((d) => d.id)).toEqual(['short', 't2', 't1']);
      expect((await b.challenges.listTrustedDevices('alice', T0 + 5 * DAY)).map((d) => d.id)).toEqual(['t2', 't1']);
      expect(await a.challenges.listTrustedDevices('bob', T0)).toEqual([]);
      expect(await b.challenges.listTrustedDevices('alice', T0 + 3 * HOUR)).toContainEqual(dev('t1', T0));
      expect(await b.challenges.revokeTrustedDevices('alice', 't1')).toBe(1);
      expect(await a.challenges.revokeTrustedDevices('alice', 't1')).toBe(0);
      expect((await a.challenges.listTrustedDevices('alice', T0 + 5 * DAY)).map((d) => d.id)).toEqual(['t2']);
      expect(await a.challenges.revokeTrustedDevices('alice')).toBeGreaterThanOrEqual(1);
      expect(await b.challenges.listTrustedDevices('alice', T0 + 5 * DAY)).toEqual([]);
    });
  });

  describe('passkeys', () => {
    const key = (id: string, over: Partial<PasskeyRecord> = {}): PasskeyRecord => ({
      id,
      userId: 'alice',
      credentialId: `cred-${id}`,
      publicKey: 'pQECAyYgASFYIA',
      counter: 0,
      transports: ['internal', 'hybrid'],
      label: 'Chrome on Linux',
      createdAt: T0,
      lastUsedAt: null,
      clonedAt: null,
      ...over,
    });

    it('spends a registration challenge once, on any handle, and never after it expired', async () => {
      await a.passkeys.addRegistration('alice', 'ch-1', T0, T0 + 5 * MINUTE);
      await a.passkeys.addRegistration('alice', 'ch-2', T0, T0 + 5 * MINUTE);
      await a.passkeys.addRegistration('alice', 'ch-late', T0, T0 + 5 * MINUTE);
      expect(await b.passkeys.takeRegistration('bob', 'ch-1', T0)).toBe(false);
      expect(await b.passkeys.takeRegistration('alice', 'ch-none', T0)).toBe(false);
      const takes = await Promise.all([a, b, a, b].map((s) => s.passkeys.takeRegistration('alice', 'ch-1', T0 + MINUTE)));
      expect(takes.filter(Boolean)).toHaveLength(1);
      expect(await b.passkeys.takeRegistration('alice', 'ch-2', T0 + 5 * MINUTE - 1)).toBe(true);
      expect(await b.passkeys.takeRegistration('alice', 'ch-late', T0 + 5 * MINUTE)).toBe(false);
    });

    it('keeps passkeys per user, oldest first; a credential id is registered once, to one user; deleting frees it', async () => {
      expect(await a.passkeys.addPasskey(key('k1'))).toBe(true);
      expect(await b.passkeys.addPasskey(key('k2', { createdAt: T0 + HOUR, transports: [] }))).toBe(true);
      expect(await b.passkeys.addPasskey(key('k3', { userId: 'bob', credentialId: 'cred-k1' }))).toBe(false);
      expect(await a.passkeys.addPasskey(key('k4', { credentialId: 'cred-k2' }))).toBe(false);
      expect(await b.passkeys.listPasskeys('alice')).toEqual([key('k1'), key('k2', { createdAt: T0 + HOUR, transports: [] })]);
      expect(await a.passkeys.listPasskeys('bob')).toEqual([]);
      expect(await a.passkeys.deletePasskey('bob', 'k1')).toBe(false);
      expect(await b.passkeys.deletePasskey('alice', 'k1')).toBe(true);
      expect(await a.passkeys.deletePasskey('alice', 'k1')).toBe(false);
      expect((await a.passkeys.listPasskeys('alice')).map((k) => k.id)).toEqual(['k2']);
      expect(await a.passkeys.addPasskey(key('k5', { userId: 'bob', credentialId: 'cred-k1' }))).toBe(true);
      expect((await b.passkeys.listPasskeys('bob')).map((k) => k.id)).toEqual(['k5']);
    });

    it('marks a passkey cloned once (the first time stays), and tells the earliest mark of the user; deleting the passkey drops it', async () => {
      await a.passkeys.addPasskey(key('k1'));
      await a.passkeys.addPasskey(key('k2', { credentialId: 'cred-2' }));
      expect(await b.passkeys.clonedAt('alice')).toBeNull();
      expect(await b.passkeys.markCloned('alice', 'k2', T0 + 5)).toBe(true);
      expect(await a.passkeys.markCloned('alice', 'k2', T0 + 9)).toBe(true);
      expect(await a.passkeys.markCloned('bob', 'k1', T0 + 9)).toBe(false);
      expect(await a.passkeys.markCloned('alice', 'k-none', T0 + 9)).toBe(false);
      expect(await a.passkeys.clonedAt('alice')).toBe(T0 + 5);
      expect(await a.passkeys.clonedAt('bob')).toBeNull();
      expect((await b.passkeys.listPasskeys('alice')).map((k) => k.clonedAt)).toEqual([null, T0 + 5]);
      await b.passkeys.markCloned('alice', 'k1', T0 + 2);
      expect(await a.passkeys.clonedAt('alice')).toBe(T0 + 2);
      await a.passkeys.deletePasskey('alice', 'k1');
      await a.passkeys.deletePasskey('alice', 'k2');
      expect(await b.passkeys.clonedAt('alice')).toBeNull();
    });

    it('moves a counter only forward, once per value under concurrency; 0 stays usable for authenticators without a counter', async () => {
      await a.passkeys.addPasskey(key('k1', { counter: 5 }));
      await a.passkeys.addPasskey(key('k0', { credentialId: 'cred-zero' }));
      expect(await b.passkeys.useCounter('alice', 'k1', 5, T0 + 1)).toBe(false);
      expect(await b.passkeys.useCounter('alice', 'k1', 4, T0 + 1)).toBe(false);
      expect(await b.passkeys.useCounter('bob', 'k1', 9, T0 + 1)).toBe(false);
      expect(await b.passkeys.useCounter('alice', 'k-none', 9, T0 + 1)).toBe(false);
      const uses = await Promise.all([a, b, a, b].map((s) => s.passkeys.useCounter('alice', 'k1', 6, T0 + 2)));
      expect(uses.filter(Boolean)).toHaveLength(1);
      expect(await a.passkeys.useCounter('alice', 'k0', 0, T0 + 3)).toBe(true);
      expect(await b.passkeys.useCounter('alice', 'k0', 0, T0 + 4)).toBe(true);
      const list = await a.passkeys.listPasskeys('alice');
      // Same creation time: by id.
      expect(list.map((k) => [k.id, k.counter, k.lastUsedAt])).toEqual([
        ['k0', 0, T0 + 4],
        ['k1', 6, T0 + 2],
      ]);
    });
  });

  describe('under the engine and the HTTP API', () => {
    let t: TestApp;
    const home = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' };
    const phone = { userId: 'alice', ip: IP.osloNO, userAgent: UA.safariIphone, deviceId: 'd-new-phone' };
    beforeEach(async () => {
      t = await makeApp({ store: w.a, clock: new TestClock() });
      await habit(t, home);
    });
    afterEach(() => t.app.close());

    it('challenges after five failures in 30 minutes, and lets go once the window has moved on', async () => {
      // Alice's own typos, at home: stepped up, never blocked.
      for (let i = 0; i < 5; i++) {
        expect((await fail(t, home)).body.blocked).toBe(false);
        t.clock.advance(4 * MINUTE);
      }
      expect((await decide(t, home)).body.reasons.map((r: { rule: string }) => r.rule)).toEqual(['attempts.user_failures']);
      t.clock.advance(HOUR);
      expect((await decide(t, home)).body).toMatchObject({ action: 'allow', reasons: [] });
    });

    it('learns a passed step-up once and unlearns it on confirmed fraud', async () => {
      const d = await decide(t, phone);
      expect(d.body.action).toBe('challenge');
      const feedback = (outcome: string) => t.app.inject({ method: 'POST', url: `/v1/decisions/${d.body.decisionId}/feedback`, headers: AUTH, payload: { outcome } });
      const devices = async () => (await b.profiles.get('alice'))!.devices.map((x) => x.id);
      expect((await feedback('passed_challenge')).json()).toMatchObject({ learned: true });
      expect((await feedback('passed_challenge')).json()).toMatchObject({ learned: false });
      expect(await devices()).toEqual(['d-alice-pc', 'd-new-phone']);
      expect((await feedback('confirmed_fraud')).json()).toMatchObject({ unlearned: true });
      expect(await devices()).toEqual(['d-alice-pc']);
      t.clock.advance(HOUR);
      expect((await decide(t, phone)).body.action).toBe('challenge');
    });
  });
});

describe.skipIf(redisSkip !== null)(skippedTitle('Redis keys', redisSkip), () => {
  it('keeps everything under its prefix, and gives a TTL to every key but the per-user ones and the pending index', async () => {
    const prefix = testPrefix();
    const s = await redisBackend(prefix);
    try {
      await s.decisions.save(record('dec-1', { action: 'allow' }));
      await s.profiles.learn('alice', 'dec-1', obs());
      await s.failures.add({ userId: 'alice', ip: IP.germany }, T0);
      await s.limits.add('per_user', 'alice', 1, 3600);
      await s.challenges.createChallenge(challenge('c-1'));
      await s.challenges.recordDelivery('c-1', { channel: 'email', destination: 'a@example.com', provider: 'mail', providerRef: null, codeHash: 'ab', expiresAt: T0 + DAY });
      await s.challenges.putTotp({ userId: 'alice', secretEnc: 'v1.x', confirmed: true, lastStep: 1, createdAt: T0 });
      await s.challenges.replaceRecoveryCodes('alice', ['h1'], T0);
      await s.challenges.addTrustedDevice({ id: 't1', userId: 'alice', deviceId: 'd1', label: '', ip: IP.homeNO, createdAt: T0, expiresAt: T0 + 30 * DAY });
      await s.passkeys.addPasskey({ id: 'k1', userId: 'alice', credentialId: 'cred-1', publicKey: 'pk', counter: 0, transports: [], label: '', createdAt: T0, lastUsedAt: null, clonedAt: null });
      await s.passkeys.addRegistration('alice', 'ch', T0, T0 + 5 * MINUTE);
      await s.idempotency.claim('scope:k', 'fp', T0, MINUTE);
      await s.idempotency.claim('scope:k2', 'fp', T0, MINUTE);
      await s.idempotency.complete('scope:k2', 'fp', { status: 200, body: '{}' }, T0, DAY);
      const keys: Record<string, number> = {};
      for (const k of await keysUnder(s.client, prefix)) keys[k.slice(prefix.length)] = await s.client.pttl(k);
      const ttlDays = (k: string) => Math.round(keys[k]! / DAY);
      // The documented layout (docs/redis.md).
      expect(keys['p:alice']).toBe(-1);
      expect(ttlDays('d:dec-1')).toBe(90);
      expect(ttlDays('l:dec-1')).toBe(90);
      const counters = Object.keys(keys).filter((k) => /^(f|fu|rl):/.test(k));
      expect(counters.sort()).toEqual(['f:i:' + IP.germany, 'f:n:5.9.0.0/24', 'f:u:alice', 'fu:5.9.0.0/24', 'fu:' + IP.germany, 'rl:per_user:alice']);
      for (const k of counters) expect(keys[k]).toBeGreaterThan(0);
      // A challenge lives the audit retention past its expiry, which a resend moved a day on; trust as long as the token.
      expect(ttlDays('c:c-1')).toBe(91);
      expect(ttlDays('td:alice')).toBe(30);
      expect([keys['t:alice'], keys['r:alice'], keys.cx, keys['pk:alice'], keys['pkc:cred-1']]).toEqual([-1, -1, -1, -1, -1]);
      expect(Math.round(keys['pr:alice:ch']! / MINUTE)).toBe(5);
      // An idempotency claim lives as long as the claim, an answer a day.
      expect(Math.round(keys['i:scope:k']! / MINUTE)).toBe(1);
      expect(ttlDays('i:scope:k2')).toBe(1);
      expect(Object.keys(keys).every((k) => /^(p|d|l|f|fu|rl|c|t|r|td|pk|pkc|pr|i):/.test(k) || k === 'cx')).toBe(true);
    } finally {
      await s.close();
      await deleteKeysUnder(REDIS_URL, prefix);
    }
  });
});

describe('SQLite failure counts', () => {
  it('survive a restart: counted in memory, kept in the failure tables, restored at open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-restart-'));
    const path = join(dir, 'riskgate.db');
    const first = new SqliteBackend({ path });
    for (let i = 0; i < 4; i++) await first.failures.add({ userId: `u${i % 2}`, ip: '5.9.0.1', deviceId: 'dev' }, T0 + i * MINUTE);
    for (let i = 0; i < 3; i++) await first.failures.addWrongCode('u0', T0 + i * MINUTE);
    const before = await first.failures.counts({ userId: 'u0', ip: '5.9.0.1', deviceId: 'dev' }, T0 + 5 * MINUTE);
    await first.close();
    const second = new SqliteBackend({ path });
    expect(await second.failures.counts({ userId: 'u0', ip: '5.9.0.1', deviceId: 'dev' }, T0 + 5 * MINUTE)).toEqual(before);
    expect(before).toMatchObject({ user_30m: 2, ip_1h: 4, device_1h: 4, ip_users_1h: 2, network_users_1h: 2, failed_challenges_24h: 3 });
    await second.close();
    await rm(dir, { recursive: true, force: true });
  });
});
