import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

/** RFC 6238 parameters that every common authenticator app understands. */
const TOTP_PERIOD = 30;
const TOTP_DIGITS = 6;
const TOTP_ALGORITHM = 'SHA1';
/** Codes of the step before and after are accepted too (clock drift, slow typing). */
const TOTP_WINDOW = 1;

export interface TotpEnrolment {
  /** Base32, for manual entry. */
  secret: string;
  otpauthUri: string;
  /** The URI as a PNG QR code, a data: URL. */
  qr: string;
}

export interface TotpParams {
  algorithm?: 'SHA1' | 'SHA256' | 'SHA512';
  digits?: number;
  issuer?: string;
  account?: string;
}

/** The RFC 6238 generator riskgate uses; the defaults are what enrolments get. */
export function makeTotp(secret: Uint8Array | string, p: TotpParams = {}): TOTP {
  return new TOTP({
    issuer: p.issuer ?? '',
    label: p.account ?? 'user',
    algorithm: p.algorithm ?? TOTP_ALGORITHM,
    digits: p.digits ?? TOTP_DIGITS,
    period: TOTP_PERIOD,
    secret: typeof secret === 'string' ? Secret.fromBase32(secret) : new Secret({ buffer: secret.slice().buffer }),
  });
}

/** A new 160-bit secret (RFC 4226 recommends the hash length), its URI and QR code. */
export async function newEnrolment(issuer: string, account: string): Promise<TotpEnrolment> {
  const secret = new Secret({ size: 20 }).base32;
  const otpauthUri = makeTotp(secret, { issuer, account }).toString();
  return { secret, otpauthUri, qr: await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 2 }) };
}

/**
 * The time step whose code `code` is, within ±TOTP_WINDOW steps of `now`, or null. The caller
 * must still claim the step in the store, which refuses a step already used (no replay).
 */
export function matchingStep(secretBase32: string, code: string, now: number): number | null {
  if (code.length !== TOTP_DIGITS || !/^\d+$/.test(code)) return null;
  const delta = makeTotp(secretBase32).validate({ token: code, timestamp: now, window: TOTP_WINDOW });
  return delta === null ? null : Math.floor(now / 1000 / TOTP_PERIOD) + delta;
}
