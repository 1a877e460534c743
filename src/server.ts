import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { assemble } from './assemble.js';
import { SECRET_FILE, resolveSecret } from './challenge/keys.js';
import { OutboxProvider } from './challenge/providers/outbox.js';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Engine } from './engine/engine.js';
import { API_KEY_FILE, resolveApiKeys } from './http/auth.js';
import { ensurePrivateDir } from './files.js';
import { Metrics } from './observability/metrics.js';
import { createLogger } from './log.js';
import { RuleHolder } from './rules/holder.js';
import type { StoreEvent } from './store/guard.js';
import { openStore } from './store/open.js';
import type { Backend } from './store/ports.js';
import type { Clock } from './types.js';

export interface Server {
  app: FastifyInstance;
  engine: Engine;
  rules: RuleHolder;
  store: Backend;
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
/** How long a start waits for Redis before serving in the fail mode. */
const STORE_CONNECT_WAIT_MS = 2000;

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
  ensurePrivateDir(o.config.dataDir);
  const { keys, generated } = resolveApiKeys(env, o.config.dataDir);
  const secret = resolveSecret(env, o.config.dataDir);
  const { failMode, timeoutMs, redis, postgres } = o.config.store;
  const opened = await openStore({ dataDir: o.config.dataDir, redisUrl: env.REDIS_URL, databaseUrl: env.DATABASE_URL, timeoutMs, redis, postgres });
  const { store } = opened;
  const metrics = new Metrics();
  const onStoreEvent = (e: StoreEvent) => {
    metrics.store(e);
    // Once per outage, not once per request.
    if (e.type === 'recovered') logger.info({ store: store.kind, downMs: e.downMs }, 'state store answers again');
    else if (e.first) logger.error({ store: store.kind, err: e.error.cause ?? e.error, failMode }, `state store unavailable: answering fail-${failMode} until it is back`);
  };
  if (secret.generated) logger.warn({ file: join(o.config.dataDir, SECRET_FILE) }, 'no RISKGATE_SECRET set: using a generated secret kept in the data directory (set RISKGATE_SECRET in production)');
  const storeHealth = opened.health;
  const health =
    storeHealth &&
    (async () => {
      const h = await storeHealth();
      metrics.storeUp.set(h.ok ? 1 : 0);
      return { ...h, failMode };
    });
  const { app, engine, challenges, providers } = await assemble({
    store,
    rules,
    clock,
    keys: secret.keys,
    apiKeys: keys,
    metrics,
    file: o.config.file,
    env,
    console: announce,
    storeFailure: { mode: failMode, timeoutMs, onEvent: onStoreEvent },
    http: { logger, logRequests: o.config.logRequests, ...(health ? { health } : {}) },
  });
  if (providers.some((p) => p instanceof OutboxProvider)) {
    logger.warn('delivery: the outbox provider prints one-time codes on the console; configure real providers in riskgate.yaml for production');
  }
  opened.watch?.((up) => metrics.storeUp.set(up ? 1 : 0));
  if (opened.ready && !(await opened.ready(STORE_CONNECT_WAIT_MS))) {
    logger.error({ store: store.kind, failMode }, `state store unreachable at start: answering fail-${failMode} until it is reachable`);
  }
  rules.onReload((r) => {
    if (r.ok) logger.info({ version: r.version, changed: r.changed }, 'rules reloaded');
    else logger.error({ problems: r.message.split('\n').slice(1) }, 'rules reload refused; previous rules stay active');
  });

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
  logger.info({ address, rules: rules.current().version, store: store.kind, failMode }, 'riskgate listening');
  if (generated) {
    announce(`riskgate: no RISKGATE_API_KEYS set; generated an API key with the scopes ${generated.scopes.join('+')} (shown once, only its hash is kept in ${join(o.config.dataDir, API_KEY_FILE)}):`);
    announce(`  ${generated.key}`);
    announce('  In production set RISKGATE_API_KEYS: a decide+factors key for the login service, an admin key for operators (docs/configuration.md).');
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
