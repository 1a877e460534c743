import { describe, field, joinUrl, request, type HttpTiming } from './http.js';
import type { CheckResult, SendResult, VerificationStart, VerifyService } from './provider.js';
import { xoxzoAuth, xoxzoNotSent, type XoxzoCredentials } from './xoxzo-sms.js';

/**
 * Xoxzo OTP API (docs.xoxzo.com/en/otp): Xoxzo makes and sends the code by SMS.
 *
 * Followed: POST /otp/request/ with `website` (registered with Xoxzo) and `phone_number`
 * (E.164), basic auth; 201 CREATED with the id of the request (documented as `msgid`; Xoxzo's
 * own tutorial calls it `otp_id`, so either is read); 400 for bad parameters, 401 for bad
 * credentials. POST /otp/verify/ with that id (`otp_id`) and the `code`.
 *
 * Open in the docs: the verify answer. It is taken as a success only when it is HTTP 200 with
 * a JSON object saying `"verified": true` or `"status": "verified"`; every other answer is a
 * failed check (4xx) or a provider error (401/403, 5xx, timeout), never a pass.
 */
export class XoxzoOtpService implements VerifyService {
  readonly kind = 'verify';
  readonly channels = ['sms'] as const;

  constructor(
    readonly name: string,
    private readonly o: { credentials: XoxzoCredentials; website: string; baseUrl: string } & HttpTiming,
  ) {}

  private post(path: string, body: Record<string, string>) {
    return request({
      method: 'POST',
      url: joinUrl(this.o.baseUrl, path),
      headers: { authorization: xoxzoAuth(this.o.credentials), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }, this.o);
  }

  async start(v: VerificationStart): Promise<SendResult> {
    const res = await this.post('/otp/request/', { website: this.o.website, phone_number: v.to });
    if (!res.ok) return { ok: false, reason: res.reason, detail: res.detail };
    const id = field(res.body, 'msgid') ?? field(res.body, 'otp_id');
    if (res.status === 201 && (typeof id === 'string' || typeof id === 'number') && String(id)) return { ok: true, ref: String(id) };
    return xoxzoNotSent(res.status, res.text);
  }

  async check(ref: string, code: string): Promise<CheckResult> {
    const res = await this.post('/otp/verify/', { website: this.o.website, otp_id: ref, code });
    if (!res.ok) return { result: 'error', reason: res.reason, detail: res.detail };
    if (res.status === 200 && (field(res.body, 'verified') === true || field(res.body, 'status') === 'verified')) return { result: 'approved' };
    if (res.status === 401 || res.status === 403 || res.status >= 500) return { result: 'error', reason: 'failed', detail: describe(res.status, res.text) };
    if (res.status === 429) return { result: 'error', reason: 'rate_limited', detail: describe(res.status, res.text) };
    return { result: 'denied' };
  }
}
