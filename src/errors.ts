/**
 * Every error code riskgate answers with, and its HTTP status, defined once: an error is
 * raised with a code of this catalogue, so a misspelt code does not compile. docs/api.md lists
 * them (a test fails when one is missing there). A code is never reused for another meaning.
 */
export const ERROR_CODES = {
  INVALID_REQUEST: { status: 400, doc: 'The body, path or query does not match the route schema (missing field, wrong type, too long, unknown field).' },
  INVALID_JSON: { status: 400, doc: 'The body is not valid JSON.' },
  INVALID_IP: { status: 400, doc: '`ip` is not an IPv4 or IPv6 address, or carries a zone id (`fe80::1%eth0`).' },
  INVALID_PHONE: { status: 400, doc: '`phone` is not a valid number (E.164, or national with `country`). Refused before anything is decided or sent.' },
  PHONE_NOT_ALLOWED: { status: 400, doc: '`phone` is a valid number riskgate does not send codes to: premium-rate, shared-cost, UAN, personal or unknown type (toll fraud), or of a country outside `delivery.countries`. Refused before anything is decided or sent; send the login without `phone` (TOTP, e-mail) instead.' },
  UNAUTHORIZED: { status: 401, doc: 'No API key, or not a valid one. Send `Authorization: Bearer <key>`.' },
  INSUFFICIENT_SCOPE: { status: 403, doc: 'The API key is valid but lacks the scope the route needs (`decide`, `factors` or `admin`; see configuration.md).' },
  NOT_FOUND: { status: 404, doc: 'No such route.' },
  DECISION_NOT_FOUND: { status: 404, doc: 'No decision with this id (or it is older than the audit retention).' },
  CHALLENGE_NOT_FOUND: { status: 404, doc: 'No challenge with this id. Says nothing about the user.' },
  TOTP_NOT_ENROLLED: { status: 404, doc: 'The user has no TOTP enrolment (to confirm or delete).' },
  PASSKEY_NOT_FOUND: { status: 404, doc: 'The user has no passkey with this id.' },
  TRUSTED_DEVICE_NOT_FOUND: { status: 404, doc: 'The user has no trusted device with this id.' },
  CHALLENGE_CLOSED: { status: 409, doc: 'The challenge is no longer pending (verified, locked or expired): nothing to resend. Start a new login.' },
  CHANNEL_UNAVAILABLE: { status: 409, doc: 'The challenge cannot use that channel: no destination for it in the login, or no provider configured for it.' },
  DOWNGRADE_REFUSED: { status: 409, doc: 'The challenge is answered with a stronger factor (TOTP, a passkey); `/resend` does not move it to a code by SMS, voice or e-mail unless `challenges.allowDowngrade` is true.' },
  PASSKEYS_NOT_CONFIGURED: { status: 409, doc: 'riskgate.yaml has no `passkeys:` block (rpId, rpName, origins), so passkeys can be neither registered nor used.' },
  PASSKEY_ALREADY_REGISTERED: { status: 409, doc: 'This credential is already registered (to this user or another); nothing was stored.' },
  TOTP_ALREADY_ENROLLED: { status: 409, doc: 'The user already has a confirmed TOTP enrolment; delete it first to enrol again.' },
  BODY_TOO_LARGE: { status: 413, doc: 'The body is larger than the limit (64 KiB).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, doc: 'The body is not `application/json`.' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, doc: 'A request with this `Idempotency-Key` is still running and did not finish within 10 s. Retry with the same key later.' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, doc: 'This `Idempotency-Key` was used in the last 24 hours with another request (another path or body). Nothing was done; use a new key for a new request.' },
  PASSKEY_REGISTRATION_FAILED: { status: 422, doc: 'The browser\'s registration response does not verify: its challenge is unknown, spent or expired, or its origin, rpId, user verification or attestation is not what the configuration asks. The message says which; ask for new options.' },
  RULES_INVALID: { status: 422, doc: 'A rules reload was refused: the files have problems (listed in `details`). The previous rules stay active.' },
  CHALLENGE_RATE_LIMITED: { status: 429, doc: 'Too many challenges for this user, or codes for this phone number, number block, destination country, e-mail address or in all, in the last hour, or a country or number block whose codes are rarely entered is throttled (abuse and toll-fraud limits, challenges.md#abuse-limits); or the provider refused more sends.' },
  RESEND_LIMIT: { status: 429, doc: 'This challenge was sent as often as allowed (`challenges.maxSends`).' },
  VERIFY_RATE_LIMITED: { status: 429, doc: 'Too many verify attempts from this address (or TOTP confirmations for this user) in the last hour.' },
  INTERNAL: { status: 500, doc: 'A fault of riskgate itself; the log has the details. Never caused by bad input.' },
  UNAVAILABLE: { status: 503, doc: 'The state store cannot be reached.' },
  DELIVERY_FAILED: { status: 503, doc: 'A resend reached no provider on any channel (each failure is in the audit trail). The challenge stays pending; try again.' },
  PROVIDER_UNAVAILABLE: { status: 503, doc: 'The verify service that holds this code did not answer (timeout, error). The attempt was not counted; try again.' },
} as const satisfies Record<string, { status: number; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/**
 * A caller's mistake in the data it handed us (not a bug of ours): a 4xx over HTTP with
 * `{error:{code,message}}`, the status of its code.
 */
export class InputError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * A request that cannot be served now, for a reason with a stable code: a limit reached, a
 * challenge no longer open, a provider down. Not a fault of riskgate; the HTTP layer answers
 * with the status of its code.
 */
export class RefusedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RefusedError';
  }
}

/**
 * A configuration that cannot work (a bad riskgate.yaml, a missing secret or provider
 * variable): riskgate does not start, and the CLI prints the message, which names the file,
 * line and field or the variable at fault.
 */
export class ConfigError extends Error {}

/**
 * riskgate cannot start as asked: its port is taken, or another riskgate serves its data
 * directory. The CLI prints the message as one line and exits 1.
 */
export class StartError extends Error {}
