import type { StorePorts } from './ports.js';

/**
 * The store did not answer in time, or failed. Its message is safe to show to callers (no
 * addresses or credentials); the store's own error, for the log, is the `cause`.
 */
export class StoreUnavailableError extends Error {
  constructor(
    readonly kind: 'timeout' | 'error',
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** What the guard reports: every failed call (metrics), and the first success after failures (recovery). */
export type StoreEvent =
  | { type: 'failed'; error: StoreUnavailableError; /** the first failure after the store was up */ first: boolean }
  | { type: 'recovered'; /** how long the store had been failing */ downMs: number };

/** Arms a deadline: `expire` runs after `ms` unless the returned function cancels it first. */
export type Deadline = (ms: number, expire: () => void) => () => void;

const timer: Deadline = (ms, expire) => {
  const t = setTimeout(expire, ms);
  return () => clearTimeout(t);
};

export interface GuardOptions {
  /** A store call slower than this has failed. */
  timeoutMs: number;
  /** Store failures and recoveries, for logs, metrics and health. */
  onEvent?: ((e: StoreEvent) => void) | undefined;
  /** A timer by default; tests pass one that passes when they say. */
  deadline?: Deadline | undefined;
  /** Real time, only to report how long an outage lasted; decisions use the engine's clock. */
  now?: (() => number) | undefined;
}

/** Bounds calls in time, turns their failures into StoreUnavailableError, and notices outages and recoveries. */
class StoreGuard {
  private downSince: number | null = null;
  private readonly deadline: Deadline;
  private readonly now: () => number;

  constructor(private readonly o: GuardOptions) {
    this.deadline = o.deadline ?? timer;
    this.now = o.now ?? Date.now;
  }

  async run<T>(op: () => Promise<T>): Promise<T> {
    let cancel: (() => void) | undefined;
    const work = Promise.resolve().then(op);
    const deadline = new Promise<never>((_, reject) => {
      cancel = this.deadline(this.o.timeoutMs, () => reject(new StoreUnavailableError('timeout', `state store did not answer within ${this.o.timeoutMs} ms`)));
    });
    try {
      const value = await Promise.race([work, deadline]);
      this.up();
      return value;
    } catch (e) {
      // The abandoned call may still fail later; that must not become an unhandled rejection.
      work.catch(() => undefined);
      const error = e instanceof StoreUnavailableError ? e : new StoreUnavailableError('error', 'state store unreachable or failing', { cause: e });
      this.down(error);
      throw error;
    } finally {
      cancel?.();
    }
  }

  private up(): void {
    if (this.downSince === null) return;
    const downMs = this.now() - this.downSince;
    this.downSince = null;
    this.o.onEvent?.({ type: 'recovered', downMs });
  }

  private down(error: StoreUnavailableError): void {
    const first = this.downSince === null;
    if (first) this.downSince = this.now();
    this.o.onEvent?.({ type: 'failed', error, first });
  }
}

/** A copy of `port` whose every method goes through `guard`. */
function guarded<T extends object>(port: T, guard: StoreGuard): T {
  const out: Record<string, unknown> = {};
  for (let proto: object | null = port; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method: unknown = Reflect.get(port, name);
      if (name === 'constructor' || name in out || typeof method !== 'function') continue;
      out[name] = (...args: unknown[]) => guard.run(() => (method as (...a: unknown[]) => Promise<unknown>).apply(port, args));
    }
  }
  return out as T;
}

/**
 * The ports with every call bounded by `o.timeoutMs` and its failures turned into
 * StoreUnavailableError, so that their users (the engine, the challenges, the audit route)
 * apply one fail mode instead of handling each backend's errors: a store that is down or hung
 * answers within the timeout, shows in the metrics, and its recovery is noticed. Calls made
 * together (one request's reads) run together, so they wait for one timeout between them.
 */
export function guardPorts(ports: StorePorts, o: GuardOptions): StorePorts {
  const guard = new StoreGuard(o);
  return {
    profiles: guarded(ports.profiles, guard),
    decisions: guarded(ports.decisions, guard),
    audit: guarded(ports.audit, guard),
    failures: guarded(ports.failures, guard),
    limits: guarded(ports.limits, guard),
    challenges: guarded(ports.challenges, guard),
  };
}
