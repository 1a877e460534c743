import { createHmac } from 'node:crypto';
import type { Channel } from '../model.js';
import type { Clock } from '../../types.js';
import { describe, request, type HttpTiming } from './http.js';
import type { MessageProvider, OutgoingMessage, SendResult } from './provider.js';

export const SIGNATURE_HEADER = 'x-riskgate-signature';
export const TIMESTAMP_HEADER = 'x-riskgate-timestamp';

/** The signature a receiver recomputes: HMAC-SHA256 over "<timestamp>.<raw body>", hex. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * POSTs {channel,to,message,code,challengeId} as JSON to your own delivery service. The body is
 * signed with RISKGATE_WEBHOOK_SECRET; the timestamp is signed too, so a receiver can refuse
 * replays older than a few minutes. Any 2xx is a delivery; everything else moves on.
 */
export class WebhookProvider implements MessageProvider {
  readonly kind = 'message';

  constructor(
    readonly name: string,
    readonly channels: readonly Channel[],
    private readonly o: { url: string; secret: string; clock: Clock } & HttpTiming,
  ) {}

  async send(m: OutgoingMessage): Promise<SendResult> {
    const body = JSON.stringify({ channel: m.channel, to: m.to, message: m.message, code: m.code, challengeId: m.challengeId });
    const timestamp = String(Math.floor(this.o.clock() / 1000));
    const res = await request({
      method: 'POST',
      url: this.o.url,
      headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: webhookSignature(this.o.secret, timestamp, body) },
      body,
    }, this.o);
    if (!res.ok) return { ok: false, reason: res.reason, detail: res.detail };
    if (res.status >= 200 && res.status < 300) return { ok: true, ref: null };
    return { ok: false, reason: res.status === 429 ? 'rate_limited' : 'failed', detail: describe(res.status, '') };
  }
}
