import type { FastifyInstance } from 'fastify';
import { setupChallenges } from './challenge/index.js';
import type { Keys } from './challenge/keys.js';
import type { Provider } from './challenge/providers/provider.js';
import type { ChallengeService } from './challenge/service.js';
import type { ConfigFile } from './config.js';
import { Engine, type EngineOptions } from './engine/engine.js';
import type { ApiKeys } from './http/auth.js';
import { buildApp, type AppOptions } from './http/app.js';
import type { Metrics } from './observability/metrics.js';
import type { RuleHolder } from './rules/holder.js';
import type { Store } from './store/store.js';
import type { Clock } from './types.js';

export interface AssembleOptions {
  store: Store;
  rules: RuleHolder;
  clock: Clock;
  /** The keys derived from RISKGATE_SECRET (codes, recovery codes, trust tokens, TOTP secrets). */
  keys: Keys;
  apiKeys: ApiKeys;
  metrics: Metrics;
  /** riskgate.yaml: `delivery` and `challenges`. */
  file: ConfigFile;
  env: NodeJS.ProcessEnv;
  /** Providers made by the caller instead of from the file (tests, benches). */
  providers?: Provider[] | undefined;
  /** Where the outbox provider prints codes (development). */
  console?: ((line: string) => void) | undefined;
  /** Engine options beyond the wiring: the store fail mode and its events, or test doubles. */
  engine?: Partial<EngineOptions>;
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
 * challenges (their trust tokens first, since the engine verifies them), the engine, the
 * challenge service on the engine, and the HTTP app with the challenge routes.
 */
export async function assemble(o: AssembleOptions): Promise<Assembled> {
  const setup = setupChallenges({ store: o.store, keys: o.keys, clock: o.clock, onEvent: (e) => o.metrics.challenge(e), file: o.file, env: o.env, console: o.console, providers: o.providers });
  let challenges: ChallengeService | undefined;
  const engine = new Engine({
    store: o.store,
    rules: o.rules.current,
    clock: o.clock,
    trust: setup.trust,
    // Only called on feedback, once `challenges` exists.
    onConfirmedFraud: async (record) => void (await challenges?.revokeAllTrust(record.userId, record.id)),
    ...o.engine,
  });
  challenges = setup.service(engine);
  const app = await buildApp({ engine, rules: o.rules, apiKeys: o.apiKeys, clock: o.clock, metrics: o.metrics, challenges, audit: engine.store, ...o.http });
  return { app, engine, challenges, providers: setup.providers };
}
