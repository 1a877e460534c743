import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: the example is plain JavaScript, as an integrator might copy it
import { buildPasskeyDemo } from '../examples/passkeys/server.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type Server } from '../src/server.js';
import { HOME, NEW_PHONE, post, send } from './challenge-helpers.js';
import { RULES_DIR, UA, decide, habit, makeApp, type TestApp } from './helpers.js';

/** Debian's Chromium (apt-get install chromium); never a browser downloaded by npm. */
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`passkeys browser test SKIPPED: ${CHROMIUM} is missing (apt-get install chromium); .ci/run installs it`);

/** The login pages' origin (configured) and another one on the same rpId (not configured). No server listens: the browser's requests are answered by route(). */
const ORIGIN = 'http://localhost:4173';
const OTHER_ORIGIN = 'http://localhost:4174';
const PASSKEYS = { rpId: 'localhost', rpName: 'riskgate test', origins: [ORIGIN] };

type Json = Record<string, unknown>;

/** navigator.credentials.create() with riskgate's options, in the page; the credential's toJSON(). Run as page text: the test is compiled without DOM types. */
function create(page: Page, options: unknown): Promise<Json> {
  return page.evaluate(`(async () => {
    const c = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(${JSON.stringify(options)}) });
    return c.toJSON();
  })()`);
}

/** navigator.credentials.get() with a challenge's options, in the page; the assertion's toJSON(). */
function get(page: Page, options: unknown): Promise<Json> {
  return page.evaluate(`(async () => {
    const c = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(${JSON.stringify(options)}) });
    return c.toJSON();
  })()`);
}

describe.skipIf(!HAVE_CHROMIUM)(`passkeys in headless Chromium (${CHROMIUM}) with a CDP virtual authenticator`, () => {
  let browser: BrowserContext;
  let profile: string;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let t: TestApp;

  beforeAll(async () => {
    t = await makeApp({ file: { passkeys: PASSKEYS } });
    await habit(t, HOME);
    const { chromium } = await import('playwright-core');
    profile = await mkdtemp(join(tmpdir(), 'riskgate-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      // A desktop Chrome's: headless Chromium's own says "HeadlessChrome", which the automation rule steps up.
      userAgent: UA.chromeWindows,
    });
    for (const origin of [ORIGIN, OTHER_ORIGIN]) await browser.route(`${origin}/**`, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>login</title>' }));
    page = await browser.newPage();
    await page.goto(`${ORIGIN}/`);
    cdp = await browser.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await t?.close();
  });

  /** Registers a passkey for `userId` from the page; riskgate's answer. */
  async function register(userId: string, label?: string) {
    const r = await post(t, `/v1/users/${userId}/passkeys/registration`, {});
    expect(r.status).toBe(200);
    expect(r.body.options.rp).toEqual({ id: 'localhost', name: 'riskgate test' });
    const response = await create(page, r.body.options);
    return post(t, `/v1/users/${userId}/passkeys`, { response, ...(label ? { label } : {}) });
  }

  let logins = 0;
  /**
   * A risky login (a new phone on a new subnet of the user's provider): the challenge riskgate
   * answers with. Each is another phone and subnet, as a passed one teaches the profile.
   */
  async function riskyLogin(userId = 'alice') {
    logins += 1;
    const d = await decide(t, { ...NEW_PHONE, userId, deviceId: `d-phone-${logins}`, ip: `81.167.${150 + logins}.9`, phone: '+4791234567' });
    expect(d.body.action).toBe('challenge');
    return d.body.challenge as { id: string; channel: string; options?: Json & { allowCredentials: { id: string }[] } };
  }

  let aliceKey: string;
  let aliceCredential: string;

  it('registers a passkey: options for the browser, then its response; listed with its label', async () => {
    const r = await register('alice', 'Chromium');
    expect(r).toMatchObject({ status: 200, body: { status: 'registered' } });
    aliceKey = r.body.id;
    const list = await send(t, 'GET', '/v1/users/alice/passkeys');
    expect(list.body).toEqual({ passkeys: [{ id: aliceKey, label: 'Chromium', createdAt: new Date(t.clock.now).toISOString(), lastUsedAt: null }] });
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    aliceCredential = Buffer.from(credentials[0]!.credentialId, 'base64').toString('base64url');
    expect((await t.store.audit.query({ userId: 'alice', kind: 'passkey.registered' }))[0]).toMatchObject({ ref: aliceKey, detail: { format: 'none', userVerified: true } });
  });

  it('refuses a registration response sent twice: its challenge is spent', async () => {
    const r = await post(t, '/v1/users/carol/passkeys/registration', {});
    const response = await create(page, r.body.options);
    expect((await post(t, '/v1/users/carol/passkeys', { response })).status).toBe(200);
    const again = await post(t, '/v1/users/carol/passkeys', { response });
    expect(again).toMatchObject({ status: 422, body: { error: { code: 'PASSKEY_REGISTRATION_FAILED' } } });
  });

  let assertion: Json;
  let firstChallenge: string;

  it('passes a step-up with it: a risky login gets a passkey challenge for alice\'s credentials, verified with {passkey}', async () => {
    const c = await riskyLogin();
    expect(c.channel).toBe('passkey');
    expect(c.options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    expect(c.options!.allowCredentials.map((x) => x.id)).toEqual([aliceCredential]);
    assertion = await get(page, c.options);
    firstChallenge = c.id;
    t.clock.advance(20_000);
    expect((await post(t, `/v1/challenges/${c.id}/verify`, { passkey: assertion })).body).toMatchObject({ status: 'verified' });
    expect((await send(t, 'GET', '/v1/users/alice/passkeys')).body.passkeys[0].lastUsedAt).toBe(new Date(t.clock.now).toISOString());
    expect((await t.store.audit.query({ ref: c.id, kind: 'challenge.verified' }))[0]!.detail).toMatchObject({ method: 'passkey' });
  });

  it('refuses the same assertion again: "used" on its own challenge, "invalid" on another one', async () => {
    expect((await post(t, `/v1/challenges/${firstChallenge}/verify`, { passkey: assertion })).body.status).toBe('used');
    const other = await riskyLogin();
    const r = await post(t, `/v1/challenges/${other.id}/verify`, { passkey: assertion });
    expect(r.body).toEqual({ status: 'invalid', attemptsLeft: 4 });
    expect((await t.store.audit.query({ ref: other.id, kind: 'passkey.rejected' }))[0]!.detail).toMatchObject({ passkeyId: aliceKey, reason: expect.stringMatching(/challenge/i) });
    // The challenge is still good for a fresh assertion.
    expect((await post(t, `/v1/challenges/${other.id}/verify`, { passkey: await get(page, other.options) })).body.status).toBe('verified');
  });

  it('refuses an assertion of alice\'s passkey for another user\'s challenge', async () => {
    await habit(t, { ...HOME, userId: 'bob', deviceId: 'd-bob-pc' });
    expect((await register('bob')).status).toBe(200);
    const bobs = await riskyLogin('bob');
    expect(bobs.channel).toBe('passkey');
    // Alice's authenticator signs bob's challenge (his options, her credential).
    const signed = await get(page, { ...bobs.options, allowCredentials: [{ id: aliceCredential, type: 'public-key' }] });
    expect(signed.id).toBe(aliceCredential);
    expect((await post(t, `/v1/challenges/${bobs.id}/verify`, { passkey: signed })).body.status).toBe('invalid');
    expect((await t.store.audit.query({ ref: bobs.id, kind: 'passkey.rejected' }))[0]!.detail).toMatchObject({ passkeyId: null, reason: 'the credential is not a passkey of this user' });
  });

  it('refuses an assertion made on an origin that is not configured', async () => {
    const c = await riskyLogin();
    const other = await browser.newPage();
    await other.goto(`${OTHER_ORIGIN}/`);
    const otherCdp = await browser.newCDPSession(other);
    await otherCdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId: id } = await otherCdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    // The same key in the other tab's authenticator, one use ahead, so only the origin is wrong.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const alice = credentials.find((x) => Buffer.from(x.credentialId, 'base64').toString('base64url') === aliceCredential)!;
    await otherCdp.send('WebAuthn.addCredential', { authenticatorId: id, credential: { ...alice, signCount: alice.signCount + 1 } });
    const signed = await get(other, c.options);
    await other.close();
    expect((await post(t, `/v1/challenges/${c.id}/verify`, { passkey: signed })).body.status).toBe('invalid');
    expect((await t.store.audit.query({ ref: c.id, kind: 'passkey.rejected' }))[0]!.detail).toMatchObject({ reason: expect.stringContaining(OTHER_ORIGIN) });
  });

  it('refuses a signature counter that went backwards (a cloned authenticator), audited', async () => {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const alice = credentials.find((x) => Buffer.from(x.credentialId, 'base64').toString('base64url') === aliceCredential)!;
    // The clone: the same key with an older counter, in place of the current one.
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: alice.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...alice, signCount: 1 } });
    const c = await riskyLogin();
    const r = await post(t, `/v1/challenges/${c.id}/verify`, { passkey: await get(page, c.options) });
    expect(r.body.status).toBe('invalid');
    expect((await t.store.audit.query({ ref: c.id, kind: 'passkey.counter_regressed' }))[0]!.detail).toMatchObject({ passkeyId: aliceKey, presented: 2 });
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: alice.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: alice });
  });

  it('deletes the passkey; challenges then use another channel', async () => {
    expect((await send(t, 'DELETE', `/v1/users/alice/passkeys/${aliceKey}`)).body).toEqual({ status: 'deleted' });
    expect((await send(t, 'GET', '/v1/users/alice/passkeys')).body).toEqual({ passkeys: [] });
    expect((await send(t, 'DELETE', `/v1/users/alice/passkeys/${aliceKey}`)).body.error.code).toBe('PASSKEY_NOT_FOUND');
    expect((await riskyLogin()).channel).toBe('sms');
  });

  describe('examples/passkeys, against a real riskgate', () => {
    let riskgate: Server;
    let demo: { listen(o: { host: string; port: number }): Promise<string>; close(): Promise<void>; server: { address(): { port: number } } };
    let demoPage: Page;

    beforeAll(async () => {
      let url = '';
      demo = buildPasskeyDemo({ riskgateUrl: () => url, riskgateKey: 'rg_demo' });
      await demo.listen({ host: '127.0.0.1', port: 0 });
      const origin = `http://localhost:${demo.server.address().port}`;
      const config = loadConfig({ data: await mkdtemp(join(tmpdir(), 'riskgate-demo-')), rules: RULES_DIR, port: '0' });
      config.file.passkeys = { rpId: 'localhost', rpName: 'riskgate demo', origins: [origin] };
      riskgate = await startServer({ config, env: { RISKGATE_API_KEYS: 'rg_demo:decide+factors' }, logger: createLogger('silent'), announce: () => undefined });
      url = riskgate.url;
      demoPage = await browser.newPage();
      await demoPage.goto(`${origin}/`);
      const session = await browser.newCDPSession(demoPage);
      await session.send('WebAuthn.enable', { enableUI: false });
      await session.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });
    }, 60_000);
    afterAll(async () => {
      await demoPage?.close();
      await demo?.close();
      await riskgate?.close();
    });

    /** Clicks a button and waits for the page's status line, which it expects to match `expected`. */
    async function click(id: string, expected: RegExp): Promise<string> {
      await demoPage.evaluate(`document.getElementById('status').textContent = ''`);
      await demoPage.click(`#${id}`);
      await demoPage.waitForFunction(`document.getElementById('status').textContent !== ''`);
      const status = (await demoPage.locator('#status').textContent()) ?? '';
      expect(status, await demoPage.locator('#out').textContent() ?? '').toMatch(expected);
      return status;
    }

    it('suggests a passkey, registers one, passes a step-up with it, and deletes it', { timeout: 60_000 }, async () => {
      await demoPage.fill('#username', 'dana');
      for (let i = 0; i < 3; i++) await click('login', /^allow — riskgate suggests adding a passkey/);
      await click('register', /^passkey registered$/);
      await demoPage.locator('#passkeys li').first().waitFor();
      expect(await demoPage.locator('#passkeys li').allTextContents()).toEqual([expect.stringMatching(/^this browser \(registered .*, last used never\)/)]);
      await demoPage.fill('#ip', '84.208.0.1');
      await demoPage.check('#newDevice');
      await click('login', /^step-up verified$/);
      await demoPage.fill('#ip', '84.208.77.2');
      await demoPage.click('#passkeys li button');
      await demoPage.locator('#passkeys li').first().waitFor({ state: 'detached' });
      await click('login', /^challenge$/);
    });
  });
});
