import { expect, it } from 'vitest';
import { AUTH, DAY, IP, MINUTE, UA, decide } from './helpers.js';
import { NEW_PHONE, lastCode, challengeAppAtHome, post, storedRecoveryHashes, send } from './challenge-helpers.js';
import { SERVER_STORES, describeEachStore } from './stores.js';

const PHONE = '+4791234567';

describeEachStore(SERVER_STORES, 'recovery codes', challengeAppAtHome, (t) => {
  const challengeId = async () => (await decide(t, { ...NEW_PHONE, phone: PHONE })).body.challenge.id as string;

  it('gives ten single-use codes, shown once and kept only as hashes', async () => {
    const r = await post(t, '/v1/users/alice/recovery-codes');
    expect(r.status).toBe(200);
    const codes = r.body.codes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    const hashes = await storedRecoveryHashes(t.store, 'alice');
    expect(hashes).toHaveLength(10);
    for (const h of hashes) for (const c of codes) expect(h).not.toContain(c.replace('-', ''));
  });

  it('answers a challenge once; typed in lower case and without the dash it still works', async () => {
    const codes = (await post(t, '/v1/users/alice/recovery-codes')).body.codes as string[];
    const first = await challengeId();
    expect((await post(t, `/v1/challenges/${first}/verify`, { recoveryCode: codes[0]!.toLowerCase().replace('-', '') })).body).toEqual({ status: 'verified', attemptsLeft: 5 });
    expect((await t.store.audit.query({ kind: 'recovery.used' }))).toHaveLength(1);

    t.clock.advance(MINUTE);
    const second = (await decide(t, { userId: 'alice', ip: IP.brazil, userAgent: UA.firefoxLinux, deviceId: 'd-x', phone: PHONE })).body.challenge.id;
    expect((await post(t, `/v1/challenges/${second}/verify`, { recoveryCode: codes[0] })).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    expect((await post(t, `/v1/challenges/${second}/verify`, { recoveryCode: codes[1] })).body.status).toBe('verified');
  });

  it('a new set voids the old one', async () => {
    const old = (await post(t, '/v1/users/alice/recovery-codes')).body.codes as string[];
    const fresh = (await post(t, '/v1/users/alice/recovery-codes')).body.codes as string[];
    const id = await challengeId();
    expect((await post(t, `/v1/challenges/${id}/verify`, { recoveryCode: old[3] })).body.status).toBe('invalid');
    expect((await post(t, `/v1/challenges/${id}/verify`, { recoveryCode: fresh[3] })).body.status).toBe('verified');
  });

  it('another user\'s recovery code is just a wrong answer', async () => {
    const bobs = (await post(t, '/v1/users/bob/recovery-codes')).body.codes as string[];
    const id = await challengeId();
    expect((await post(t, `/v1/challenges/${id}/verify`, { recoveryCode: bobs[0] })).body).toEqual({ status: 'invalid', attemptsLeft: 4 });
  });

  it('a closed challenge spends no recovery code', async () => {
    const codes = (await post(t, '/v1/users/alice/recovery-codes')).body.codes as string[];
    const id = await challengeId();
    t.clock.advance(6 * MINUTE);
    expect((await post(t, `/v1/challenges/${id}/verify`, { recoveryCode: codes[0] })).body.status).toBe('expired');
    const next = await challengeId();
    expect((await post(t, `/v1/challenges/${next}/verify`, { recoveryCode: codes[0] })).body.status).toBe('verified');
  });
});

describeEachStore(SERVER_STORES, 'trusted devices', challengeAppAtHome, (t) => {
  /** Passes a challenge for the new phone with "trust this device"; returns the token. */
  const trustNewPhone = async (): Promise<{ token: string; decisionId: string }> => {
    const d = await decide(t, { ...NEW_PHONE, phone: PHONE });
    const v = await post(t, `/v1/challenges/${d.body.challenge.id}/verify`, { code: lastCode(t.outbox, PHONE), trustDevice: true });
    expect(v.body).toMatchObject({ status: 'verified', attemptsLeft: 5, trustToken: expect.stringMatching(/^rgt1\./) });
    return { token: v.body.trustToken, decisionId: d.body.decisionId };
  };
  const trusted = async (login: Record<string, string>) => (await t.engine.decide(login as never)).signals.device.trusted;

  it('a verified challenge with trustDevice returns a token; the next decision presenting it gets device.trusted', async () => {
    const { token } = await trustNewPhone();
    expect(await trusted({ ...NEW_PHONE, trustToken: token })).toBe(true);
    expect(await trusted(NEW_PHONE)).toBe(false);
    // Over HTTP too: the token is accepted as part of the decision request.
    expect((await decide(t, { ...NEW_PHONE, trustToken: token })).status).toBe(200);
  });

  it('a token does nothing for another user, another device, or once tampered with', async () => {
    const { token } = await trustNewPhone();
    expect(await trusted({ ...NEW_PHONE, userId: 'bob', trustToken: token })).toBe(false);
    expect(await trusted({ ...NEW_PHONE, deviceId: 'd-other', trustToken: token })).toBe(false);
    const { deviceId: _ignored, ...noDevice } = NEW_PHONE;
    expect(await trusted({ ...noDevice, trustToken: token })).toBe(false);
    const parts = token.split('.');
    expect(await trusted({ ...NEW_PHONE, trustToken: [parts[0], parts[1], String(Number(parts[2]) + DAY), parts[3]].join('.') })).toBe(false);
    expect(await trusted({ ...NEW_PHONE, trustToken: `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}` })).toBe(false);
    expect(await trusted({ ...NEW_PHONE, trustToken: 'garbage' })).toBe(false);
  });

  it('has one spelling: upper-case hex, trailing junk or a leading zero make another token, which is refused', async () => {
    const { token } = await trustNewPhone();
    const [prefix, id, exp, mac] = token.split('.') as [string, string, string, string];
    expect(await trusted({ ...NEW_PHONE, trustToken: token })).toBe(true);
    for (const other of [
      [prefix, id, exp, mac.toUpperCase()],
      [prefix, id.toUpperCase(), exp, mac],
      [prefix, id, exp, `${mac}zz`],
      [prefix, id, exp, `${mac}00`],
      [prefix, id, `0${exp}`, mac],
      [prefix, id, exp, mac, ''],
      ['RGT1', id, exp, mac],
    ]) {
      expect(await trusted({ ...NEW_PHONE, trustToken: other.join('.') })).toBe(false);
    }
    expect(await trusted({ ...NEW_PHONE, trustToken: ` ${token}` })).toBe(false);
  });

  it('expires after 30 days', async () => {
    const { token } = await trustNewPhone();
    t.clock.advance(30 * DAY - 1);
    expect(await trusted({ ...NEW_PHONE, trustToken: token })).toBe(true);
    t.clock.advance(1);
    expect(await trusted({ ...NEW_PHONE, trustToken: token })).toBe(false);
  });

  it('is listed and revoked per user', async () => {
    const { token } = await trustNewPhone();
    const list = await send(t, 'GET', '/v1/users/alice/trusted-devices');
    expect(list.body.devices).toEqual([
      { id: expect.any(String), deviceId: 'd-new-phone', label: 'Mobile Safari/iOS/mobile', ip: IP.osloNO, createdAt: new Date(t.clock.now).toISOString(), expiresAt: new Date(t.clock.now + 30 * DAY).toISOString() },
    ]);
    expect(JSON.stringify(list.body)).not.toContain(token.split('.')[3]);
    expect((await send(t, 'GET', '/v1/users/bob/trusted-devices')).body).toEqual({ devices: [] });
    const id = list.body.devices[0].id;
    expect((await send(t, 'DELETE', `/v1/users/bob/trusted-devices/${id}`)).body.error.code).toBe('TRUSTED_DEVICE_NOT_FOUND');
    expect(await trusted({ ...NEW_PHONE, trustToken: token })).toBe(true);
    expect(await send(t, 'DELETE', `/v1/users/alice/trusted-devices/${id}`)).toEqual({ status: 200, body: { status: 'deleted' } });
    expect(await trusted({ ...NEW_PHONE, trustToken: token })).toBe(false);
    expect((await send(t, 'GET', '/v1/users/alice/trusted-devices')).body.devices).toEqual([]);
  });

  it('confirmed fraud revokes every device the user trusted', async () => {
    const { token, decisionId } = await trustNewPhone();
    const f = await t.app.inject({ method: 'POST', url: `/v1/decisions/${decisionId}/feedback`, headers: AUTH, payload: { outcome: 'confirmed_fraud' } });
    expect(f.json()).toMatchObject({ unlearned: true });
    expect(await trusted({ ...NEW_PHONE, trustToken: token })).toBe(false);
    expect((await t.store.audit.query({ kind: 'trust.revoked' }))[0]!.detail).toEqual({ reason: 'confirmed_fraud', count: 1 });
  });

  it('without a deviceId in the login there is nothing to bind a token to', async () => {
    const { deviceId: _ignored, ...noDevice } = NEW_PHONE;
    const d = await decide(t, { ...noDevice, ip: IP.brazil, phone: PHONE });
    expect(d.body.action).toBe('challenge');
    const v = await post(t, `/v1/challenges/${d.body.challenge.id}/verify`, { code: lastCode(t.outbox, PHONE), trustDevice: true });
    expect(v.body).toEqual({ status: 'verified', attemptsLeft: 5 });
    expect(await t.store.audit.query({ kind: 'trust.refused' })).toHaveLength(1);
  });
});
