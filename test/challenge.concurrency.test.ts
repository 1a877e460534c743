import { expect, it } from 'vitest';
import { makeTotp } from '../src/challenge/totp.js';
import { IP, MINUTE, UA, decide } from './helpers.js';
import { NEW_PHONE, lastCode, challengeAppAtHome, post } from './challenge-helpers.js';
import { SERVER_STORES, describeEachStore } from './stores.js';

/** Requests in flight at once: each state change must happen once, whatever the interleaving. */
describeEachStore(SERVER_STORES, 'concurrent answers', challengeAppAtHome, (t) => {
  const statuses = (rs: { body: { status: string } }[]) => rs.map((r) => r.body.status).sort();

  it('the right code sent five times at once verifies once; the others are "used"', async () => {
    const d = await decide(t, { ...NEW_PHONE, phone: '+4791234567' });
    const code = lastCode(t.outbox);
    const rs = await Promise.all(Array.from({ length: 5 }, () => post(t, `/v1/challenges/${d.body.challenge.id}/verify`, { code, trustDevice: true })));
    expect(statuses(rs)).toEqual(['used', 'used', 'used', 'used', 'verified']);
    expect(rs.filter((r) => r.body.trustToken)).toHaveLength(1);
    expect(await t.store.audit.query({ kind: 'trust.issued' })).toHaveLength(1);
  });

  it('ten wrong codes at once lock the challenge and count every one', async () => {
    const d = await decide(t, { ...NEW_PHONE, phone: '+4791234567' });
    const wrong = lastCode(t.outbox) === '000000' ? '111111' : '000000';
    const rs = await Promise.all(Array.from({ length: 10 }, () => post(t, `/v1/challenges/${d.body.challenge.id}/verify`, { code: wrong })));
    expect(statuses(rs)).toEqual([...Array(4).fill('invalid'), ...Array(6).fill('locked')]);
    expect((await t.store.challenges.getChallenge(d.body.challenge.id))!.attempts).toBe(5);
  });

  it('one recovery code on two challenges at once passes one of them', async () => {
    const [code] = (await post(t, '/v1/users/alice/recovery-codes')).body.codes as string[];
    const a = (await decide(t, { ...NEW_PHONE, phone: '+4791234567' })).body.challenge.id;
    const b = (await decide(t, { userId: 'alice', ip: IP.brazil, userAgent: UA.firefoxLinux, deviceId: 'd-x', phone: '+4791234567' })).body.challenge.id;
    const rs = await Promise.all([a, b].map((id) => post(t, `/v1/challenges/${id}/verify`, { recoveryCode: code })));
    expect(statuses(rs)).toEqual(['invalid', 'verified']);
  });

  it('one TOTP code on two challenges at once passes one of them', async () => {
    const { secret } = (await post(t, '/v1/users/alice/totp')).body as { secret: string };
    await post(t, '/v1/users/alice/totp/confirm', { code: makeTotp(secret).generate({ timestamp: t.clock.now }) });
    t.clock.advance(5 * MINUTE);
    const a = (await decide(t, NEW_PHONE)).body.challenge.id;
    const b = (await decide(t, { userId: 'alice', ip: IP.brazil, userAgent: UA.firefoxLinux, deviceId: 'd-x' })).body.challenge.id;
    const code = makeTotp(secret).generate({ timestamp: t.clock.now });
    const rs = await Promise.all([a, b].map((id) => post(t, `/v1/challenges/${id}/verify`, { code })));
    expect(statuses(rs)).toEqual(['invalid', 'verified']);
  });
});
