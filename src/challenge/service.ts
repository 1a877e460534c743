import { randomUUID } from 'node:crypto';
import { InputError, RefusedError } from '../errors.js';
import { parseIp } from '../signals/network.js';
import type { VerifyResult, Channel, ChallengeChannel, ChallengeRecord, TrustedDevice } from './model.js';
import type { AuditLog, ChallengeState, DecisionLog, Passkeys } from '../store/ports.js';
import type { Clock } from '../types.js';
import { makeRecoveryCode, normalizeCode, normalizeRecoveryCode, withoutCode } from './codes.js';
import type { Delivery, DeliveryOutcome, Destinations, SendGate } from './delivery.js';
import { auditEntries, type ChallengeEvent } from './events.js';
import type { Keys } from './keys.js';
import type { AbuseLimits } from './limits.js';
import type { LimitHit, PumpingGuard } from './pumping.js';
import type { PasskeySettings } from './passkey-config.js';
import { PasskeyFactor, type AuthenticationResponseJSON, type PasskeyView, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON, type RegistrationResponseJSON } from './passkeys.js';
import { maskDestination, normalizePhone } from './phone.js';
import { matchingStep, newEnrolment, type TotpEnrolment } from './totp.js';
import type { TrustTokens } from './trust.js';

const RECOVERY_CODES = 10;
/** The limit counter of a challenge's sends (resend race): keyed by the challenge id. */
const SENDS = 'challenge_sends';

/** A channel a code is sent on, as opposed to a factor the user holds (TOTP, a passkey). */
function isCodeChannel(c: ChallengeChannel): c is Channel {
  return c === 'sms' || c === 'whatsapp' || c === 'voice' || c === 'email';
}

/** A factor the user holds, which a challenge can use instead of sending a code. */
export type StrongFactor = 'passkey' | 'totp';

export interface ChallengeSettings {
  /** The factors a challenge uses before a sent code, in order, when the user has them. */
  prefer: readonly StrongFactor[];
  codeLength: number;
  ttlSeconds: number;
  maxAttempts: number;
  maxSends: number;
  issuer: string;
  /** /resend may move a challenge on a stronger factor (TOTP, passkey) to a code channel. */
  allowDowngrade: boolean;
}

/** What the login service sends about the user with a decision. */
export interface ChallengeRequest {
  userId: string;
  ip: string;
  deviceId?: string | undefined;
  phone?: string | undefined;
  country?: string | undefined;
  email?: string | undefined;
}

/** A challenge as the API shows it: where the code went, never the code. */
export type ChallengeView = {
  id: string;
  channel: ChallengeChannel;
  expiresAt: string;
  delivered: boolean;
  destination: string | null;
  attemptsLeft: number;
  /** The channels /resend can move to, in fallback order. */
  channels: Channel[];
  /** For a passkey challenge: what the page hands to navigator.credentials.get(). */
  options?: PublicKeyCredentialRequestOptionsJSON;
};

export interface VerifyInput {
  code?: string | undefined;
  recoveryCode?: string | undefined;
  /** The browser's assertion (credential.toJSON() of navigator.credentials.get()). */
  passkey?: AuthenticationResponseJSON | undefined;
  trustDevice?: boolean | undefined;
  /** The end user's address, when it differs from the login's (the per-IP verify limit). */
  ip?: string | undefined;
}

export interface VerifyAnswer {
  status: 'verified' | 'invalid' | 'expired' | 'locked' | 'used';
  attemptsLeft: number;
  trustToken?: string;
}

export interface ChallengeServiceOptions {
  store: ChallengeState;
  /** The decision a challenge is for (the label of a device trusted after it). */
  decisions: Pick<DecisionLog, 'get'>;
  audit: Pick<AuditLog, 'append'>;
  /** A challenge of this decision was passed: the login teaches the profile. */
  onPassed: (decisionId: string) => Promise<unknown>;
  keys: Keys;
  delivery: Delivery;
  trust: TrustTokens;
  limits: AbuseLimits;
  pumping: PumpingGuard;
  /** Hears every event once it is in the audit trail (the metrics). */
  onEvent: (e: ChallengeEvent) => void;
  clock: Clock;
  settings: ChallengeSettings;
  /** Users' passkeys and the relying party (riskgate.yaml `passkeys:`); null when not configured. */
  passkeys: { store: Passkeys; settings: PasskeySettings } | null;
}

/**
 * The step-up: issues a challenge for a "challenge" decision (TOTP when the user has it,
 * otherwise a code through the delivery fallback), verifies answers, resends, and keeps the
 * user's second factors. Framework-free: the HTTP routes call one method each.
 */
export class ChallengeService {
  private readonly passkeys: PasskeyFactor | null;

  constructor(private readonly o: ChallengeServiceOptions) {
    this.passkeys = o.passkeys && new PasskeyFactor({ ...o.passkeys, keys: o.keys, clock: o.clock, emit: (e) => this.emit(e) });
  }

  /** Refuses a phone number before anything is decided, stored or sent. */
  checkRequest(r: ChallengeRequest): void {
    if (r.phone) this.o.pumping.checkCountry(normalizePhone(r.phone, r.country));
  }

  /** The factor a challenge for the user uses instead of a sent code: the first of `prefer` that the user holds. */
  async strongFactor(userId: string): Promise<StrongFactor | null> {
    for (const f of this.o.settings.prefer) {
      if (f === 'passkey' && this.passkeys && (await this.passkeys.has(userId))) return 'passkey';
      if (f === 'totp' && (await this.o.store.getTotp(userId))?.confirmed) return 'totp';
    }
    return null;
  }

  /**
   * The enrolment nudge for a decision whose policy suggests `factor`: it stands when the user
   * has no strong factor (no passkey, no confirmed TOTP) and riskgate can enrol that factor
   * (passkeys configured); else undefined.
   */
  async enrolmentSuggestion(userId: string, factor: 'passkey'): Promise<{ suggest: 'passkey' } | undefined> {
    if (factor !== 'passkey' || !this.passkeys) return undefined;
    const [passkey, totp] = await Promise.all([this.passkeys.has(userId), this.o.store.getTotp(userId)]);
    return passkey || totp?.confirmed ? undefined : { suggest: factor };
  }

  /** A challenge for a "challenge" decision, or undefined when the user has no second factor riskgate can use. */
  async issue(decisionId: string, r: ChallengeRequest): Promise<ChallengeView | undefined> {
    const { store, delivery, settings } = this.o;
    const now = this.o.clock();
    const ip = parseIp(r.ip).ip;
    const dest: Destinations = { phone: r.phone ? normalizePhone(r.phone, r.country) : null, email: r.email ?? null };
    const factor = await this.strongFactor(r.userId);
    const channels = delivery.channels(dest);
    const base = { userId: r.userId, ip };
    if (factor === null && channels.length === 0) {
      await this.emit({ type: 'unavailable', decisionId, ...base });
      return undefined;
    }
    if (!(await this.o.limits.take('perUserPerHour', r.userId, now))) {
      await this.emit({ type: 'rate_limited', ref: decisionId, ...base, limit: 'perUserPerHour' });
      throw new RefusedError('CHALLENGE_RATE_LIMITED', 'too many challenges for this user in the last hour; try again later');
    }

    const id = randomUUID();
    const c: ChallengeRecord = {
      id,
      decisionId,
      userId: r.userId,
      ip,
      deviceId: r.deviceId ?? null,
      channel: factor ?? 'totp',
      destination: null,
      phone: dest.phone?.e164 ?? null,
      email: dest.email,
      provider: null,
      providerRef: null,
      codeHash: null,
      status: 'pending',
      attempts: 0,
      maxAttempts: settings.maxAttempts,
      sends: 0,
      createdAt: now,
      expiresAt: now + settings.ttlSeconds * 1000,
      verifiedAt: null,
    };
    let delivered = true;
    if (factor === null) {
      const out = await delivery.deliver(id, channels, dest, this.gate(now, dest));
      if (!out.ok && out.attempts.every((a) => a.result === 'limit')) {
        // riskgate's own limits refused every channel (SMS pumping, a flood to one number): nothing to verify later.
        await this.emit({ type: 'destinations_limited', decisionId, ...base, attempts: out.attempts });
        throw new RefusedError('CHALLENGE_RATE_LIMITED', 'too many codes sent to this destination in the last hour; try again later');
      }
      delivered = out.ok;
      Object.assign(c, out.ok ? this.deliveryFields(id, out, c.expiresAt) : { channel: channels[0]! });
      c.sends = out.ok ? 1 : 0;
      if (out.ok) await this.o.limits.place(SENDS, id, settings.maxSends, this.sendsTtl());
      await store.createChallenge(c);
      await this.emit({ type: 'sent', challenge: c, delivery: out });
    } else {
      await store.createChallenge(c);
    }
    await this.emit({ type: 'issued', challenge: c, delivered });
    return this.view(c, delivered, channels, factor === 'passkey' ? await this.passkeys!.requestOptions(c) : undefined);
  }

  async verify(id: string, input: VerifyInput): Promise<VerifyAnswer> {
    const { store } = this.o;
    if ([input.code, input.recoveryCode, input.passkey].filter((x) => x !== undefined).length !== 1) {
      throw new InputError('INVALID_REQUEST', 'send one of `code`, `recoveryCode` or `passkey`');
    }
    if (input.passkey !== undefined) this.passkeyFactor();
    const ip = input.ip === undefined ? undefined : parseIp(input.ip).ip;
    const c = await this.challenge(id);
    const now = this.o.clock();
    if (!(await this.o.limits.take('verifyPerIpPerHour', ip ?? c.ip, now))) {
      await this.emit({ type: 'rate_limited', ref: id, userId: c.userId, ip: ip ?? c.ip, limit: 'verifyPerIpPerHour' });
      throw new RefusedError('VERIFY_RATE_LIMITED', 'too many verify attempts from this address in the last hour');
    }
    // A challenge that is no longer open answers its state; no code is looked at, no recovery code spent.
    const open = c.status === 'pending' && now < c.expiresAt && c.attempts < c.maxAttempts;
    let result: VerifyResult = 'expired';
    if (open) {
      if (input.recoveryCode !== undefined) result = await this.useRecoveryCode(c.userId, input.recoveryCode, now);
      else if (input.passkey !== undefined) result = await this.passkeyFactor().check(c, input.passkey, now);
      else result = await this.checkCode(c, input.code!, now);
    }
    const out = (await store.recordVerifyAttempt(id, result, now))!;

    const answer: VerifyAnswer = { status: out.status, attemptsLeft: Math.max(0, out.maxAttempts - out.attempts) };
    const method = input.recoveryCode !== undefined ? 'recovery_code' : input.passkey !== undefined ? 'passkey' : c.channel;
    await this.emit({ type: 'answered', challenge: c, outcome: out, ip: ip ?? c.ip, method, settled: open && out.status !== 'invalid' });

    if (out.status === 'verified') {
      await this.o.onPassed(c.decisionId);
      if (input.trustDevice) answer.trustToken = await this.trustDevice(c, now);
    }
    return answer;
  }

  /** Sends a new code, on `channel` or the next channel in the fallback order; the wrong-attempt count stays. */
  async resend(id: string, channel?: Channel): Promise<ChallengeView> {
    const { store, delivery, settings } = this.o;
    const c = await this.challenge(id);
    const now = this.o.clock();
    if (c.status !== 'pending' || now >= c.expiresAt || c.attempts >= c.maxAttempts) {
      const state = c.status === 'pending' ? (now >= c.expiresAt ? 'expired' : 'locked') : c.status;
      throw new RefusedError('CHALLENGE_CLOSED', `the challenge is ${state}; nothing to resend`);
    }
    if (c.sends >= settings.maxSends) throw new RefusedError('RESEND_LIMIT', `this challenge was already sent ${c.sends} times`);
    const dest: Destinations = { phone: c.phone ? normalizePhone(c.phone) : null, email: c.email };
    const channels = delivery.channels(dest);
    if (channel !== undefined && !channels.includes(channel)) throw new RefusedError('CHANNEL_UNAVAILABLE', `this challenge cannot be sent by ${channel}`);
    if (channels.length === 0) throw new RefusedError('CHANNEL_UNAVAILABLE', 'this challenge has no phone number or e-mail address to send to');
    const downgrade = !isCodeChannel(c.channel);
    if (downgrade && !settings.allowDowngrade) {
      await this.emit({ type: 'downgrade', challenge: c, to: channel ?? channels[0]!, allowed: false });
      throw new RefusedError('DOWNGRADE_REFUSED', `this challenge is answered with ${c.channel}; it is not sent as a code (challenges.allowDowngrade)`);
    }
    const start = channel !== undefined ? channels.indexOf(channel) : (channels.indexOf(c.channel as Channel) + 1) % channels.length;
    const order = [...channels.slice(start), ...channels.slice(0, start)];

    // The send is counted before any provider is asked, atomically in the store: of twenty
    // resends at once (on any instances), at most maxSends codes go out, the first included.
    if (!(await this.o.limits.place(SENDS, id, settings.maxSends, this.sendsTtl()))) {
      throw new RefusedError('RESEND_LIMIT', `this challenge was already sent ${settings.maxSends} times`);
    }
    const out = await delivery.deliver(id, order, dest, this.gate(now, dest));
    if (!out.ok) await this.o.limits.give(SENDS, id, this.sendsTtl());
    const next = out.ok ? { ...c, ...this.deliveryFields(id, out, now + settings.ttlSeconds * 1000) } : c;
    await this.emit({ type: 'sent', challenge: c, delivery: out });
    await this.emit({ type: 'resent', challenge: c, delivery: out, first: order[0]! });
    if (downgrade && out.ok) await this.emit({ type: 'downgrade', challenge: c, to: out.channel, allowed: true });
    if (!out.ok) {
      if (out.attempts.every((a) => a.result === 'rate_limited' || a.result === 'limit')) throw new RefusedError('CHALLENGE_RATE_LIMITED', 'every channel is rate-limited for this destination now; try again later');
      throw new RefusedError('DELIVERY_FAILED', `no provider could send the code (${out.attempts.length} tried); the challenge stays pending`);
    }
    const { channel: ch, destination, provider, providerRef, codeHash, expiresAt } = next;
    if (!(await store.recordDelivery(id, { channel: ch, destination, provider, providerRef, codeHash, expiresAt }))) {
      throw new RefusedError('CHALLENGE_CLOSED', 'the challenge was answered while the new code was being sent');
    }
    return this.view({ ...next, sends: c.sends + 1 }, true, channels);
  }

  /**
   * Closes challenges that expired unanswered, so the audit trail and metrics hold every
   * expiry, not only those someone tried to answer late. The server runs it every minute.
   */
  async expireDue(batch = 500): Promise<number> {
    const expired = await this.o.store.expireChallenges(this.o.clock(), batch);
    for (const c of expired) await this.emit({ type: 'expired', challenge: c });
    return expired.length;
  }

  /** `account` is the name the authenticator app shows; the user id by default. */
  async enrolTotp(userId: string, account?: string): Promise<TotpEnrolment> {
    const existing = await this.o.store.getTotp(userId);
    if (existing?.confirmed) throw new RefusedError('TOTP_ALREADY_ENROLLED', 'the user already has a confirmed authenticator; delete it first');
    const now = this.o.clock();
    const e = await newEnrolment(this.o.settings.issuer, account ?? userId);
    await this.o.store.putTotp({ userId, secretEnc: this.o.keys.encrypt(e.secret, userId), confirmed: false, lastStep: 0, createdAt: now });
    await this.emit({ type: 'totp_enrolled', userId });
    return e;
  }

  async confirmTotp(userId: string, code: string): Promise<{ status: 'confirmed' | 'invalid' }> {
    const { store } = this.o;
    const rec = await store.getTotp(userId);
    if (!rec) throw new RefusedError('TOTP_NOT_ENROLLED', 'no authenticator enrolment for this user');
    if (rec.confirmed) throw new RefusedError('TOTP_ALREADY_ENROLLED', 'the enrolment is already confirmed');
    const now = this.o.clock();
    if (!(await this.o.limits.take('verifyPerIpPerHour', `totp-confirm|${userId}`, now))) {
      throw new RefusedError('VERIFY_RATE_LIMITED', 'too many confirmation attempts for this user in the last hour');
    }
    const opened = await this.totpSecret(rec.secretEnc, userId);
    const step = opened === null ? null : matchingStep(opened.secret, normalizeCode(code), now);
    const ok = step !== null && (await store.useTotpStep(userId, step));
    if (ok) await store.putTotp({ ...rec, secretEnc: opened!.sealed, confirmed: true, lastStep: step });
    await this.emit({ type: 'totp_confirmed', userId, ok });
    return { status: ok ? 'confirmed' : 'invalid' };
  }

  async deleteTotp(userId: string): Promise<void> {
    if (!(await this.o.store.deleteTotp(userId))) throw new RefusedError('TOTP_NOT_ENROLLED', 'no authenticator enrolment for this user');
    await this.emit({ type: 'totp_deleted', userId });
  }

  /** WebAuthn options to make a passkey for the user (navigator.credentials.create()); `userName` is what the browser shows, the user id by default. */
  passkeyRegistrationOptions(userId: string, userName?: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return this.passkeyFactor().registrationOptions(userId, userName);
  }

  /** Keeps the passkey the browser made from passkeyRegistrationOptions; its new id. */
  async registerPasskey(userId: string, response: RegistrationResponseJSON, label?: string): Promise<string> {
    return (await this.passkeyFactor().register(userId, response, label)).id;
  }

  listPasskeys(userId: string): Promise<PasskeyView[]> {
    return this.passkeyFactor().list(userId);
  }

  deletePasskey(userId: string, id: string): Promise<void> {
    return this.passkeyFactor().delete(userId, id);
  }

  private passkeyFactor(): PasskeyFactor {
    if (!this.passkeys) throw new RefusedError('PASSKEYS_NOT_CONFIGURED', 'passkeys are not configured (riskgate.yaml `passkeys:` with rpId, rpName and origins)');
    return this.passkeys;
  }

  /** A new set of recovery codes, shown this once; the old set stops working. */
  async newRecoveryCodes(userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODES }, makeRecoveryCode);
    await this.o.store.replaceRecoveryCodes(userId, codes.map((code) => this.recoveryHash(userId, code)), this.o.clock());
    await this.emit({ type: 'recovery_generated', userId, count: codes.length });
    return codes;
  }

  trustedDevices(userId: string): Promise<TrustedDevice[]> {
    return this.o.trust.list(userId, this.o.clock());
  }

  async revokeTrustedDevice(userId: string, id: string): Promise<void> {
    if (!(await this.o.trust.revoke(userId, id))) throw new RefusedError('TRUSTED_DEVICE_NOT_FOUND', 'no trusted device with this id for this user');
    await this.emit({ type: 'trust_revoked', userId, trustedDeviceId: id });
  }

  /** Confirmed fraud: every device the user trusted may be the attacker's. */
  async revokeAllTrust(userId: string, decisionId: string): Promise<number> {
    const n = await this.o.trust.revoke(userId);
    await this.emit({ type: 'trust_revoked_all', userId, decisionId, count: n });
    return n;
  }

  private async challenge(id: string): Promise<ChallengeRecord> {
    const c = await this.o.store.getChallenge(id);
    if (!c) throw new RefusedError('CHALLENGE_NOT_FOUND', 'no challenge with this id');
    return c;
  }

  private async checkCode(c: ChallengeRecord, input: string, now: number): Promise<VerifyResult> {
    const code = normalizeCode(input);
    if (c.channel === 'totp') {
      const totp = await this.o.store.getTotp(c.userId);
      if (!totp?.confirmed) return 'invalid';
      const opened = await this.totpSecret(totp.secretEnc, c.userId);
      const step = opened === null ? null : matchingStep(opened.secret, code, now);
      // The store refuses a step already used: a code seen once (over the shoulder, in a log) is spent.
      return step !== null && (await this.o.store.useTotpStep(c.userId, step)) ? 'verified' : 'invalid';
    }
    const service = this.o.delivery.providers.find((p) => p.name === c.provider);
    if (service?.kind === 'verify' && c.providerRef) {
      const r = await service.check(c.providerRef, code);
      if (r.result === 'approved') return 'verified';
      if (r.result === 'denied') return 'invalid';
      if (r.result !== 'error') return r.result;
      await this.emit({ type: 'check_failed', challenge: c, provider: service.name, reason: r.reason, detail: withoutCode(r.detail, code) });
      throw new RefusedError('PROVIDER_UNAVAILABLE', `the verify service ${service.name} could not check the code (${r.reason}); the attempt was not counted`);
    }
    // riskgate's own code: compare keyed hashes in constant time; the id in the MAC binds the code to this challenge.
    return c.codeHash !== null && this.o.keys.verify('code', c.codeHash, c.id, code) ? 'verified' : 'invalid';
  }

  /**
   * The user's TOTP secret, or null when no current or previous server secret opens it (the
   * secret was changed without RISKGATE_SECRET_PREVIOUS): the code then fails, and the audit
   * trail says why, rather than a 500. One sealed under a previous secret is sealed again
   * under the current one, so that active users move off the old secret by themselves.
   */
  private async totpSecret(sealed: string, userId: string): Promise<{ secret: string; sealed: string } | null> {
    let opened: { plain: string; current: boolean };
    try {
      opened = this.o.keys.open(sealed, userId);
    } catch {
      await this.emit({ type: 'totp_unreadable', userId });
      return null;
    }
    if (!opened.current) {
      const resealed = this.o.keys.encrypt(opened.plain, userId);
      if (await this.o.store.resealTotp(userId, sealed, resealed)) {
        await this.emit({ type: 'totp_resealed', userId });
        return { secret: opened.plain, sealed: resealed };
      }
    }
    return { secret: opened.plain, sealed };
  }

  private async useRecoveryCode(userId: string, code: string, now: number): Promise<VerifyResult> {
    // Under the current secret, else a previous one (codes made before a rotation); each try is single-use on its own.
    let used = false;
    for (const hash of this.o.keys.macs('recovery', userId, normalizeRecoveryCode(code))) if ((used = await this.o.store.useRecoveryCode(userId, hash, now))) break;
    if (used) await this.emit({ type: 'recovery_used', userId });
    return used ? 'verified' : 'invalid';
  }

  private recoveryHash(userId: string, code: string): string {
    return this.o.keys.mac('recovery', userId, normalizeRecoveryCode(code));
  }

  private async trustDevice(c: ChallengeRecord, now: number): Promise<string | undefined> {
    if (!c.deviceId) {
      await this.emit({ type: 'trust_refused', challenge: c });
      return undefined;
    }
    const decision = await this.o.decisions.get(c.decisionId);
    const issued = await this.o.trust.issue(c.userId, c.deviceId, decision?.observation.family ?? '', c.ip, now);
    await this.emit({ type: 'trust_issued', challenge: c, device: issued.device });
    return issued.token;
  }

  /** The toll-fraud and flood limits (src/challenge/pumping.ts), checked once per round for the phone and once for the e-mail address. */
  private gate(now: number, dest: Destinations): SendGate {
    const checked = new Map<'phone' | 'email', Promise<LimitHit | null>>();
    return (channel, to) => {
      const kind = channel === 'email' ? 'email' : 'phone';
      let hit = checked.get(kind);
      if (!hit) checked.set(kind, (hit = kind === 'email' ? this.o.pumping.email(to, now) : dest.phone ? this.o.pumping.phone(dest.phone, now) : Promise.resolve(null)));
      return hit;
    };
  }

  /** A challenge can be resent while it is open, and each resend opens it for ttlSeconds again. */
  private sendsTtl(): number {
    return (this.o.settings.maxSends + 1) * this.o.settings.ttlSeconds;
  }

  private deliveryFields(id: string, out: Extract<DeliveryOutcome, { ok: true }>, expiresAt: number) {
    return {
      channel: out.channel,
      destination: out.to,
      provider: out.provider.name,
      providerRef: out.ref,
      codeHash: out.code === null ? null : this.o.keys.mac('code', id, out.code),
      expiresAt,
    };
  }

  private view(c: ChallengeRecord, delivered: boolean, channels: Channel[], options?: PublicKeyCredentialRequestOptionsJSON): ChallengeView {
    return {
      ...(options ? { options } : {}),
      id: c.id,
      channel: c.channel,
      expiresAt: new Date(c.expiresAt).toISOString(),
      delivered,
      destination: c.destination ? maskDestination(c.destination) : null,
      attemptsLeft: Math.max(0, c.maxAttempts - c.attempts),
      // A challenge on a stronger factor offers no code channel unless downgrades are allowed.
      channels: isCodeChannel(c.channel) || this.o.settings.allowDowngrade ? channels : [],
    };
  }

  /** Writes the event to the audit trail, then lets the listener hear it. */
  private async emit(e: ChallengeEvent): Promise<void> {
    const time = this.o.clock();
    for (const entry of auditEntries(e)) await this.o.audit.append({ time, ...entry, action: null, score: null, rules: [], rulesVersion: null });
    // Conversion (toll fraud): every code challenge that closes counts, verified or not.
    if (e.type === 'answered' && e.settled) await this.o.pumping.closed(e.challenge, e.outcome.status === 'verified', time);
    if (e.type === 'expired') await this.o.pumping.closed(e.challenge, false, time);
    this.o.onEvent(e);
  }
}
