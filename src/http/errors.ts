/**
 * Every error code the HTTP API answers with, defined once. docs/api.md lists them; a test
 * fails when one is missing there. Codes are never reused for another meaning.
 */
export const ERROR_CODES = {
  INVALID_REQUEST: { status: 400, doc: 'The body, path or query does not match the route schema (missing field, wrong type, too long, unknown field).' },
  INVALID_JSON: { status: 400, doc: 'The body is not valid JSON.' },
  INVALID_IP: { status: 400, doc: '`ip` is not an IPv4 or IPv6 address.' },
  UNAUTHORIZED: { status: 401, doc: 'No API key, or not a valid one. Send `Authorization: Bearer <key>`.' },
  NOT_FOUND: { status: 404, doc: 'No such route.' },
  DECISION_NOT_FOUND: { status: 404, doc: 'No decision with this id (or it is older than the audit retention).' },
  BODY_TOO_LARGE: { status: 413, doc: 'The body is larger than the limit (64 KiB).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, doc: 'The body is not `application/json`.' },
  RULES_INVALID: { status: 422, doc: 'A rules reload was refused: the files have problems (listed in `details`). The previous rules stay active.' },
  INTERNAL: { status: 500, doc: 'A fault of riskgate itself; the log has the details. Never caused by bad input.' },
  UNAVAILABLE: { status: 503, doc: 'The state store cannot be reached.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function statusOf(code: string): number {
  return (ERROR_CODES as Record<string, { status: number }>)[code]?.status ?? 400;
}
