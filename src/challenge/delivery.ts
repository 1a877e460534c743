import type { Channel } from './model.js';
import { makeCode, withoutCode } from './codes.js';
import type { Phone } from './phone.js';
import type { LimitHit } from './pumping.js';
import type { Provider, SendFailure } from './providers/provider.js';

export interface Destinations {
  phone: Phone | null;
  email: string | null;
}

/** One try of one provider on one channel, as the audit trail and metrics record it. */
export interface SendAttempt {
  channel: Channel;
  provider: string;
  /** "limit": riskgate's own abuse limit refused the send before any provider was asked. */
  result: 'sent' | SendFailure | 'limit';
  detail?: string;
  /** With result "limit": which limit, and the country it was about (the metric's labels). */
  limit?: string;
  country?: string | null;
}

export type DeliveryOutcome =
  | { ok: true; channel: Channel; to: string; provider: Provider; ref: string | null; code: string | null; attempts: SendAttempt[] }
  | { ok: false; attempts: SendAttempt[] };

/** Returns why riskgate itself will not send on this channel now (an abuse limit), or null. */
export type SendGate = (channel: Channel, to: string) => Promise<LimitHit | null>;

export interface DeliveryOptions {
  providers: readonly Provider[];
  order: readonly Channel[];
  /** With {code}, {issuer} and {minutes}. */
  message: string;
  issuer: string;
  codeLength: number;
  ttlSeconds: number;
}

/**
 * Ordered fallback over channels, and over providers within a channel: the first provider that
 * accepts the message wins; a failure, rejection, rate limit or timeout moves on to the next
 * provider, then the next channel. riskgate's own code is made once per round, so every try of
 * one round sends the same code; a verify service makes its own.
 */
export class Delivery {
  constructor(private readonly o: DeliveryOptions) {}

  get providers(): readonly Provider[] {
    return this.o.providers;
  }

  /** The channels this user can be reached on, in fallback order. */
  channels(d: Destinations): Channel[] {
    return this.o.order.filter((c) => destination(c, d) !== null && this.o.providers.some((p) => p.channels.includes(c)));
  }

  async deliver(challengeId: string, channels: readonly Channel[], d: Destinations, gate: SendGate): Promise<DeliveryOutcome> {
    const attempts: SendAttempt[] = [];
    let code: string | null = null;
    // A destination riskgate's limits refused is skipped on its other channels (one attempt recorded).
    const refusedTo = new Set<string>();
    for (const channel of channels) {
      const to = destination(channel, d);
      if (to === null || refusedTo.has(to)) continue;
      const refused = await gate(channel, to);
      if (refused) {
        refusedTo.add(to);
        attempts.push({ channel, provider: 'riskgate', result: 'limit', detail: refused.detail, limit: refused.limit, country: refused.country });
        continue;
      }
      for (const provider of this.o.providers.filter((p) => p.channels.includes(channel))) {
        const phone = channel === 'email' ? null : d.phone;
        let res;
        if (provider.kind === 'verify') {
          res = await provider.start({ challengeId, channel, to, phone, codeLength: this.o.codeLength });
        } else {
          code ??= makeCode(this.o.codeLength);
          res = await provider.send({ challengeId, channel, to, phone, code, message: this.text(code) });
        }
        if (res.ok) {
          attempts.push({ channel, provider: provider.name, result: 'sent' });
          return { ok: true, channel, to, provider, ref: res.ref, code: provider.kind === 'verify' ? null : code, attempts };
        }
        attempts.push({ channel, provider: provider.name, result: res.reason, detail: withoutCode(res.detail, code) });
      }
    }
    return { ok: false, attempts };
  }

  private text(code: string): string {
    return this.o.message
      .replaceAll('{code}', code)
      .replaceAll('{issuer}', this.o.issuer)
      .replaceAll('{minutes}', String(Math.round(this.o.ttlSeconds / 60)));
  }
}

function destination(channel: Channel, d: Destinations): string | null {
  return channel === 'email' ? d.email : (d.phone?.e164 ?? null);
}
