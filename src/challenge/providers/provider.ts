import type { Channel } from '../model.js';
import type { Phone } from '../phone.js';

/** Why a send failed; any of them moves delivery on to the next provider or channel. */
export type SendFailure = 'failed' | 'timeout' | 'rejected' | 'rate_limited';

export type SendResult = { ok: true; ref: string | null } | { ok: false; reason: SendFailure; detail: string };

/** A message riskgate wrote (with the code it made) for one destination. */
export interface OutgoingMessage {
  challengeId: string;
  channel: Channel;
  /** E.164 number or e-mail address. */
  to: string;
  phone: Phone | null;
  message: string;
  code: string;
}

/** Delivers text that carries riskgate's own code. */
export interface MessageProvider {
  readonly kind: 'message';
  readonly name: string;
  readonly channels: readonly Channel[];
  send(m: OutgoingMessage): Promise<SendResult>;
}

export interface VerificationStart {
  challengeId: string;
  channel: Channel;
  to: string;
  phone: Phone | null;
  codeLength: number;
}

/**
 * A verify service's answer to a check. Only "approved" lets a challenge through; "error"
 * (timeout, 5xx, our credentials refused, an answer we cannot read) counts no attempt.
 */
export type CheckResult =
  | { result: 'approved' }
  | { result: 'denied' | 'expired' | 'locked' }
  | { result: 'error'; reason: 'failed' | 'timeout' | 'rate_limited'; detail: string };

/** A provider that makes, sends and checks the code itself; riskgate keeps its reference. */
export interface VerifyService {
  readonly kind: 'verify';
  readonly name: string;
  readonly channels: readonly Channel[];
  start(v: VerificationStart): Promise<SendResult>;
  check(ref: string, code: string): Promise<CheckResult>;
}

export type Provider = MessageProvider | VerifyService;
