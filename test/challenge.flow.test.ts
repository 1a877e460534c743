import { expect, it } from 'vitest';
import { AUTH, DAY, MINUTE, decide } from './helpers.js';
import { NEW_PHONE, lastCode, challengeAppAtHome, post } from './challenge-helpers.js';
import { SERVER_STORES, describeEachStore } from './stores.js';

const PHONE = '+4791234567';

describeEachStore(SERVER_STORES, 'a challenged login over HTTP: code, verify, resend', challengeAppAtHome, (t, kind) => {
  const challenge = async (extra: Record<string, unknown> = { phone: PHONE }) => {
    const d = await decide(t, { ...NEW_PHONE, ...extra });
    expect(d.status).toBe(200);
    expect(d.body.action).toBe('challenge');
    return d.body as { decisionId: string; challenge: { id: string; channel: string; expiresAt: string; delivered: boolean; destination: string; attemptsLeft: number; channels: string[] } };
  };
  const verify = (id: string, body: Record<string, unknown>) => post(t, `/v1/challenges/${id}/verify`, body);

  it('sends a code to the phone; the verified code teaches the profile and is then used up', async () => {
    const d = await challenge();
    expect(d.challenge).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      channel: 'sms',
      expiresAt: new Date(t.clock.now + 5 * MINUTE).toISOString(),
      delivered: true,
      destination: '+47•••••567',
      attemptsLeft: 5,
      channels: ['sms', 'whatsapp', 'voice'],
    });
    const m = t.outbox.last(PHONE)!;
    expect(m).toMatchObject({ channel: 'sms', to: PHONE, challengeId: d.challenge.id });
    expect(m.code).toMatch(/^\d{6}$/);
    expect(m.message).toBe(`${m.code} is your riskgate verification code. It expires in 5 minutes.`);

    expect((await t.store.profiles.get('alice'))!.devices.map((x) => x.id)).toEqual(['d-alice-pc']);
    const v = await verify(d.challenge.id, { code: m.code });
    expect(v).toMatchObject({ status: 200, body: { status: 'verified', attemptsLeft: 5 } });
    expect(v.body.trustToken).toBeUndefined();
    // The step-up taught the login: the new phone is now a known device.
    expect((await t.store.profiles.get('alice'))!.devices.map((x) => x.id).sort()).toEqual(['d-alice-pc', 'd-new-phone']);
    t.clock.advance(MINUTE);
    expect((await decide(t, NEW_PHONE)).body).toMatchObject({ action: 'allow', reasons: [] });

    expect((await verify(d.challenge.id, { code: m.code })).body).toEqual({ status: 'used', attemptsLeft: 5 });
  });

  it('answers invalid with the attempts left, locks after five wrong codes, and the right code then does nothing', async () => {
    const d = await challenge();
    const code = lastCode(t.outbox, PHONE);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 1; left--) expect((await verify(d.challenge.id, { code: wrong })).body).toEqual({ status: 'invalid', attemptsLeft: left });
    // Something that is not a code is refused as such (400, naming the field) and costs no attempt.
    expect(await verify(d.challenge.id, { code: 'not-a-code' })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: expect.stringContaining('body field "code"') } } });
    expect((await verify(d.challenge.id, { code: '12 34 56 78' })).body).toEqual({ status: 'locked', attemptsLeft: 0 });
    expect((await verify(d.challenge.id, { code })).body).toEqual({ status: 'locked', attemptsLeft: 0 });
    expect((await t.store.profiles.get('alice'))!.devices.map((x) => x.id)).toEqual(['d-alice-pc']);
    // A locked challenge is closed: no resend either.
    expect(await post(t, `/v1/challenges/${d.challenge.id}/resend`, {})).toMatchObject({ status: 409, body: { error: { code: 'CHALLENGE_CLOSED' } } });
  });

  it('expires after five minutes of the injected clock', async () => {
    const d = await challenge();
    const code = lastCode(t.outbox, PHONE);
    t.clock.advance(5 * MINUTE - 1);
    const wrong = code === '000000' ? '111111' : '000000';
    expect((await verify(d.challenge.id, { code: wrong })).body.status).toBe('invalid');
    t.clock.advance(1);
    expect((await verify(d.challenge.id, { code })).body).toEqual({ status: 'expired', attemptsLeft: 4 });
    expect((await verify(d.challenge.id, { code })).body.status).toBe('expired');
    expect(await post(t, `/v1/challenges/${d.challenge.id}/resend`, {})).toMatchObject({ status: 409, body: { error: { code: 'CHALLENGE_CLOSED', message: 'the challenge is expired; nothing to resend' } } });
  });

  it('a resend moves to the next channel with a new code, keeps the wrong attempts, and the old code stops working', async () => {
    const d = await challenge();
    const first = lastCode(t.outbox, PHONE);
    const wrong = first === '000000' ? '111111' : '000000';
    await verify(d.challenge.id, { code: wrong });
    await verify(d.challenge.id, { code: wrong });

    const r = await post(t, `/v1/challenges/${d.challenge.id}/resend`, {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: d.challenge.id, channel: 'whatsapp', delivered: true, attemptsLeft: 3 });
    const second = t.outbox.last(PHONE)!;
    expect(second.channel).toBe('whatsapp');
    if (second.code !== first) expect((await verify(d.challenge.id, { code: first })).body).toEqual({ status: 'invalid', attemptsLeft: 2 });

    // A named channel is taken as asked.
    expect((await post(t, `/v1/challenges/${d.challenge.id}/resend`, { channel: 'voice' })).body).toMatchObject({ channel: 'voice' });
    const third = lastCode(t.outbox, PHONE);
    expect((await verify(d.challenge.id, { code: third })).body.status).toBe('verified');
  });

  it('a resend with no body moves on too, and resends are capped', async () => {
    const d = await challenge();
    for (const channel of ['whatsapp', 'voice', 'sms', 'whatsapp']) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/challenges/${d.challenge.id}/resend`, headers: AUTH });
      expect(res.statusCode).toBe(200);
      expect(res.json().channel).toBe(channel);
    }
    expect(await post(t, `/v1/challenges/${d.challenge.id}/resend`, {})).toMatchObject({ status: 429, body: { error: { code: 'RESEND_LIMIT' } } });
  });

  it('a code is only good for the challenge it was issued for', async () => {
    const a = await challenge();
    const codeA = lastCode(t.outbox, PHONE);
    const b = await challenge({ phone: '+4792345678' });
    const codeB = lastCode(t.outbox, '+4792345678');
    if (codeA !== codeB) expect((await verify(b.challenge.id, { code: codeA })).body.status).toBe('invalid');
    expect((await verify(a.challenge.id, { code: codeA })).body.status).toBe('verified');
    expect((await verify(b.challenge.id, { code: codeB })).body.status).toBe('verified');
  });

  it('sends to the e-mail address when that is all the login gave', async () => {
    const d = await challenge({ email: 'alice@example.com' });
    expect(d.challenge).toMatchObject({ channel: 'email', destination: 'a•••@example.com', channels: ['email'] });
    expect((await verify(d.challenge.id, { code: lastCode(t.outbox, 'alice@example.com') })).body.status).toBe('verified');
  });

  it('without a phone, an e-mail or an authenticator there is no challenge to issue: the decision says so plainly', async () => {
    const d = await challenge({});
    expect(d.challenge).toBeUndefined();
    const audit = await t.store.audit.query({ kind: 'challenge.unavailable' });
    expect(audit).toHaveLength(1);
    expect(audit[0]!.ref).toBe(d.decisionId);
  });

  it('answers 404 for an unknown challenge, whatever the id looks like', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'alice', 'x'.repeat(64)]) {
      expect(await verify(id, { code: '123456' })).toEqual({ status: 404, body: { error: { code: 'CHALLENGE_NOT_FOUND', message: 'no challenge with this id', requestId: expect.any(String) } }, raw: expect.any(String) });
      expect((await post(t, `/v1/challenges/${id}/resend`, {})).body.error.code).toBe('CHALLENGE_NOT_FOUND');
    }
  });

  it('records every step in the audit trail, without the code', async () => {
    const d = await challenge();
    const code = lastCode(t.outbox, PHONE);
    await verify(d.challenge.id, { code: code === '000000' ? '111111' : '000000' });
    await verify(d.challenge.id, { code });
    await verify(d.challenge.id, { code });
    const kinds = (await t.store.audit.query({ ref: d.challenge.id })).map((e) => e.kind).reverse();
    expect(kinds).toEqual(['challenge.sent', 'challenge.created', 'challenge.failed', 'challenge.verified', 'challenge.reused']);
    const sent = (await t.store.audit.query({ kind: 'challenge.sent' }))[0]!;
    expect(sent.detail).toEqual({ channel: 'sms', provider: 'outbox', result: 'sent' });
    // (Only the challenge entries: a six-digit code can turn up by chance inside a decision's timestamps.)
    const details = (await t.store.audit.query({ limit: 1000 })).filter((e) => e.kind.startsWith('challenge.')).map((e) => e.detail);
    expect(JSON.stringify(details)).not.toContain(code);
  });

  // On Redis a challenge key goes by its own TTL, the retention past its expiry (store.contract.test.ts, "Redis keys").
  it.skipIf(kind.name !== 'SQLite')('expires old challenges out of the store with the audit retention', async () => {
    const d = await challenge();
    t.clock.advance(DAY);
    await t.store.prune(t.clock.now);
    expect(await t.store.challenges.getChallenge(d.challenge.id)).toBeNull();
  });

  it('counts challenges, sends and verify answers in /metrics', async () => {
    const d = await challenge();
    await verify(d.challenge.id, { code: lastCode(t.outbox, PHONE) });
    const text = await t.metrics.registry.metrics();
    expect(text).toContain('riskgate_challenges_total{channel="sms",outcome="issued"} 1');
    expect(text).toContain('riskgate_challenges_total{channel="sms",outcome="verified"} 1');
    expect(text).toContain('riskgate_challenge_sends_total{channel="sms",provider="outbox",result="sent"} 1');
    expect(text).toContain('riskgate_challenge_verifications_total{status="verified"} 1');
    expect(text).toContain('riskgate_challenge_verify_success_ratio 1');
  });
});

describeEachStore(SERVER_STORES, 'challenges nobody answers', challengeAppAtHome, (t) => {
  it('are closed as expired, audited and counted once', async () => {
    const d = await decide(t, { ...NEW_PHONE, phone: PHONE });
    expect(await t.service.expireDue()).toBe(0);
    t.clock.advance(5 * MINUTE);
    expect(await t.service.expireDue()).toBe(1);
    expect(await t.service.expireDue()).toBe(0);
    expect((await t.store.challenges.getChallenge(d.body.challenge.id))!.status).toBe('expired');
    expect((await t.store.audit.query({ ref: d.body.challenge.id, kind: 'challenge.expired' }))[0]!.detail).toEqual({ channel: 'sms', attempts: 0, unanswered: true });
    expect(await t.metrics.registry.metrics()).toContain('riskgate_challenges_total{channel="sms",outcome="expired"} 1');
    expect((await post(t, `/v1/challenges/${d.body.challenge.id}/verify`, { code: lastCode(t.outbox) })).body).toEqual({ status: 'expired', attemptsLeft: 5 });
  });
});
