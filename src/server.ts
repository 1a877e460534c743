import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { setupChallenges } from './challenge/index.js';
import { SECRET_FILE, resolveSecret } from './challenge/keys.js';
import { OutboxProvider } from './challenge/providers/outbox.js';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { Engine } from './engine/engine.js';
import { resolveApiKeys } from './http/auth.js';
import { buildApp } from './http/app.js';
import { challengeAppOptions } from './http/challenge-routes.js';
import { Metrics } from './http/metrics.js';
import { createLogger } from './log.js';
import { RuleHolder } from './rules/holder.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';
import type { Clock } from './types.js';

export interface Server {
  app: FastifyInstance;
  engine: Engine;
  rules: RuleHolder;
  store: Store;
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  logger?: Logger;
  /** Where the one-time generated API key is shown (stderr by default; never the log). */
  announce?: (line: string) => void;
  /** Listen for SIGHUP (rules reload). Off in tests that start several servers. */
  handleSignals?: boolean;
}

const HOUR_MS = 3_600_000;

/**
 * Wires a running server: store, rules, challenges, engine, HTTP. A broken rule set throws
 * RuleSetError and a provider without its secret ConfigError, before anything listens. Rules
 * reload on SIGHUP; the audit trail is pruned hourly; unanswered challenges close every minute.
 */
export async function startServer(o: StartOptions): Promise<Server> {
  const env = o.env ?? process.env;
  const clock = o.clock ?? Date.now;
  const logger = o.logger ?? createLogger(o.config.logLevel);
  const announce = o.announce ?? ((line: string) => process.stderr.write(`${line}\n`));

  const rules = await RuleHolder.load(o.config.rulesDir);
  const { keys, generated } = resolveApiKeys(env, o.config.dataDir);
  const secret = resolveSecret(env, o.config.dataDir);
  const store = new SqliteStore({ path: join(o.config.dataDir, 'riskgate.db') });
  const metrics = new Metrics();
  if (secret.generated) logger.warn({ file: join(o.config.dataDir, SECRET_FILE) }, 'no RISKGATE_SECRET set: using a generated secret kept in the data directory (set RISKGATE_SECRET in production)');
  const challengeSetup = setupChallenges({ store, keys: secret.keys, clock, metrics, file: o.config.file, env, console: announce });
  if (challengeSetup.providers.some((p) => p instanceof OutboxProvider)) {
    logger.warn('delivery: the outbox provider prints one-time codes on the console; configure real providers in riskgate.yaml for production');
  }
  const engine = new Engine({
    store,
    rules: rules.current,
    clock,
    trust: challengeSetup.trust,
    // Only called on feedback, long after `challenges` below exists.
    onConfirmedFraud: async (record) => void (await challenges.revokeAllTrust(record.userId, record.id)),
  });
  const challenges = challengeSetup.service(engine);
  rules.onReload((r) => {
    if (r.ok) logger.info({ version: r.version, changed: r.changed }, 'rules reloaded');
    else logger.error({ problems: r.message.split('\n').slice(1) }, 'rules reload refused; previous rules stay active');
  });

  const app = await buildApp({ engine, rules, apiKeys: keys, clock, metrics, logger, logRequests: o.config.logRequests, ...challengeAppOptions(challenges) });

  const retentionMs = o.config.auditRetentionDays * 24 * HOUR_MS;
  const prune = () =>
    store.prune(clock() - retentionMs).then(
      (n) => n && logger.info({ deleted: n }, 'audit retention applied'),
      (err: unknown) => logger.error({ err }, 'audit pruning failed'),
    );
  await prune();
  const pruneTimer = setInterval(prune, HOUR_MS).unref();
  const expireChallenges = () => void challenges.expireDue().catch((err: unknown) => logger.error({ err }, 'closing expired challenges failed'));
  const expireTimer = setInterval(expireChallenges, 60_000).unref();

  const onHup = () => void rules.reload().catch((err: unknown) => logger.error({ err }, 'rules reload failed'));
  if (o.handleSignals) process.on('SIGHUP', onHup);

  const address = await app.listen({ host: o.config.host, port: o.config.port });
  logger.info({ address, rules: rules.current().version, store: store.kind }, 'riskgate listening');
  if (generated) {
    announce(`riskgate: no RISKGATE_API_KEYS set; generated an API key (shown once, only its hash is kept in ${join(o.config.dataDir, 'api-keys.sha256')}):`);
    announce(`  ${generated}`);
  }

  return {
    app,
    engine,
    rules,
    store,
    url: address,
    async close() {
      clearInterval(pruneTimer);
      clearInterval(expireTimer);
      if (o.handleSignals) process.off('SIGHUP', onHup);
      await app.close();
      await store.close();
    },
  };
}
