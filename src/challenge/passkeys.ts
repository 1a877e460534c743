import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { RefusedError } from '../errors.js';
import type { Passkeys } from '../store/ports.js';
import type { Clock } from '../types.js';
import type { ChallengeEvent } from './events.js';
import type { Keys } from './keys.js';
import type { ChallengeRecord, PasskeyRecord, VerifyResult } from './model.js';
import type { PasskeySettings } from './passkey-config.js';

export type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON };

/** A passkey as the API lists it: nothing of the key itself. */
export interface PasskeyView {
  id: string;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface PasskeyFactorOptions {
  store: Passkeys;
  keys: Keys;
  clock: Clock;
  settings: PasskeySettings;
  emit: (e: ChallengeEvent) => Promise<void>;
}

const base64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** Constant-time equality of two strings. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The challenge a browser signed, read from the response's clientDataJSON; null when it is not there. */
function signedChallenge(clientDataJSON: string): string | null {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' && data.challenge.length <= 256 ? data.challenge : null;
  } catch {
    return null;
  }
}

/** The library's message, which says what did not match (origin, rpId, flags, signature) and holds no secret. */
const reasonOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 300);

/**
 * Passkeys (WebAuthn, through @simplewebauthn/server): registration with a single-use
 * challenge that expires, and the step-up's assertion check. A step-up's WebAuthn challenge
 * is not stored: it is a keyed hash of the riskgate challenge's id, so an assertion signs
 * that one challenge, and the riskgate challenge's own single use, expiry and attempt limit
 * apply to it. The signature counter is checked by the store in one atomic step (it moves
 * only forward), not by the library, so that two instances never both accept one value.
 */
export class PasskeyFactor {
  constructor(private readonly o: PasskeyFactorOptions) {}

  get settings(): PasskeySettings {
    return this.o.settings;
  }

  /** Options for navigator.credentials.create(); its challenge is kept until the registration's timeout. */
  async registrationOptions(userId: string, userName?: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const s = this.o.settings;
    const existing = await this.o.store.listPasskeys(userId);
    const options = await generateRegistrationOptions({
      rpName: s.rpName,
      rpID: s.rpId,
      userName: userName ?? userId,
      // The user handle the authenticator keeps: a digest, so the user id itself is not stored on the device.
      userID: new Uint8Array(createHash('sha256').update(`riskgate passkey user\0${userId}`).digest()),
      timeout: s.timeoutSeconds * 1000,
      attestationType: s.attestation,
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: s.userVerification },
    });
    const now = this.o.clock();
    await this.o.store.addRegistration(userId, options.challenge, now, now + s.timeoutSeconds * 1000);
    return options;
  }

  /** Checks the browser's answer to registrationOptions and keeps the passkey; refused with PASSKEY_REGISTRATION_FAILED or PASSKEY_ALREADY_REGISTERED. */
  async register(userId: string, response: RegistrationResponseJSON, label?: string): Promise<PasskeyRecord> {
    const s = this.o.settings;
    const now = this.o.clock();
    const challenge = signedChallenge(response.response.clientDataJSON);
    // Spent before anything else is checked: a response is looked at once, whatever it holds.
    if (challenge === null || !(await this.o.store.takeRegistration(userId, challenge, now))) {
      return this.refuseRegistration(userId, 'the registration challenge is unknown, was already used, or expired; ask for new options');
    }
    let info;
    try {
      const v = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: s.origins, expectedRPID: s.rpId, requireUserVerification: s.userVerification === 'required' });
      info = v.verified ? v.registrationInfo : undefined;
    } catch (e) {
      return this.refuseRegistration(userId, reasonOf(e));
    }
    if (!info) return this.refuseRegistration(userId, 'the response did not verify');
    const record: PasskeyRecord = {
      id: randomUUID(),
      userId,
      credentialId: info.credential.id,
      publicKey: base64url(info.credential.publicKey),
      counter: info.credential.counter,
      transports: info.credential.transports ?? response.response.transports ?? [],
      label: label ?? '',
      createdAt: now,
      lastUsedAt: null,
    };
    if (!(await this.o.store.addPasskey(record))) {
      await this.o.emit({ type: 'passkey_registration_failed', userId, reason: 'credential already registered' });
      throw new RefusedError('PASSKEY_ALREADY_REGISTERED', 'this passkey is already registered');
    }
    await this.o.emit({ type: 'passkey_registered', userId, passkeyId: record.id, format: info.fmt, userVerified: info.userVerified });
    return record;
  }

  async list(userId: string): Promise<PasskeyView[]> {
    const iso = (t: number) => new Date(t).toISOString();
    return (await this.o.store.listPasskeys(userId)).map((p) => ({ id: p.id, label: p.label, createdAt: iso(p.createdAt), lastUsedAt: p.lastUsedAt === null ? null : iso(p.lastUsedAt) }));
  }

  async delete(userId: string, id: string): Promise<void> {
    if (!(await this.o.store.deletePasskey(userId, id))) throw new RefusedError('PASSKEY_NOT_FOUND', 'the user has no passkey with this id');
    await this.o.emit({ type: 'passkey_deleted', userId, passkeyId: id });
  }

  /** Whether the user has a passkey a challenge can ask for. */
  async has(userId: string): Promise<boolean> {
    return (await this.o.store.listPasskeys(userId)).length > 0;
  }

  /** Options for navigator.credentials.get() that answer challenge `c`: the user's passkeys, and the challenge's own WebAuthn challenge. */
  async requestOptions(c: ChallengeRecord): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const s = this.o.settings;
    const passkeys = await this.o.store.listPasskeys(c.userId);
    return generateAuthenticationOptions({
      rpID: s.rpId,
      challenge: Buffer.from(this.o.keys.mac('code', 'passkey', c.id), 'hex'),
      allowCredentials: passkeys.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
      userVerification: s.userVerification,
      timeout: Math.max(1000, c.expiresAt - this.o.clock()),
    });
  }

  /**
   * Checks an assertion against challenge `c` (which the caller found open): a passkey of
   * c's user, the challenge derived from c's id (under the current or a previous secret), the
   * configured origins and rpId, user verification when required, the signature, and a
   * counter that moved forward. Every refusal is audited with its reason.
   */
  async check(c: ChallengeRecord, response: AuthenticationResponseJSON, now: number): Promise<VerifyResult> {
    const s = this.o.settings;
    const passkey = (await this.o.store.listPasskeys(c.userId)).find((p) => p.credentialId === response.id);
    if (!passkey) return this.reject(c, null, 'the credential is not a passkey of this user');
    const expected = this.o.keys.macs('code', 'passkey', c.id).map((m) => Buffer.from(m, 'hex').toString('base64url'));
    let newCounter: number;
    try {
      const v = await verifyAuthenticationResponse({
        response,
        expectedChallenge: (signed) => expected.some((e) => sameText(e, signed)),
        expectedOrigin: s.origins,
        expectedRPID: s.rpId,
        // The counter is compared by the store, atomically (useCounter): 0 turns the library's own check off.
        credential: { id: passkey.credentialId, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: 0, transports: passkey.transports as AuthenticatorTransportFuture[] },
        requireUserVerification: s.userVerification === 'required',
      });
      if (!v.verified) return this.reject(c, passkey.id, 'the assertion did not verify');
      newCounter = v.authenticationInfo.newCounter;
    } catch (e) {
      return this.reject(c, passkey.id, reasonOf(e));
    }
    if (!(await this.o.store.useCounter(c.userId, passkey.id, newCounter, now))) {
      // A valid signature over this very challenge with a counter that did not move: the authenticator's key is in two places.
      await this.o.emit({ type: 'passkey_counter_regressed', challenge: c, passkeyId: passkey.id, stored: passkey.counter, presented: newCounter });
      return 'invalid';
    }
    return 'verified';
  }

  private async reject(c: ChallengeRecord, passkeyId: string | null, reason: string): Promise<VerifyResult> {
    await this.o.emit({ type: 'passkey_rejected', challenge: c, passkeyId, reason });
    return 'invalid';
  }

  private async refuseRegistration(userId: string, reason: string): Promise<never> {
    await this.o.emit({ type: 'passkey_registration_failed', userId, reason });
    throw new RefusedError('PASSKEY_REGISTRATION_FAILED', `the passkey was not registered: ${reason}`);
  }
}
