import { expect, it } from 'vitest';
import { makeTotp } from '../src/challenge/totp.js';
import { decide, habit } from './helpers.js';
import { HOME, NEW_PHONE, challengeAppOn, post } from './challenge-helpers.js';
import { SERVER_STORES, describeEachStore } from './stores.js';

/**
 * Issue 14, finding 9: a challenge opened on TOTP fell back to SMS through /resend, so an
 * attacker holding the password but not the authenticator got a code sent to a SIM they may
 * have swapped. A challenge on a stronger factor stays on it unless the configuration allows
 * the downgrade; the attempt is audited either way.
 */
async function totpChallenge(t: Awaited<ReturnType<typeof challengeAppOn>>) {
  const { secret } = (await post(t, '/v1/users/alice/totp')).body as { secret: string };
  await post(t, '/v1/users/alice/totp/confirm', { code: makeTotp(secret).generate({ timestamp: t.clock.now }) });
  await habit(t, HOME);
  const d = await decide(t, { ...NEW_PHONE, phone: '+4791234567', email: 'alice@example.com' });
  expect(d.body.challenge.channel).toBe('totp');
  return d.body.challenge as { id: string; channels: string[] };
}

describeEachStore(SERVER_STORES, 'no downgrade from TOTP to a code', challengeAppOn, (t) => {
  it('/resend refuses to move a TOTP challenge to SMS, voice or e-mail, sends nothing, and audits the attempt', async () => {
    const c = await totpChallenge(t);
    expect(c.channels).toEqual([]);
    for (const body of [{}, { channel: 'sms' }, { channel: 'voice' }, { channel: 'email' }]) {
      expect(await post(t, `/v1/challenges/${c.id}/resend`, body)).toMatchObject({ status: 409, body: { error: { code: 'DOWNGRADE_REFUSED', message: expect.stringContaining('challenges.allowDowngrade') } } });
    }
    expect(t.outbox.messages).toHaveLength(0);
    const audit = await t.store.audit.query({ ref: c.id, kind: 'challenge.downgrade_refused' });
    expect(audit.map((e) => e.detail)).toEqual(expect.arrayContaining([{ from: 'totp', to: 'sms' }, { from: 'totp', to: 'voice' }, { from: 'totp', to: 'email' }]));
    expect(audit).toHaveLength(4);
    // The challenge is still open on TOTP.
    expect((await t.store.challenges.getChallenge(c.id))!).toMatchObject({ channel: 'totp', status: 'pending', sends: 0 });
  });
});

describeEachStore(
  SERVER_STORES,
  'a downgrade the configuration allows',
  (kind) => challengeAppOn(kind, { file: { challenges: { allowDowngrade: true } } }),
  (t) => {
    it('moves the challenge to a code channel and audits it as challenge.downgraded', async () => {
      const c = await totpChallenge(t);
      expect(c.channels).toEqual(['sms', 'whatsapp', 'voice', 'email']);
      const r = await post(t, `/v1/challenges/${c.id}/resend`, {});
      expect(r.body).toMatchObject({ channel: 'sms', delivered: true });
      expect((await post(t, `/v1/challenges/${c.id}/verify`, { code: t.outbox.last()!.code })).body.status).toBe('verified');
      const audit = await t.store.audit.query({ ref: c.id, kind: 'challenge.downgraded' });
      expect(audit.map((e) => e.detail)).toEqual([{ from: 'totp', to: 'sms' }]);
      const metrics = await t.metrics.registry.getSingleMetricAsString('riskgate_challenge_downgrades_total');
      expect(metrics).toContain('riskgate_challenge_downgrades_total{result="allowed",from="totp",to="sms"} 1');
    });
  },
);
