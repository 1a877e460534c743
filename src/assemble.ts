import type { FastifyInstance } from 'fastify';
import { setupChallenges } from './challenge/index.js';
import type { Keys } from './challenge/keys.js';
import type { Provider } from './challenge/providers/provider.js';
import type { ChallengeService } from './challenge/service.js';
import type { ConfigFile } from './config.js';
import { Engine } from './engine/engine.js';
import type { ApiKeys } from './http/auth.js';
import { buildApp, type AppOptions } from './http/app.js';
import { logAuditEvents } from './observability/audit-log.js';
import type { Metrics } from './observability/metrics.js';
import type { RuleHolder } from './rules/holder.js';
import { guardPorts, type GuardOptions } from './store/guard.js';
import type { Population } from './signals/familiarity.js';
import type { Backend } from './store/ports.js';
import type { Clock, StoreFailMode } from './types.js';

export interface AssembleOptions {
  /** The backend; its parts see only its ports. */
  store: Backend;
  rules: RuleHolder;
  clock: Clock;
  /** The keys derived from RISKGATE_SECRET (codes, recovery codes, trust tokens, TOTP secrets). */
  keys: Keys;
  apiKeys: ApiKeys;
  metrics: Metrics;
  /** riskgate.yaml: `delivery` and `challenges`. */
  file: ConfigFile;
  env: NodeJS.ProcessEnv;
  /**
   * What a failing or slow store does (`store.failMode`, `store.timeoutMs`; the server always
   * sets it): every part then reaches the store through one guard (src/store/guard.ts), and
   * decisions fall back to the fail mode. Without it store errors propagate.
   */
  storeFailure?: (GuardOptions & { mode: StoreFailMode }) | undefined;
  /** Providers made by the caller instead of from the file (tests, benches). */
  providers?: Provider[] | undefined;
  /** Where the outbox provider prints codes (development). */
  console?: ((line: string) => void) | undefined;
  /** The familiarity population to start from (the server's saved one); a new, empty one without. */
  population?: Population | undefined;
  /** HTTP options beyond the wiring: logger, request logs, health. */
  http?: Partial<Pick<AppOptions, 'logger' | 'logRequests' | 'health'>>;
}

export interface Assembled {
  app: FastifyInstance;
  engine: Engine;
  challenges: ChallengeService;
  providers: Provider[];
}

/**
 * The one wiring of riskgate's parts, used by the server, the tests and the benches alike:
 * the store under its guard (its audit events also logged, when there is a logger), the
 * challenges (whose trust tokens the engine verifies), the engine, and the HTTP app with the
 * challenge routes.
 */
export async function assemble(o: AssembleOptions): Promise<Assembled> {
  const logged = o.http?.logger ? logAuditEvents(o.store, o.http.logger) : o.store;
  const store = o.storeFailure ? guardPorts(logged, o.storeFailure) : logged;
  const challenges = setupChallenges({
    store,
    // Only called once a challenge is answered, when `engine` exists.
    onPassed: (decisionId) => engine.passChallenge(decisionId),
    keys: o.keys,
    clock: o.clock,
    onEvent: (e) => o.metrics.challenge(e),
    file: o.file,
    env: o.env,
    console: o.console,
    providers: o.providers,
  });
  const engine = new Engine({
    store,
    rules: o.rules.current,
    clock: o.clock,
    trust: challenges.trust,
    passkeys: o.file.passkeys ? store.passkeys : undefined,
    failMode: o.storeFailure?.mode,
    onConfirmedFraud: async (record) => void (await challenges.service.revokeAllTrust(record.userId, record.id)),
    ...(o.population ? { population: o.population } : {}),
  });
  const app = await buildApp({ engine, audit: store.audit, idempotency: store.idempotency, storeKind: o.store.kind, rules: o.rules, apiKeys: o.apiKeys, clock: o.clock, metrics: o.metrics, challenges: challenges.service, ...o.http });
  return { app, engine, challenges: challenges.service, providers: challenges.providers };
}
