import type { LimiterFactory, Store } from '../store/store.js';
import { maxAction, type Action } from '../types.js';

/**
 * What a decision does when the state store cannot be read in time (docs/configuration.md):
 * both modes run the rules without history (no profile, no counters, no trust); `closed`
 * then asks for at least a challenge, `open` keeps what the rules say.
 */
export type StoreFailMode = 'open' | 'closed';

export interface StoreFailurePolicy {
  mode: StoreFailMode;
  /** A store step of one request (its reads together, or its writes together) slower than this has failed. */
  timeoutMs: number;
}

/** The reason a decision carries when the store could not be read or written. Never a rule in rules/. */
export const STORE_UNAVAILABLE_RULE = 'riskgate.store_unavailable';

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

/** What the guard reports: every failure (metrics), and the first success after failures (recovery). */
export type StoreEvent =
  | { type: 'failed'; error: StoreUnavailableError; /** the first failure after the store was up */ first: boolean }
  | { type: 'recovered'; /** how long the store had been failing */ downMs: number };

/**
 * Bounds the engine's store calls in time and turns their failures into StoreUnavailableError,
 * so the engine applies one fail mode instead of handling each store's errors. Without a
 * policy it is transparent: calls are not timed and errors pass unchanged (rule tests and
 * replay want a broken store to be loud).
 */
export class StoreGuard {
  private downSince: number | null = null;

  constructor(
    private readonly policy: StoreFailurePolicy | undefined,
    private readonly onEvent: ((e: StoreEvent) => void) | undefined,
    /** Real time, only to report how long an outage lasted; decisions use the engine's clock. */
    private readonly now: () => number = Date.now,
  ) {}

  async run<T>(op: () => Promise<T>): Promise<T> {
    const policy = this.policy;
    if (!policy) return op();
    let timer: NodeJS.Timeout | undefined;
    const work = Promise.resolve().then(op);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError('timeout', `state store did not answer within ${policy.timeoutMs} ms`)), policy.timeoutMs);
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
      clearTimeout(timer);
    }
  }

  /** The action once the fail mode has spoken: `closed` asks for at least a challenge. */
  fallbackAction(action: Action): Action {
    return this.policy?.mode === 'closed' ? maxAction(action, 'challenge') : action;
  }

  get mode(): StoreFailMode {
    return this.policy?.mode ?? 'closed';
  }

  private up(): void {
    if (this.downSince === null) return;
    const downMs = this.now() - this.downSince;
    this.downSince = null;
    this.onEvent?.({ type: 'recovered', downMs });
  }

  private down(error: StoreUnavailableError): void {
    const first = this.downSince === null;
    if (first) this.downSince = this.now();
    this.onEvent?.({ type: 'failed', error, first });
  }
}

/** Only these limiter methods reach the store; consume() would reject with a refusal, not a failure. */
const LIMITER_CALLS = new Set<PropertyKey>(['penalty', 'reward', 'get', 'set', 'delete']);

/**
 * `store` as seen by another module than the engine (the challenges): each call goes through
 * `guard`, so a store that is down or hung answers StoreUnavailableError (HTTP 503) within the
 * timeout, shows in the metrics, and its recovery is noticed, as for decisions.
 */
export function guardStore(store: Store, guard: StoreGuard): Store {
  const calls = <T extends object>(target: T, only?: Set<PropertyKey>): T =>
    new Proxy(target, {
      get(t, p) {
        const v: unknown = Reflect.get(t, p);
        if (typeof v !== 'function' || (only && !only.has(p))) return v;
        return (...args: unknown[]) => guard.run(() => (v as (...a: unknown[]) => Promise<unknown>).apply(t, args));
      },
    });
  const guarded = calls(store);
  const limiter: LimiterFactory = (name, durationSec) => calls(store.limiter(name, durationSec), LIMITER_CALLS);
  return new Proxy(guarded, {
    get: (t, p) => (p === 'limiter' ? limiter : p === 'close' ? store.close.bind(store) : Reflect.get(t, p)),
  });
}
