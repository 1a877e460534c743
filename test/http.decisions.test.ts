import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTH, DAY, HOUR, IP, MINUTE, UA, decide, fail, habit, makeApp, type TestApp } from './helpers.js';

const home = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' };

describe('POST /v1/decisions', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('allows a familiar login with no reasons', async () => {
    await habit(t, home);
    const r = await decide(t, home);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ action: 'allow', score: 0, reasons: [], rulesVersion: t.rules.current().version });
    expect(r.body.decisionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('treats a first login as cold start, not as everything new', async () => {
    const r = await decide(t, home);
    expect(r.body.action).toBe('allow');
    expect(r.body.reasons).toEqual([{ rule: 'user.first_login', points: 0, message: expect.stringContaining('no history') }]);
  });

  it('challenges a new device from a new country, and says why', async () => {
    await habit(t, home);
    const r = await decide(t, { userId: 'alice', ip: IP.brazil, userAgent: UA.safariIphone, deviceId: 'd-unknown' });
    expect(r.body.action).toBe('challenge');
    expect(r.body.score).toBe(60);
    expect(r.body.reasons).toEqual([
      { rule: 'device.new_on_new_network', points: 40, message: 'new device (Mobile Safari on iOS) from 177.10.0.0/24, a network the user never used' },
      { rule: 'geo.new_country', points: 20, message: 'first login from BR' },
    ]);
  });

  it('challenges a correct password after five failures in 30 minutes', async () => {
    await habit(t, home);
    // Alice's own typos, at home: stepped up, never blocked.
    for (let i = 0; i < 5; i++) {
      expect((await fail(t, home)).body.blocked).toBe(false);
      t.clock.advance(4 * MINUTE);
    }
    const r = await decide(t, home);
    expect(r.body.action).toBe('challenge');
    expect(r.body.reasons.map((x: { rule: string }) => x.rule)).toEqual(['attempts.user_failures']);
    expect(r.body.reasons[0].message).toBe('5 failed passwords for this user in the last 30 minutes');

    // An hour later the window has moved on.
    t.clock.advance(HOUR);
    expect((await decide(t, home)).body.action).toBe('allow');
  });

  it('blocks an address that failed against many users, and spares an innocent user elsewhere', async () => {
    await habit(t, home);
    const bob = { userId: 'bob', ip: IP.osloNO, userAgent: UA.firefoxLinux, deviceId: 'd-bob' };
    await habit(t, bob);
    const answers: boolean[] = [];
    for (let i = 0; i < 15; i++) {
      answers.push((await fail(t, { userId: `victim-${i}`, ip: IP.germany, userAgent: UA.chromeWindows })).body.blocked);
      t.clock.advance(MINUTE);
    }
    // The third distinct user in a day trips it (attempts.stuffing_address); every failure after is blocked.
    expect(answers.indexOf(true)).toBe(2);
    expect(answers.slice(2).every(Boolean)).toBe(true);
    // The stuffing address also tried bob once.
    await fail(t, { userId: 'bob', ip: IP.germany });

    const fromBotnet = await decide(t, { ...home, ip: IP.germany });
    expect(fromBotnet.body.action).toBe('block');
    expect(fromBotnet.body.reasons[0]).toMatchObject({ rule: 'attempts.credential_stuffing', message: '16 different users failed their password from this address in the last hour' });

    expect((await decide(t, home)).body).toMatchObject({ action: 'allow', reasons: [] });
    expect((await decide(t, bob)).body).toMatchObject({ action: 'allow', reasons: [] });
  });

  it('steps up impossible travel', async () => {
    await habit(t, home);
    t.clock.advance(-30 * MINUTE);
    expect((await decide(t, home)).body.action).toBe('allow');
    t.clock.advance(30 * MINUTE);
    const r = await decide(t, { ...home, ip: IP.japan });
    expect(r.body.action).toBe('challenge');
    // On the user's own device the jump counts as medium; with the new country it steps up.
    const travel = r.body.reasons.find((x: { rule: string }) => x.rule === 'geo.impossible_travel_known_device');
    expect(travel.message).toMatch(/^8,\d{3} km in 30 min since the last login \(1\d,\d{3} km\/h\) to JP, on a device the user has used$/);
  });

  it('learns only allowed logins: a challenged login teaches nothing until it is passed', async () => {
    await habit(t, home);
    const phone = { userId: 'alice', ip: IP.osloNO, userAgent: UA.safariIphone, deviceId: 'd-new-phone' };
    const first = await decide(t, phone);
    expect(first.body.action).toBe('challenge');
    t.clock.advance(MINUTE);
    expect((await decide(t, phone)).body.action).toBe('challenge');
    expect((await t.store.profiles.get('alice'))!.devices.map((d) => d.id)).toEqual(['d-alice-pc']);
  });
});

describe('POST /v1/decisions/{id}/feedback', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
    await habit(t, { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' });
  });
  afterEach(() => t.close());

  const phone = { userId: 'alice', ip: IP.osloNO, userAgent: UA.safariIphone, deviceId: 'd-new-phone' };
  const feedback = (id: string, outcome: string) => t.app.inject({ method: 'POST', url: `/v1/decisions/${id}/feedback`, headers: AUTH, payload: { outcome } });

  it('a passed step-up teaches the profile, so the next login from that device is allowed', async () => {
    const d = await decide(t, phone);
    expect(d.body.action).toBe('challenge');
    const f = await feedback(d.body.decisionId, 'passed_challenge');
    expect(f.statusCode).toBe(200);
    expect(f.json()).toEqual({ decisionId: d.body.decisionId, outcome: 'passed_challenge', learned: true, unlearned: false });
    // Feedback twice does not learn twice.
    expect((await feedback(d.body.decisionId, 'passed_challenge')).json().learned).toBe(false);
    t.clock.advance(HOUR);
    expect((await decide(t, phone)).body).toMatchObject({ action: 'allow', reasons: [] });
  });

  it('a failed step-up teaches nothing', async () => {
    const d = await decide(t, phone);
    expect((await feedback(d.body.decisionId, 'failed_challenge')).json()).toMatchObject({ learned: false, unlearned: false });
    expect((await decide(t, phone)).body.action).toBe('challenge');
  });

  it('confirmed fraud unlearns what the login taught', async () => {
    const d = await decide(t, phone);
    await feedback(d.body.decisionId, 'passed_challenge');
    const before = (await t.store.profiles.get('alice'))!;
    expect(before.devices.map((x) => x.id)).toContain('d-new-phone');
    const f = await feedback(d.body.decisionId, 'confirmed_fraud');
    expect(f.json()).toMatchObject({ learned: false, unlearned: true });
    const after = (await t.store.profiles.get('alice'))!;
    expect(after.devices.map((x) => x.id)).toEqual(['d-alice-pc']);
    expect(after.logins).toBe(before.logins - 1);
    expect(after.last!.country).toBe('NO');
    expect((await decide(t, phone)).body.action).toBe('challenge');
  });

  it('answers 404 for an unknown decision, and records feedback in the audit trail', async () => {
    const missing = await feedback('00000000-0000-4000-8000-000000000000', 'confirmed_fraud');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'DECISION_NOT_FOUND', message: expect.any(String), requestId: expect.any(String) } });

    const d = await decide(t, phone);
    await feedback(d.body.decisionId, 'confirmed_legit');
    const audit = await t.app.inject({ method: 'GET', url: `/v1/audit?ref=${d.body.decisionId}`, headers: AUTH });
    const kinds = audit.json().entries.map((e: { kind: string }) => e.kind);
    // A challenge was asked for, but the user gave no phone or e-mail and has no authenticator.
    expect(kinds.sort()).toEqual(['challenge.unavailable', 'decision', 'feedback']);
  });
});

describe('audit trail', () => {
  it('records decisions and failures with time, user, address, action, score, rules and version; retention bounds it', async () => {
    const t = await makeApp();
    await decide(t, { userId: 'carol', ip: IP.homeNO, userAgent: UA.chromeWindows });
    await fail(t, { userId: 'carol', ip: IP.germany });
    const res = await t.app.inject({ method: 'GET', url: '/v1/audit?userId=carol', headers: AUTH });
    const entries = res.json().entries;
    expect(entries).toHaveLength(2);
    expect(entries.find((e: { kind: string }) => e.kind === 'decision')).toMatchObject({
      time: '2026-03-02T08:00:00.000Z',
      userId: 'carol',
      ip: IP.homeNO,
      action: 'allow',
      score: 0,
      rules: ['user.first_login'],
      rulesVersion: t.rules.current().version,
    });
    expect(entries.find((e: { kind: string }) => e.kind === 'failure')).toMatchObject({ action: 'allow', ip: IP.germany });
    expect(await t.store.prune(t.clock.now + DAY)).toBe(2);
    expect((await t.app.inject({ method: 'GET', url: '/v1/audit?userId=carol', headers: AUTH })).json().entries).toEqual([]);
    await t.close();
  });
});
