import { generateKeyPairSync, sign } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { proofString } from '../src/engine/device-proof.js';
import { CHROMIUM, HAVE_CHROMIUM, useChromium } from './chromium.js';
import { AUTH, IP, UA, decide, habit, makeApp, type TestApp } from './helpers.js';

if (!HAVE_CHROMIUM) console.warn(`device key browser test SKIPPED: ${CHROMIUM} is missing (apt-get install chromium); .ci/run installs it`);

const home = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' };

async function register(t: TestApp, jwk: object, userId = 'alice', deviceId = 'd-alice-pc') {
  const res = await t.app.inject({ method: 'POST', url: `/v1/users/${userId}/devices/${deviceId}/key`, headers: AUTH, payload: { publicKey: jwk } });
  return { status: res.statusCode, body: res.json() };
}

const rules = (r: { body: { reasons: { rule: string }[] } }) => r.body.reasons.map((x) => x.rule);

describe('device-bound keys over HTTP', () => {
  let t: TestApp;
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as object), key_ops: ['verify'], ext: true };
  const proof = (time: number) => ({ time, signature: sign('sha256', Buffer.from(proofString('alice', 'd-alice-pc', time)), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url') });
  beforeEach(async () => {
    t = await makeApp();
    await habit(t, home);
  });
  afterEach(() => t.close());

  it('registers a key; then a proof passes once, a missing or replayed one is stepped up', async () => {
    const reg = await register(t, jwk);
    expect(reg).toEqual({ status: 200, body: { deviceId: 'd-alice-pc', registeredAt: new Date(t.clock.now).toISOString() } });
    const p = proof(t.clock.now - 5_000);
    const ok = await decide(t, { ...home, deviceProof: p });
    expect(ok.body.action).toBe('allow');
    expect(rules(ok)).not.toContain('device.proof_invalid');
    const replayed = await decide(t, { ...home, deviceProof: p });
    expect(replayed.body.action).toBe('challenge');
    expect(rules(replayed)).toContain('device.proof_invalid');
    const missing = await decide(t, home);
    expect(missing.body.action).toBe('challenge');
    expect(rules(missing)).toContain('device.proof_missing');
    // Another device of the user has no key: no proof needed.
    expect(rules(await decide(t, { ...home, deviceId: 'd-other', ip: IP.homeNO }))).not.toContain('device.proof_missing');
  });

  it('refuses what is not a P-256 public key, and a malformed proof, with a code', async () => {
    expect(await register(t, { ...jwk, d: 'c2VjcmV0' })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_DEVICE_KEY' } } });
    expect(await register(t, { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB' })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_DEVICE_KEY' } } });
    expect(await register(t, { kty: 'RSA', n: 'x', e: 'AQAB' })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(await decide(t, { ...home, deviceProof: { time: 'now', signature: 'x' } })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(await decide(t, { ...home, deviceProof: { time: 1, signature: 'not base64url!' } })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
  });

  it('takes a fingerprint and refuses unknown attributes', async () => {
    const fp = { timeZone: 'Europe/Oslo', languages: ['nb-NO'], screen: '1920x1080', hardwareConcurrency: 8, clientHints: { platform: '"Windows"', mobile: false } };
    expect((await decide(t, { ...home, fingerprint: fp })).status).toBe(200);
    expect(await decide(t, { ...home, fingerprint: { ...fp, canvas: 'x' } })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
  });

  describe.skipIf(!HAVE_CHROMIUM)(`with real WebCrypto in headless Chromium (${CHROMIUM})`, () => {
    const browser = useChromium();

    it('a non-extractable key made by the browser registers, and its signatures prove the device', async () => {
      // A secure context (WebCrypto needs one): an https page the test serves itself, nothing on the network.
      const page = await browser().newPage();
      await page.route('https://login.example/', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>login</title>' }));
      await page.goto('https://login.example/');
      const time = t.clock.now;
      const made = await page.evaluate(async ({ text }) => {
        const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
        let exported = true;
        try {
          await crypto.subtle.exportKey('jwk', pair.privateKey);
        } catch {
          exported = false;
        }
        const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
        const sig = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new TextEncoder().encode(text)));
        const signature = btoa(String.fromCharCode(...sig)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        return { jwk, signature, exported };
      }, { text: proofString('alice', 'd-alice-pc', time) });
      expect(made.exported).toBe(false); // the private key cannot leave the browser
      expect((await register(t, made.jwk)).status).toBe(200);
      const ok = await decide(t, { ...home, deviceProof: { time, signature: made.signature } });
      expect(ok.body.action).toBe('allow');
      expect(rules(ok)).toEqual([]);
      const forged = { time, signature: made.signature.slice(0, -4) + (made.signature.endsWith('AAAA') ? 'BBBB' : 'AAAA') };
      expect(rules(await decide(t, { ...home, deviceProof: forged }))).toContain('device.proof_invalid');
      await page.close();
    }, 60_000);
  });
});
