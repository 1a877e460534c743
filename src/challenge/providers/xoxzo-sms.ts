import { basicAuth, describe, field, joinUrl, request, type HttpTiming } from './http.js';
import type { MessageProvider, OutgoingMessage, SendResult } from './provider.js';

export const XOXZO_BASE_URL = 'https://api.xoxzo.com';

export interface XoxzoCredentials {
  sid: string;
  authToken: string;
}

/** The Xoxzo APIs' basic auth: the API SID and auth token. */
export function xoxzoAuth(c: XoxzoCredentials): string {
  return basicAuth(c.sid, c.authToken);
}

/** A send that Xoxzo (SMS or OTP) did not accept: 400 is a rejection, 429 a rate limit, anything else a failure. */
export function xoxzoNotSent(status: number, text: string): Extract<SendResult, { ok: false }> {
  const detail = describe(status, text);
  if (status === 400) return { ok: false, reason: 'rejected', detail };
  if (status === 429) return { ok: false, reason: 'rate_limited', detail };
  return { ok: false, reason: 'failed', detail };
}

/**
 * Xoxzo SMS API (docs.xoxzo.com/en/sms): POST /sms/messages/ with recipient (E.164), sender and
 * message as a form, HTTP basic auth with the API SID and auth token. A send is accepted only as
 * documented: 201 with a JSON list whose first item carries a `msgid`. A 400 (e.g. a missing
 * field) is a rejection; any other answer is a failure. Either way delivery moves on.
 */
export class XoxzoSmsProvider implements MessageProvider {
  readonly kind = 'message';
  readonly channels = ['sms'] as const;

  constructor(
    readonly name: string,
    private readonly o: { credentials: XoxzoCredentials; sender: string; baseUrl: string } & HttpTiming,
  ) {}

  async send(m: OutgoingMessage): Promise<SendResult> {
    const res = await request({
      method: 'POST',
      url: joinUrl(this.o.baseUrl, '/sms/messages/'),
      headers: { authorization: xoxzoAuth(this.o.credentials) },
      body: new URLSearchParams({ recipient: m.to, sender: this.o.sender, message: m.message }),
    }, this.o);
    if (!res.ok) return { ok: false, reason: res.reason, detail: res.detail };
    const msgid = Array.isArray(res.body) ? field(res.body[0], 'msgid') : undefined;
    if (res.status === 201 && typeof msgid === 'string' && msgid) return { ok: true, ref: msgid };
    return xoxzoNotSent(res.status, res.status === 201 ? `201 without a msgid: ${res.text}` : res.text);
  }
}
