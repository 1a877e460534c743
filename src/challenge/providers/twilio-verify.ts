import type { Channel } from '../model.js';
import { basicAuth, describe, field, joinUrl, request, type HttpTiming } from './http.js';
import type { CheckResult, SendResult, VerificationStart, VerifyService } from './provider.js';

export const TWILIO_BASE_URL = 'https://verify.twilio.com';

/** Twilio's error codes that riskgate maps (twilio.com/docs/api/errors). */
const MAX_CHECK_ATTEMPTS = 60202;
const MAX_SEND_ATTEMPTS = 60203;
const NOT_FOUND = 20404;

const TWILIO_CHANNEL: Record<Channel, string> = { sms: 'sms', whatsapp: 'whatsapp', voice: 'call', email: 'email' };

/**
 * Twilio Verify v2 (twilio.com/docs/verify/api): form-encoded bodies, basic auth with the
 * account SID and auth token.
 *
 * Followed: POST /v2/Services/{ServiceSid}/Verifications with To and Channel answers 201 with
 * the verification `sid` (VE…); POST /v2/Services/{ServiceSid}/VerificationCheck with
 * VerificationSid and Code answers 200 with `status` "approved" (pass) or "pending" (wrong
 * code); errors carry a numeric `code`: 60202 (max check attempts, HTTP 429) locks the
 * challenge, 60203 (max send attempts, HTTP 429) is a rate limit that moves delivery on, and
 * 20404 (HTTP 404: the verification expired, was approved or cancelled) answers "expired".
 * Any other status ("canceled", "max_attempts_reached", "expired", "failed") is not a pass.
 */
export class TwilioVerifyService implements VerifyService {
  readonly kind = 'verify';

  constructor(
    readonly name: string,
    readonly channels: readonly Channel[],
    private readonly o: { accountSid: string; authToken: string; serviceSid: string; baseUrl: string } & HttpTiming,
  ) {}

  private post(resource: string, form: Record<string, string>) {
    return request({
      method: 'POST',
      url: joinUrl(this.o.baseUrl, `/v2/Services/${encodeURIComponent(this.o.serviceSid)}/${resource}`),
      headers: { authorization: basicAuth(this.o.accountSid, this.o.authToken) },
      body: new URLSearchParams(form),
    }, this.o);
  }

  async start(v: VerificationStart): Promise<SendResult> {
    const res = await this.post('Verifications', { To: v.to, Channel: TWILIO_CHANNEL[v.channel] });
    if (!res.ok) return { ok: false, reason: res.reason, detail: res.detail };
    const sid = field(res.body, 'sid');
    if (res.status === 201 && typeof sid === 'string' && sid) return { ok: true, ref: sid };
    const detail = `Twilio ${String(field(res.body, 'code') ?? '')} ${describe(res.status, String(field(res.body, 'message') ?? ''))}`.trim();
    if (res.status === 429 || field(res.body, 'code') === MAX_SEND_ATTEMPTS) return { ok: false, reason: 'rate_limited', detail };
    if (res.status === 400) return { ok: false, reason: 'rejected', detail };
    return { ok: false, reason: 'failed', detail };
  }

  async check(ref: string, code: string): Promise<CheckResult> {
    const res = await this.post('VerificationCheck', { VerificationSid: ref, Code: code });
    if (!res.ok) return { result: 'error', reason: res.reason, detail: res.detail };
    const twilioCode = field(res.body, 'code');
    if (res.status === 200) {
      switch (field(res.body, 'status')) {
        case 'approved':
          return { result: 'approved' };
        case 'max_attempts_reached':
          return { result: 'locked' };
        case 'expired':
          return { result: 'expired' };
        default:
          return { result: 'denied' };
      }
    }
    if (twilioCode === MAX_CHECK_ATTEMPTS) return { result: 'locked' };
    if (res.status === 404 || twilioCode === NOT_FOUND) return { result: 'expired' };
    const detail = `Twilio ${String(twilioCode ?? '')} ${describe(res.status, String(field(res.body, 'message') ?? ''))}`.trim();
    if (res.status === 429) return { result: 'error', reason: 'rate_limited', detail };
    if (res.status === 400) return { result: 'denied' };
    return { result: 'error', reason: 'failed', detail };
  }
}
