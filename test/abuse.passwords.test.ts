import { expect, it } from 'vitest';
import { challengeAppOn, HOME } from './challenge-helpers.js';
import { decide, fail, habit, HOUR, MINUTE, UA } from './helpers.js';
import { describeEachStore, SERVER_STORES } from './stores.js';

/**
 * Password attacks on riskgate itself (issue 14), replayed over HTTP with the default rules:
 * address rotation within one network, a shared address turned against its users, and
 * guessing one account's password (the soft lock).
 */
describeEachStore(SERVER_STORES, 'password abuse', (kind) => challengeAppOn(kind), (t) => {
  const BOT = { userAgent: 'python-requests/2.32.3' };

  it.each([
    ['an IPv6 /64', (i: number) => `2a01:4f8:10:20:${((i * 7919) & 0xffff).toString(16)}:${i.toString(16)}::${i + 1}`],
    ['an IPv4 /24', (i: number) => `5.9.7.${10 + i}`],
  ])('30 users failing from 30 addresses of %s: at least half are blocked', async (_name, address) => {
    let blocked = 0;
    for (let i = 0; i < 30; i++) {
      const r = await fail(t, { userId: `victim-${i}`, ip: address(i), ...BOT });
      expect(r.status).toBe(200);
      if (r.body.blocked) blocked++;
      t.clock.advance(MINUTE);
    }
    expect(blocked).toBeGreaterThanOrEqual(15);
    // The counts are signals of their own, and the /login-failures answer carries them.
    const last = await fail(t, { userId: 'victim-last', ip: address(30), ...BOT });
    expect(last.body).toMatchObject({ blocked: true, network_users_1h: 31, ip_users_1h: 1 });
    expect(last.body.reasons.map((r: { rule: string }) => r.rule)).toContain('attempts.stuffing_network');
  });

  it('a shared address failing for made-up users: the owner on their device and network gets a challenge at most, a stranger is blocked', async () => {
    const office = { ...HOME, ip: '5.9.0.1', deviceId: 'd-alice-office' };
    await habit(t, office);
    for (let i = 0; i < 10; i++) expect((await fail(t, { userId: `made-up-${i}`, ip: office.ip, ...BOT })).status).toBe(200);
    const owner = await decide(t, office);
    expect(owner.body.action).toBe('challenge');
    expect(owner.body.reasons.map((r: { rule: string }) => r.rule)).toContain('attempts.credential_stuffing_owner');
    // A new device through that address, or a user it never saw, is blocked.
    expect((await decide(t, { ...office, deviceId: 'd-stranger' })).body.action).toBe('block');
    expect((await decide(t, { userId: 'mallory', ip: office.ip, userAgent: UA.chromeWindows })).body.action).toBe('block');
    // An hour on, the address's users are no longer stepped up.
    t.clock.advance(HOUR + 10 * MINUTE);
    expect((await decide(t, office)).body.action).toBe('allow');
  });

  it('guessing one password: after ten failures, the guesser is blocked and the owner at home is not', async () => {
    await habit(t, HOME);
    const guesser = { userId: HOME.userId, ip: '5.9.3.1', deviceId: 'd-guesser', userAgent: UA.chromeWindows };
    const answers = [];
    for (let i = 0; i < 12; i++) {
      answers.push((await fail(t, guesser)).body.blocked);
      t.clock.advance(40 * MINUTE);
    }
    expect(answers.slice(0, 9)).not.toContain(true);
    expect(answers.slice(10)).toEqual([true, true]);
    // The right password from the guesser's device is blocked too; the owner's own device is not.
    expect((await decide(t, guesser)).body.action).toBe('block');
    expect((await decide(t, HOME)).body.action).toBe('allow');
    expect((await fail(t, HOME)).body.blocked).toBe(false);
  });
});
