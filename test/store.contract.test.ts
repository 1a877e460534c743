import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { learnProfile } from '../src/profile/profile.js';
import { NO_FAILURES } from '../src/signals/attempts.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { ChallengeRecord } from '../src/challenge/model.js';
import type { AuditEntry, DecisionRecord, Store } from '../src/store/store.js';
import { deleteKeysUnder, keysUnder } from '../src/store/redis.js';
import { AUTH, DAY, HOUR, IP, MINUTE, TestClock, UA, decide, fail, habit, makeApp, observation, type TestApp } from './helpers.js';
import { REDIS_URL, redisSkip, redisStore, skippedTitle, testPrefix } from './redis-helpers.js';
import { STORE_KINDS, type World } from './stores.js';

/** What every store must do, run on each of them (test/stores.ts). */
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

for (const kind of STORE_KINDS) {
  describe.skipIf(kind.skip !== null)(skippedTitle(`store contract: ${kind.name}`, kind.skip), () => {
    let world: World;
    let a: Store;
    let b: Store;
    beforeEach(async () => {
      world = await kind.world();
      a = await world.open();
      b = await world.open();
    });
    afterEach(() => world.close());

    it('knows nothing of an unknown user, decision or learned login', async () => {
      expect(await a.getProfile('nobody')).toBeNull();
      expect(await a.getDecision('00000000-0000-4000-8000-000000000000')).toBeNull();
      expect(await a.unlearn('never-learned')).toBe(false);
    });

    it('learns a decided login once, and every handle sees it', async () => {
      await a.saveDecision(record('dec-1', { action: 'allow' }));
      expect(await a.learn('alice', 'dec-1', obs())).toBe(true);
      expect(await b.learn('alice', 'dec-1', obs())).toBe(false);
      expect(await b.getProfile('alice')).toEqual(learnProfile(null, obs()));
      expect(await b.learn('alice', 'dec-2', obs({ time: T0 + DAY, deviceId: 'd2' }))).toBe(true);
      const p = (await a.getProfile('alice'))!;
      expect(p.logins).toBe(2);
      expect(p.devices.map((d) => d.id)).toEqual(['d1', 'd2']);
      expect(await a.getProfile('bob')).toBeNull();
    });

    it('unlearns exactly what a decision taught, and puts back the last login it displaced', async () => {
      const trip = obs({ time: T0 + DAY, deviceId: 'd-phone', hour: 22, ...inSweden });
      await a.saveDecision(record('home', { action: 'allow' }));
      await a.saveDecision(record('trip', { action: 'allow', time: trip.time, observation: trip }));
      await a.learn('alice', 'home', obs());
      const before = await a.getProfile('alice');
      await a.learn('alice', 'trip', trip);
      expect((await a.getProfile('alice'))!.last!.country).toBe('SE');

      expect(await b.unlearn('trip')).toBe(true);
      const after = (await a.getProfile('alice'))!;
      expect(after.devices).toEqual(before!.devices);
      expect(after.places).toEqual(before!.places);
      expect(after.last).toEqual(before!.last);
      expect(after.hours).toEqual(before!.hours);
      expect(after.logins).toBe(1);
      // Once only; after that the decision may teach again (as a later confirmed_legit would).
      expect(await a.unlearn('trip')).toBe(false);
      expect(await a.learn('alice', 'trip', trip)).toBe(true);
    });

    it('loses no update when many logins of one user are learned at once through two handles', async () => {
      const n = 40;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => (i % 2 ? a : b).learn('alice', `dec-${i}`, obs({ time: T0 + i * MINUTE, deviceId: `d-${i % 5}`, hour: i % 24 }))),
      );
      expect(results.every(Boolean)).toBe(true);
      const p = (await a.getProfile('alice'))!;
      expect(p.logins).toBe(n);
      expect(p.devices.reduce((sum, d) => sum + d.count, 0)).toBe(n);
      expect(p.hours.reduce((sum, h) => sum + h, 0)).toBe(n);
      expect(p.lastSeen).toBe(T0 + (n - 1) * MINUTE);
    });

    it('lets exactly one of many concurrent learns of the same decision teach', async () => {
      await a.saveDecision(record('same-decision', { action: 'allow' }));
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).learn('alice', 'same-decision', obs())));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await a.getProfile('alice'))!.logins).toBe(1);
    });

    it('keeps decisions for feedback, readable through every handle, and audits them as kind "decision"', async () => {
      const r = record('6f1c0000-0000-4000-8000-000000000001');
      await a.saveDecision(r);
      expect(await b.getDecision(r.id)).toEqual(r);
      const audited = await a.queryAudit({ ref: r.id });
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
      await a.audit(entry({ time: T0, userId: 'alice' }));
      await a.audit(entry({ time: T0 + 1, userId: 'bob' }));
      await a.audit(entry({ time: T0 + 2, userId: 'alice', kind: 'feedback', ref: 'dec-9', detail: { outcome: 'confirmed_legit' } }));
      await a.audit(entry({ time: T0 + 3, userId: 'alice' }));
      const times = (es: AuditEntry[]) => es.map((e) => e.time - T0);
      expect(times(await a.queryAudit({ userId: 'alice' }))).toEqual([3, 2, 0]);
      expect(times(await a.queryAudit({ kind: 'failure' }))).toEqual([3, 1, 0]);
      expect(await a.queryAudit({ ref: 'dec-9' })).toEqual([entry({ time: T0 + 2, userId: 'alice', kind: 'feedback', ref: 'dec-9', detail: { outcome: 'confirmed_legit' } })]);
      expect(times(await a.queryAudit({ since: T0 + 1, until: T0 + 3 }))).toEqual([2, 1]);
      expect(times(await a.queryAudit({ limit: 2 }))).toEqual([3, 2]);
      expect(await a.prune(T0 + 2)).toBe(2);
      expect(times(await a.queryAudit({}))).toEqual([3, 2]);
    });

    it('counts with its limiters atomically: concurrent penalties through two handles each see a distinct count', async () => {
      const la = a.limiter('contract', 60);
      const lb = b.limiter('contract', 60);
      const seen = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? la : lb).penalty('k', 1).then((r) => r.consumedPoints)));
      expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect((await la.get('k'))?.consumedPoints).toBe(100);
      expect(await lb.get('unknown')).toBeNull();
      await la.set('gate', 1, 60);
      expect((await lb.get('gate'))?.consumedPoints).toBe(1);
    });

    it('counts failures over sliding windows and distinct users per address, shared by handles', async () => {
      const who = { userId: 'u1', ip: '5.9.0.1', deviceId: 'dev' };
      expect(await a.failureCounts(who, T0)).toEqual(NO_FAILURES);
      for (let i = 0; i < 3; i++) await a.addFailure(who, T0 + i * MINUTE);
      expect(await b.addFailure({ userId: 'u2', ip: '5.9.0.1' }, T0 + 4 * MINUTE)).toMatchObject({ ip_1h: 4, ip_users_1h: 2, user_30m: 1 });
      const now = T0 + 5 * MINUTE;
      const expected = { user_30m: 3, user_24h: 3, ip_1h: 4, ip_24h: 4, device_1h: 3, ip_users_1h: 2, ip_users_24h: 2 };
      expect(await a.failureCounts(who, now)).toEqual(expected);
      expect(await b.failureCounts(who, now)).toEqual(expected);
      // 40 minutes on (5-minute buckets), the 30-minute window has let them go; the hour has not.
      expect(await a.failureCounts(who, T0 + 40 * MINUTE)).toMatchObject({ user_30m: 0, user_24h: 3, ip_1h: 4, ip_users_1h: 2 });
      // The distinct users of a window are exact: u1's failures ended at +2 min, u2's at +4.
      expect(await a.failureCounts(who, T0 + 63 * MINUTE)).toMatchObject({ ip_users_1h: 1, ip_users_24h: 2 });
      expect(await a.failureCounts({ userId: 'someone-else', ip: '8.8.8.8' }, now)).toEqual(NO_FAILURES);
    });

    it('never loses a failure counted through two handles at once', async () => {
      const who = { userId: 'victim', ip: '5.9.0.9' };
      await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).addFailure({ ...who, userId: `user-${i % 20}` }, T0 + i)));
      expect(await a.failureCounts({ userId: 'user-0', ip: who.ip }, T0 + MINUTE)).toMatchObject({ ip_1h: 60, ip_users_1h: 20, user_30m: 3 });
    });

    it('reads every window on the injected clock, never on real time', async () => {
      // A replay runs days of failures within a second of real time: it must count as the server would.
      await a.addFailure({ userId: 'u1', ip: '5.9.0.1' }, T0);
      expect(await a.addFailure({ userId: 'u1', ip: '5.9.0.1' }, T0 + 2 * HOUR)).toMatchObject({ ip_users_1h: 1, ip_1h: 1, ip_24h: 2 });
      expect(await a.addFailure({ userId: 'u1', ip: '5.9.0.1' }, T0 + 2 * HOUR + MINUTE)).toMatchObject({ ip_users_1h: 1, ip_1h: 2 });
      expect(await a.failureCounts({ userId: 'u1', ip: '5.9.0.1' }, T0 + 48 * HOUR)).toEqual(NO_FAILURES);
    });

    describe('challenge state', () => {
      const all = <T,>(n: number, f: (s: Store, i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i % 2 ? a : b, i)));

      it('keeps a challenge readable through every handle; attempts count, a resend keeps them, a verified one answers "used"', async () => {
        const c = challenge('c-1');
        await a.createChallenge(c);
        expect(await b.getChallenge('c-1')).toEqual(c);
        expect(await b.getChallenge('c-none')).toBeNull();
        expect(await b.recordVerifyAttempt('c-none', 'invalid', T0)).toBeNull();
        expect(await b.recordVerifyAttempt('c-1', 'invalid', T0 + 1)).toEqual({ status: 'invalid', attempts: 1, maxAttempts: 5 });
        const resent = { channel: 'email' as const, destination: 'alice@example.com', provider: 'mail', providerRef: null, codeHash: 'ab12', expiresAt: T0 + 10 * MINUTE };
        expect(await a.recordDelivery('c-1', resent)).toBe(true);
        expect(await b.getChallenge('c-1')).toEqual({ ...c, ...resent, attempts: 1, sends: 2 });
        expect(await a.recordVerifyAttempt('c-1', 'verified', T0 + 6 * MINUTE)).toEqual({ status: 'verified', attempts: 1, maxAttempts: 5 });
        expect(await b.recordVerifyAttempt('c-1', 'verified', T0 + 6 * MINUTE)).toEqual({ status: 'used', attempts: 1, maxAttempts: 5 });
        expect(await b.getChallenge('c-1')).toMatchObject({ status: 'verified', verifiedAt: T0 + 6 * MINUTE });
        expect(await b.recordDelivery('c-1', resent)).toBe(false);
        expect(await a.recordDelivery('c-none', resent)).toBe(false);
      });

      it('never lets concurrent attempts through two handles pass maxAttempts, nor verify twice', async () => {
        await a.createChallenge(challenge('c-wrong'));
        const wrong = await all(30, (s) => s.recordVerifyAttempt('c-wrong', 'invalid', T0 + 1));
        expect(wrong.filter((o) => o!.status === 'invalid')).toHaveLength(4);
        expect(wrong.filter((o) => o!.status === 'locked')).toHaveLength(26);
        expect(await b.getChallenge('c-wrong')).toMatchObject({ status: 'locked', attempts: 5 });

        await a.createChallenge(challenge('c-right'));
        const right = await all(10, (s) => s.recordVerifyAttempt('c-right', 'verified', T0 + 1));
        expect(right.map((o) => o!.status).sort()).toEqual(['used', 'used', 'used', 'used', 'used', 'used', 'used', 'used', 'used', 'verified']);
      });

      it('expires a late answer, and sweeps each due pending challenge once, whoever sweeps', async () => {
        await a.createChallenge(challenge('late'));
        expect(await b.recordVerifyAttempt('late', 'verified', T0 + 5 * MINUTE)).toMatchObject({ status: 'expired' });
        for (const id of ['due-1', 'due-2', 'due-3', 'resent', 'answered']) await a.createChallenge(challenge(id));
        await a.createChallenge(challenge('not-due', { expiresAt: T0 + HOUR }));
        await b.recordDelivery('resent', { channel: 'sms', destination: '+4791234567', provider: 'outbox', providerRef: null, codeHash: 'cd34', expiresAt: T0 + HOUR });
        await b.recordVerifyAttempt('answered', 'verified', T0 + MINUTE);
        const swept = (await all(4, (s) => s.expireChallenges(T0 + 10 * MINUTE, 2))).flat();
        expect(swept.map((c) => c.id).sort()).toEqual(['due-1', 'due-2', 'due-3']);
        expect(swept.every((c) => c.status === 'expired')).toBe(true);
        expect(await a.expireChallenges(T0 + 10 * MINUTE, 100)).toEqual([]);
        expect(await b.getChallenge('due-1')).toMatchObject({ status: 'expired' });
        expect(await b.getChallenge('resent')).toMatchObject({ status: 'pending' });
        expect((await a.expireChallenges(T0 + 2 * HOUR, 100)).map((c) => c.id).sort()).toEqual(['not-due', 'resent']);
      });

      it('accepts each TOTP step once, only forward, whichever handle asks; reseals by compare-and-set', async () => {
        expect(await a.getTotp('alice')).toBeNull();
        expect(await a.useTotpStep('alice', 5)).toBe(false);
        const rec = { userId: 'alice', secretEnc: 'v1.sealed', confirmed: false, lastStep: 0, createdAt: T0 };
        await a.putTotp(rec);
        expect(await b.getTotp('alice')).toEqual(rec);
        const once = await all(10, (s) => s.useTotpStep('alice', 100));
        expect(once.filter(Boolean)).toHaveLength(1);
        expect(await a.useTotpStep('alice', 99)).toBe(false);
        expect(await a.useTotpStep('alice', 101)).toBe(true);
        await b.putTotp({ ...rec, confirmed: true, lastStep: 101 });
        expect(await a.getTotp('alice')).toEqual({ ...rec, confirmed: true, lastStep: 101 });
        // A reseal replaces the sealed secret only if it is still the one read, and nothing else.
        const reseals = await all(6, (s, i) => s.resealTotp('alice', 'v1.sealed', `v1.new-${i}`));
        expect(reseals.filter(Boolean)).toHaveLength(1);
        expect(await a.resealTotp('bob', 'v1.sealed', 'v1.x')).toBe(false);
        expect(await b.getTotp('alice')).toMatchObject({ secretEnc: expect.stringMatching(/^v1\.new-\d$/), confirmed: true, lastStep: 101 });
        expect(await b.deleteTotp('alice')).toBe(true);
        expect(await a.deleteTotp('alice')).toBe(false);
        expect(await a.getTotp('alice')).toBeNull();
      });

      it('spends a recovery code once under concurrency; a new set replaces the old', async () => {
        await a.replaceRecoveryCodes('alice', ['h1', 'h2', 'h3'], T0);
        const spent = await all(10, (s) => s.useRecoveryCode('alice', 'h1', T0));
        expect(spent.filter(Boolean)).toHaveLength(1);
        expect(await b.useRecoveryCode('bob', 'h2', T0)).toBe(false);
        await b.replaceRecoveryCodes('alice', ['h4'], T0 + 1);
        expect(await a.useRecoveryCode('alice', 'h2', T0)).toBe(false);
        expect(await a.useRecoveryCode('alice', 'h4', T0)).toBe(true);
        expect(await a.useRecoveryCode('alice', 'h4', T0)).toBe(false);
      });

      it('lists trusted devices until they expire, newest first, and revokes one or all', async () => {
        const dev = (id: string, createdAt: number, days = 30) => ({ id, userId: 'alice', deviceId: `d-${id}`, label: 'Chrome', ip: IP.homeNO, createdAt, expiresAt: createdAt + days * DAY });
        await a.addTrustedDevice(dev('t1', T0));
        await b.addTrustedDevice(dev('t2', T0 + HOUR));
        await a.addTrustedDevice(dev('short', T0 + 2 * HOUR, 1));
        expect((await b.listTrustedDevices('alice', T0 + 3 * HOUR)).map((d) => d.id)).toEqual(['short', 't2', 't1']);
        expect((await b.listTrustedDevices('alice', T0 + 5 * DAY)).map((d) => d.id)).toEqual(['t2', 't1']);
        expect(await a.listTrustedDevices('bob', T0)).toEqual([]);
        expect(await b.listTrustedDevices('alice', T0 + 3 * HOUR)).toContainEqual(dev('t1', T0));
        expect(await b.revokeTrustedDevices('alice', 't1')).toBe(1);
        expect(await a.revokeTrustedDevices('alice', 't1')).toBe(0);
        expect((await a.listTrustedDevices('alice', T0 + 5 * DAY)).map((d) => d.id)).toEqual(['t2']);
        expect(await a.revokeTrustedDevices('alice')).toBeGreaterThanOrEqual(1);
        expect(await b.listTrustedDevices('alice', T0 + 5 * DAY)).toEqual([]);
      });
    });

    describe('under the engine and the HTTP API', () => {
      let t: TestApp;
      const home = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' };
      const phone = { userId: 'alice', ip: IP.osloNO, userAgent: UA.safariIphone, deviceId: 'd-new-phone' };
      beforeEach(async () => {
        t = await makeApp({ store: a, clock: new TestClock() });
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
        const devices = async () => (await b.getProfile('alice'))!.devices.map((x) => x.id);
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
}

describe.skipIf(redisSkip !== null)(skippedTitle('RedisStore keys', redisSkip), () => {
  it('keeps everything under its prefix, and gives a TTL to every key but the per-user ones and the pending index', async () => {
    const prefix = testPrefix();
    const s = await redisStore(prefix);
    try {
      await s.saveDecision(record('dec-1', { action: 'allow' }));
      await s.learn('alice', 'dec-1', obs());
      await s.addFailure({ userId: 'alice', ip: IP.germany }, T0);
      await s.limiter('per_user', 3600).penalty('alice', 1);
      await s.createChallenge(challenge('c-1'));
      await s.recordDelivery('c-1', { channel: 'email', destination: 'a@example.com', provider: 'mail', providerRef: null, codeHash: 'ab', expiresAt: T0 + DAY });
      await s.putTotp({ userId: 'alice', secretEnc: 'v1.x', confirmed: true, lastStep: 1, createdAt: T0 });
      await s.replaceRecoveryCodes('alice', ['h1'], T0);
      await s.addTrustedDevice({ id: 't1', userId: 'alice', deviceId: 'd1', label: '', ip: IP.homeNO, createdAt: T0, expiresAt: T0 + 30 * DAY });
      const keys: Record<string, number> = {};
      for (const k of await keysUnder(s.client, prefix)) keys[k.slice(prefix.length)] = await s.client.pttl(k);
      const ttlDays = (k: string) => Math.round(keys[k]! / DAY);
      // The documented layout (docs/redis.md).
      expect(keys['p:alice']).toBe(-1);
      expect(ttlDays('d:dec-1')).toBe(90);
      expect(ttlDays('l:dec-1')).toBe(90);
      const counters = Object.keys(keys).filter((k) => /^(f|fu|rl):/.test(k));
      expect(counters.sort()).toEqual(['f:i:' + IP.germany, 'f:u:alice', 'fu:' + IP.germany, 'rl:per_user:alice']);
      for (const k of counters) expect(keys[k]).toBeGreaterThan(0);
      // A challenge lives the audit retention past its expiry, which a resend moved a day on; trust as long as the token.
      expect(ttlDays('c:c-1')).toBe(91);
      expect(ttlDays('td:alice')).toBe(30);
      expect([keys['t:alice'], keys['r:alice'], keys.cx]).toEqual([-1, -1, -1]);
      expect(Object.keys(keys).every((k) => /^(p|d|l|f|fu|rl|c|t|r|td):/.test(k) || k === 'cx')).toBe(true);
    } finally {
      await s.close();
      await deleteKeysUnder(REDIS_URL, prefix);
    }
  });
});

describe('SqliteStore failure counts', () => {
  it('survive a restart: counted in memory, kept in the failure tables, restored at open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-restart-'));
    const path = join(dir, 'riskgate.db');
    const first = new SqliteStore({ path });
    for (let i = 0; i < 4; i++) await first.addFailure({ userId: `u${i % 2}`, ip: '5.9.0.1', deviceId: 'dev' }, T0 + i * MINUTE);
    const before = await first.failureCounts({ userId: 'u0', ip: '5.9.0.1', deviceId: 'dev' }, T0 + 5 * MINUTE);
    await first.close();
    const second = new SqliteStore({ path });
    expect(await second.failureCounts({ userId: 'u0', ip: '5.9.0.1', deviceId: 'dev' }, T0 + 5 * MINUTE)).toEqual(before);
    expect(before).toMatchObject({ user_30m: 2, ip_1h: 4, device_1h: 4, ip_users_1h: 2 });
    await second.close();
    await rm(dir, { recursive: true, force: true });
  });
});
