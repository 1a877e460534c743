import { expect, it } from 'vitest';
import { challengeAppOn, HOME, lastCode, NEW_PHONE, post } from './challenge-helpers.js';
import { decide, habit, HOUR, MINUTE, type TestApp } from './helpers.js';
import { describeEachStore, SERVER_STORES } from './stores.js';

/**
 * Second-factor abuse (issue 14, findings 4 and 5), replayed over HTTP on every store: the
 * verify budget turned against the next user behind an address, and an attacker who holds
 * the password opening challenge after challenge to guess codes.
 */
const OFFICE = '203.0.113.50';
const BOB = { userId: 'bob', ip: '84.208.20.7', userAgent: NEW_PHONE.userAgent, deviceId: 'd-bob-phone' };

/**
 * A challenged login of `who`, with an e-mail to send the code to (`email`, else the user's
 * own; a burst gives each challenge an address of its own, under perEmailPerHour); its
 * challenge id and code.
 */
async function challenged(t: TestApp, who: Record<string, unknown>, email = `${String(who.userId)}@example.com`): Promise<{ id: string; code: string }> {
  const d = await decide(t, { ...who, email });
  expect(d.body.action).toBe('challenge');
  return { id: d.body.challenge.id, code: lastCode(t.outbox, email) };
}

const wrong = (code: string) => (code === '000000' ? '111111' : '000000');

describeEachStore(
  SERVER_STORES,
  'code abuse',
  async (kind) => {
    const t = await challengeAppOn(kind);
    await habit(t, HOME);
    await habit(t, { ...BOB, ip: '5.9.0.1', deviceId: 'd-bob-pc', userAgent: HOME.userAgent });
    return t;
  },
  (t) => {
    it("answers to a locked challenge use up nobody's budget: the next user behind the address verifies", async () => {
      const mine = await challenged(t, NEW_PHONE);
      const answers: string[] = [];
      for (let i = 0; i < 65; i++) answers.push((await post(t, `/v1/challenges/${mine.id}/verify`, { code: wrong(mine.code), ip: OFFICE })).body.status);
      expect(answers.slice(0, 4)).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
      expect(new Set(answers.slice(4))).toEqual(new Set(['locked']));
      const theirs = await challenged(t, BOB);
      expect((await post(t, `/v1/challenges/${theirs.id}/verify`, { code: theirs.code, ip: OFFICE })).body).toMatchObject({ status: 'verified' });
    });

    it('one noisy user behind an address cannot lock out the next: limits are per address and user', async () => {
      // Holding alice's password, the attacker opens challenge after challenge until refused.
      const statuses: number[] = [];
      for (let n = 0; n < 6; n++) {
        const c = await challenged(t, NEW_PHONE);
        for (let i = 0; i < 5; i++) statuses.push((await post(t, `/v1/challenges/${c.id}/verify`, { code: wrong(c.code), ip: OFFICE })).status);
      }
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      const theirs = await challenged(t, BOB);
      expect((await post(t, `/v1/challenges/${theirs.id}/verify`, { code: theirs.code, ip: OFFICE })).body).toMatchObject({ status: 'verified' });
    });

    it('a burst of wrong codes for one account: at most 20 are checked, the next login is not allowed, and codes are refused for the hour', async () => {
      const ids: { id: string; code: string }[] = [];
      for (let n = 0; n < 8; n++) ids.push(await challenged(t, NEW_PHONE, `alice+${n}@example.com`));
      // 8 challenges x 5 wrong answers, all at once.
      const answers = await Promise.all(ids.flatMap((c) => Array.from({ length: 5 }, () => post(t, `/v1/challenges/${c.id}/verify`, { code: wrong(c.code) }))));
      const checked = answers.filter((a) => a.status === 200 && (a.body.status === 'invalid' || a.body.status === 'locked'));
      const refused = answers.filter((a) => a.status === 429);
      expect(checked.length).toBeLessThanOrEqual(20);
      expect(checked.length + refused.length).toBe(40);
      expect(refused[0]!.body.error.code).toBe('WRONG_CODE_LIMIT');
      // Even a right code is not checked now (on a challenge still open: some of its answers were refused).
      const open = ids.find((_, n) => answers.slice(n * 5, n * 5 + 5).some((a) => a.status === 429))!;
      expect((await post(t, `/v1/challenges/${open.id}/verify`, { code: open.code })).body.error.code).toBe('WRONG_CODE_LIMIT');

      // The owner's next login, at home on their own PC, is stepped up: the password is known to someone else.
      const home = await decide(t, { ...HOME, email: 'alice@example.com' });
      expect(home.body.action).toBe('challenge');
      expect(home.body.reasons.map((r: { rule: string }) => r.rule)).toContain('user.failed_challenges');
      // ...and offered only a stronger factor: no code is sent, a recovery code works.
      expect(home.body.challenge).toMatchObject({ delivered: false, codesRefused: true, channels: [] });
      expect((await post(t, `/v1/challenges/${home.body.challenge.id}/resend`, {})).body.error.code).toBe('WRONG_CODE_LIMIT');

      const limited = await t.store.audit.query({ kind: 'challenge.rate_limited', userId: 'alice' });
      expect(limited.map((e) => e.detail?.limit)).toContain('wrongCodesPerUserPerHour');
      expect(await t.metrics.registry.getSingleMetricAsString('riskgate_challenge_rate_limited_total')).toMatch(/limit="wrongCodesPerUserPerHour"} [1-9]/);

      const codes = (await post(t, '/v1/users/alice/recovery-codes')).body.codes as string[];
      expect((await post(t, `/v1/challenges/${home.body.challenge.id}/verify`, { recoveryCode: codes[0] })).body.status).toBe('verified');

      // The next hour, codes are checked again.
      t.clock.advance(HOUR);
      const later = await challenged(t, { ...HOME });
      expect((await post(t, `/v1/challenges/${later.id}/verify`, { code: later.code })).body.status).toBe('verified');
    });
  },
);

describeEachStore(
  SERVER_STORES,
  'code abuse, until a success',
  async (kind) => {
    const t = await challengeAppOn(kind, { file: { challenges: { limits: { wrongCodesPerUser: 12 } } } });
    await habit(t, HOME);
    return t;
  },
  (t) => {
    it('counts wrong codes across hours until a challenge is passed', async () => {
      let refused = 0;
      for (let hour = 0; hour < 3; hour++) {
        for (let n = 0; n < 5; n++) {
          const c = await challenged(t, NEW_PHONE);
          const r = await post(t, `/v1/challenges/${c.id}/verify`, { code: wrong(c.code) });
          if (r.status === 429) {
            expect(r.body.error.code).toBe('WRONG_CODE_LIMIT');
            refused++;
          }
          t.clock.advance(MINUTE);
        }
        t.clock.advance(HOUR);
      }
      // 15 wrong answers over three hours: the 13th on are refused.
      expect(refused).toBe(3);
      const codes = (await post(t, '/v1/users/alice/recovery-codes')).body.codes as string[];
      const c = await challenged(t, NEW_PHONE);
      expect(c.code).toBeDefined();
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { recoveryCode: codes[0] })).body.status).toBe('verified');
      // A success starts the count again.
      const next = await challenged(t, NEW_PHONE);
      expect((await post(t, `/v1/challenges/${next.id}/verify`, { code: wrong(next.code) })).body.status).toBe('invalid');
    });
  },
);
