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

type Bindings = Record<string, unknown>;
type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's logger (Fastify's `childLoggerFactory`) that becomes a pino child only when a
 * line at an enabled level is written through it: most requests write none, and a child per
 * request (its bindings serialised) was ~1.5% of a decision's CPU. The lines are the child's.
 */
export class LazyChildLogger {
  private real: Logger | null = null;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
  ) {}

  /** Fastify's factory: a lazy child unless the route asks for its own level or serializers. */
  static factory(this: void, parent: FastifyLike, bindings: Bindings, opts: object): unknown {
    return Object.keys(opts).length ? parent.child(bindings, opts) : new LazyChildLogger(parent as Logger, bindings);
  }

  private get logger(): Logger {
    return (this.real ??= this.parent.child(this.bindings));
  }

  get level(): string {
    return this.real?.level ?? this.parent.level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.real ?? this.parent).isLevelEnabled(level);
  }

  child(bindings: Bindings, opts?: pino.ChildLoggerOptions): Logger {
    return this.logger.child(bindings, opts);
  }

  silent(): void {}

  /** Writes a line through the child, made now if it is the first. */
  write(level: LogMethod, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    (this.logger[level] as (...a: unknown[]) => void)(...args);
  }
}

const LOG_METHODS: readonly LogMethod[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
// pino's level methods, each writing through `write`.
export interface LazyChildLogger extends Record<LogMethod, (...args: unknown[]) => void> {}
for (const level of LOG_METHODS) {
  LazyChildLogger.prototype[level] = function (this: LazyChildLogger, ...args: unknown[]) {
    this.write(level, args);
  };
}

interface FastifyLike {
  child(bindings: Bindings, opts?: object): unknown;
}
