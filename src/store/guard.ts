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

  /** Settles with `op`'s answer, or with StoreUnavailableError when it fails or the deadline passes first. */
  run<T>(op: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let cancel = (): void => undefined;
      const fail = (error: StoreUnavailableError) => {
        if (settled) return;
        settled = true;
        cancel();
        this.down(error);
        reject(error);
      };
      cancel = this.deadline(this.o.timeoutMs, () => fail(new StoreUnavailableError('timeout', `state store did not answer within ${this.o.timeoutMs} ms`)));
      // An abandoned call that fails later lands here too, so it never becomes an unhandled rejection.
      const failed = (e: unknown) => fail(e instanceof StoreUnavailableError ? e : new StoreUnavailableError('error', 'state store unreachable or failing', { cause: e }));
      let work: Promise<T>;
      try {
        work = op();
      } catch (e) {
        failed(e);
        return;
      }
      work.then((value) => {
        if (settled) return;
        settled = true;
        cancel();
        this.up();
        resolve(value);
      }, failed);
    });
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
    logins: guarded(ports.logins, guard),
    limits: guarded(ports.limits, guard),
    challenges: guarded(ports.challenges, guard),
    passkeys: guarded(ports.passkeys, guard),
    idempotency: guarded(ports.idempotency, guard),
  };
}
