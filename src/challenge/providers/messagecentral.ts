import type { Channel } from '../model.js';
import { describe, field, joinUrl, request, type HttpTiming } from './http.js';
import type { CheckResult, SendResult, VerificationStart, VerifyService } from './provider.js';

export const MESSAGECENTRAL_BASE_URL = 'https://cpaas.messagecentral.com';

/** VerifyNow response codes riskgate maps; the others are failures. */
const WRONG_OTP = 702;
const ALREADY_VERIFIED = 703;
const EXPIRED = 705;
const REQUEST_EXISTS = 506;
const MAX_LIMIT = 800;

const FLOW_TYPE: Partial<Record<Channel, string>> = { sms: 'SMS', whatsapp: 'WHATSAPP' };

/**
 * Message Central VerifyNow (messagecentral.com/product/verify-now/api): the `authToken`
 * header authenticates; parameters go in the query string.
 *
 * Followed: POST /verification/v3/send with countryCode, customerId, flowType (SMS, WHATSAPP),
 * mobileNumber (national) and otpLength (4–8) answers `responseCode` 200 and
 * `data.verificationId`; GET /verification/v3/validateOtp with verificationId and code passes
 * only when `data.verificationStatus` is "VERIFICATION_COMPLETED". Response codes: 702 wrong
 * code, 703 already verified, 705 expired, 506 a request already exists, 800 daily limit.
 *
 * Open in the docs: the HTTP status that goes with an error code. The body's `responseCode`
 * is read whatever the HTTP status; a body without one is a failure, never a pass.
 */
export class MessageCentralService implements VerifyService {
  readonly kind = 'verify';

  constructor(
    readonly name: string,
    readonly channels: readonly Channel[],
    private readonly o: { authToken: string; customerId: string; baseUrl: string } & HttpTiming,
  ) {}

  private call(method: 'GET' | 'POST', path: string, query: Record<string, string>) {
    return request({
      method,
      url: `${joinUrl(this.o.baseUrl, path)}?${new URLSearchParams(query).toString()}`,
      headers: { authToken: this.o.authToken, accept: 'application/json' },
    }, this.o);
  }

  async start(v: VerificationStart): Promise<SendResult> {
    if (!v.phone) return { ok: false, reason: 'rejected', detail: 'VerifyNow needs a phone number' };
    const res = await this.call('POST', '/verification/v3/send', {
      countryCode: v.phone.callingCode,
      customerId: this.o.customerId,
      flowType: FLOW_TYPE[v.channel] ?? 'SMS',
      mobileNumber: v.phone.national,
      otpLength: String(Math.min(8, Math.max(4, v.codeLength))),
    });
    if (!res.ok) return { ok: false, reason: res.reason, detail: res.detail };
    const code = Number(field(res.body, 'responseCode'));
    const id = field(res.body, 'data', 'verificationId');
    if (res.status === 200 && code === 200 && (typeof id === 'string' || typeof id === 'number') && String(id)) return { ok: true, ref: String(id) };
    const detail = `VerifyNow ${Number.isNaN(code) ? '' : code} ${describe(res.status, String(field(res.body, 'message') ?? ''))}`.trim();
    if (code === REQUEST_EXISTS || code === MAX_LIMIT || res.status === 429) return { ok: false, reason: 'rate_limited', detail };
    return { ok: false, reason: 'failed', detail };
  }

  async check(ref: string, code: string): Promise<CheckResult> {
    const res = await this.call('GET', '/verification/v3/validateOtp', { verificationId: ref, code });
    if (!res.ok) return { result: 'error', reason: res.reason, detail: res.detail };
    const responseCode = Number(field(res.body, 'responseCode'));
    if (res.status === 200 && responseCode === 200 && field(res.body, 'data', 'verificationStatus') === 'VERIFICATION_COMPLETED') return { result: 'approved' };
    switch (responseCode) {
      case WRONG_OTP:
      case ALREADY_VERIFIED:
        return { result: 'denied' };
      case EXPIRED:
        return { result: 'expired' };
      case MAX_LIMIT:
        return { result: 'locked' };
    }
    if (res.status === 401 || res.status === 403 || res.status >= 500 || Number.isNaN(responseCode)) {
      return { result: 'error', reason: 'failed', detail: describe(res.status, res.text) };
    }
    return { result: 'denied' };
  }
}
