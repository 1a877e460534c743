import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger } from 'pino';

/**
 * Log paths that may carry secrets. pino compiles them once when the logger is made; the
 * values never reach the output. Codes, recovery codes, trust tokens, TOTP secrets (and the
 * otpauth URI and QR code that carry them), API keys.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'code',
  'recoveryCode',
  'trustToken',
  'secret',
  'token',
  'apiKey',
  'password',
  'codes',
  'otpauthUri',
  'qr',
  '*.code',
  '*.recoveryCode',
  '*.trustToken',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.codes',
  '*.otpauthUri',
  '*.qr',
];

const requestIds = new AsyncLocalStorage<string>();

/**
 * The logger. A line written while a request is served carries its id, even from a logger that
 * is not the request's own (the store's outage notice, an audit event); the request's logger
 * already has it among its bindings, and a line that names one keeps its own.
 */
export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'riskgate' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      mixin: (line, _level, logger) => {
        const requestId = requestIds.getStore();
        return requestId === undefined || 'requestId' in line || 'requestId' in logger.bindings() ? {} : { requestId };
      },
    },
    destination,
  );
}

/** Runs `fn` (and all that follows from it) as part of the request `id`, for currentRequestId. */
export function withRequestId<T>(id: string, fn: () => T): T {
  return requestIds.run(id, fn);
}

/**
 * The id of the HTTP request being served, for log lines written away from its logger (the
 * audit events, src/observability/audit-log.ts); undefined outside a request (timers).
 */
export function currentRequestId(): string | undefined {
  return requestIds.getStore();
}
