import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_KEY, AUTH, HOUR, IP, UA, makeApp, type TestApp } from './helpers.js';

describe('Idempotency-Key', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const post = (url: string, payload: Record<string, unknown>, key?: string, headers: Record<string, string> = AUTH) =>
    t.app.inject({ method: 'POST', url, headers: { ...headers, ...(key === undefined ? {} : { 'idempotency-key': key }) }, payload });
  /** A known user on a new device abroad: a challenge, and an SMS. */
  const abroad = { userId: 'alice', ip: IP.brazil, userAgent: UA.safariIphone, deviceId: 'd-new', phone: '+4791234567' };
  const teach = async () => {
    for (let i = 0; i < 5; i++) {
      await t.engine.decide({ userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-home' });
      t.clock.advance(HOUR);
    }
  };

  it('a retry gets the first answer: no second decision, challenge or SMS', async () => {
    await teach();
    const first = await post('/v1/decisions', abroad, 'k-1');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ action: 'challenge', challenge: { channel: 'sms' } });
    t.clock.advance(23 * HOUR);
    const again = await post('/v1/decisions', { ...abroad }, 'k-1');
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(t.outbox.messages).toHaveLength(1);
    expect((await t.store.audit.query({ userId: 'alice', kind: 'decision' })).length).toBe(6);
    // Past 24 hours the key is free again: a new request.
    t.clock.advance(2 * HOUR);
    const later = await post('/v1/decisions', abroad, 'k-1');
    expect(later.json().decisionId).not.toBe(first.json().decisionId);
  });

  it('the same key with another body, or on another route, is refused with 422 and does nothing', async () => {
    const first = await post('/v1/decisions', { userId: 'bob', ip: IP.homeNO }, 'k-2');
    expect(first.statusCode).toBe(200);
    for (const [url, body] of [
      ['/v1/decisions', { userId: 'bob', ip: IP.osloNO }],
      ['/v1/login-failures', { userId: 'bob', ip: IP.homeNO }],
    ] as const) {
      const other = await post(url, body, 'k-2');
      expect(other.statusCode).toBe(422);
      expect(other.json()).toEqual({ error: { code: 'IDEMPOTENCY_KEY_REUSED', message: expect.stringContaining('another request'), requestId: expect.any(String) } });
    }
    expect((await t.store.audit.query({ userId: 'bob' })).map((e) => e.kind)).toEqual(['decision']);
  });

  it('the same body in another key order is the same request', async () => {
    const a = await post('/v1/login-failures', { userId: 'carol', ip: IP.homeNO, deviceId: 'd1' }, 'k-3');
    const b = await post('/v1/login-failures', { deviceId: 'd1', ip: IP.homeNO, userId: 'carol' }, 'k-3');
    expect(b.body).toBe(a.body);
    expect((await t.store.audit.query({ userId: 'carol' })).length).toBe(1);
  });

  it('two identical requests at once: one runs, the other gets its answer', async () => {
    await teach();
    const [a, b] = await Promise.all([post('/v1/decisions', abroad, 'k-4'), post('/v1/decisions', abroad, 'k-4')]);
    expect(a.statusCode).toBe(200);
    expect(b.body).toBe(a.body);
    expect(t.outbox.messages).toHaveLength(1);
    expect((await t.store.audit.query({ userId: 'alice', kind: 'challenge.created' })).length).toBe(1);
  });

  it('resend: a retry sends no second code', async () => {
    await teach();
    const d = (await post('/v1/decisions', abroad)).json() as { challenge: { id: string } };
    const url = `/v1/challenges/${d.challenge.id}/resend`;
    const first = await post(url, {}, 'r-1');
    expect(first.statusCode).toBe(200);
    expect((await post(url, {}, 'r-1')).body).toBe(first.body);
    expect(t.outbox.messages).toHaveLength(2);
  });

  it('is scoped per API key, and a failed request keeps nothing', async () => {
    const other = await makeApp({ store: t.store, clock: t.clock, apiKeys: [`${API_KEY}:decide+factors+admin`, 'other-key'] });
    try {
      const mine = await other.app.inject({ method: 'POST', url: '/v1/decisions', headers: { ...AUTH, 'idempotency-key': 'shared' }, payload: { userId: 'dan', ip: IP.homeNO } });
      const theirs = await other.app.inject({ method: 'POST', url: '/v1/decisions', headers: { authorization: 'Bearer other-key', 'idempotency-key': 'shared' }, payload: { userId: 'dan', ip: IP.osloNO } });
      expect(theirs.statusCode).toBe(200);
      expect(theirs.json().decisionId).not.toBe(mine.json().decisionId);
    } finally {
      await other.app.close();
    }
    // A refused phone number: nothing done, nothing kept, so the corrected retry runs.
    const bad = await post('/v1/decisions', { userId: 'erin', ip: IP.homeNO, phone: '12' }, 'k-5');
    expect(bad.statusCode).toBe(400);
    expect((await post('/v1/decisions', { userId: 'erin', ip: IP.homeNO, phone: '12' }, 'k-5')).statusCode).toBe(400);
  });

  it('a malformed key is a 400', async () => {
    for (const key of ['', 'has space', 'x'.repeat(256)]) {
      const res = await post('/v1/decisions', { userId: 'f', ip: IP.homeNO }, key);
      expect(res.statusCode, key).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
    }
  });
});
