import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { ChallengeService } from '../challenge/service.js';
import type { Engine } from '../engine/engine.js';
import { Metrics } from '../observability/metrics.js';
import type { AuditLog, IdempotencyKeys } from '../store/ports.js';
import type { RuleHolder } from '../rules/holder.js';
import type { Clock } from '../types.js';
import { ApiKeys } from './auth.js';
import { LazyChildLogger, withRequestId } from '../log.js';
import { BODY_LIMIT, REQUEST_ID_HEADER, errorHandler, requestIdOf, sendError } from './errors.js';
import { idempotentRoute } from './idempotency.js';
import { auditRoutes } from './routes/audit.js';
import { challengeRoutes } from './routes/challenges.js';
import { decisionRoutes } from './routes/decisions.js';
import { factorRoutes } from './routes/factors.js';
import { rulesRoutes, trackLoadTimes } from './routes/rules.js';
import { ErrorBody, HealthResponse } from './schemas.js';
import { strictValidator } from './validation.js';

export interface AppOptions {
  engine: Engine;
  /** The audit trail /v1/audit reads, through the same guard as the engine's store. */
  audit: Pick<AuditLog, 'query'>;
  /** Where Idempotency-Key claims and first answers are kept, through the same guard as the engine's store. */
  idempotency: IdempotencyKeys;
  /** The store's name, for /healthz. */
  storeKind: string;
  rules: RuleHolder;
  /** The challenge module: a "challenge" decision issues one through it, and its routes are served. */
  challenges: ChallengeService;
  apiKeys: ApiKeys;
  clock: Clock;
  metrics?: Metrics;
  logger?: Logger | false;
  /** Log one line per request (off by default: it sits on every login). */
  logRequests?: boolean;
  /** Extra fields for /healthz (store health), and whether it is healthy. */
  health?: () => Promise<{ ok: boolean; [k: string]: unknown }>;
}

/**
 * The Fastify app: one error shape, the API key in front of everything under /v1, and the
 * routes as one plugin per area (src/http/routes/), each handed only what it serves.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const metrics = opts.metrics ?? new Metrics();
  metrics.activeRules(opts.rules.current().version);
  opts.rules.onReload((r) => metrics.reload(r));
  const loadedAt = trackLoadTimes(opts.rules, opts.clock);

  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger, childLoggerFactory: LazyChildLogger.factory as NonNullable<FastifyServerOptions['childLoggerFactory']> } : { logger: false }),
    logController: new LogController({ disableRequestLogging: !opts.logRequests, requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: (req) => requestIdOf(req.headers[REQUEST_ID_HEADER]),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    // Route schemas hold the real limits (user ids up to 256 characters); the router's default of 100 would cut them short.
    routerOptions: { maxParamLength: 320 },
    // Router errors (a path parameter past that length, a malformed URL) get the API's error shape, not Fastify's.
    frameworkErrors: (err, _req, reply) => sendError(reply, 'INVALID_REQUEST', err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed'),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(strictValidator);
  // Every body is JSON: text/plain (which Fastify parses by default) is refused with 415, not read as a string.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      info: { title: 'riskgate', version: '0.1.0', description: 'Risk-based step-up authentication: allow, challenge or block a login, and explain why.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.addSchema(ErrorBody);
  // Every answer names its request; what the request logs (audit events too) carries the same id.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header(REQUEST_ID_HEADER, req.id);
    withRequestId(req.id, done);
  });
  app.addHook('onResponse', (req, reply, done) => {
    metrics.request(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => sendError(reply, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));

  // Everything under /v1 needs an API key with the scope its route names; the areas are
  // registered inside this scope, so its hooks guard them all.
  app.register(
    async (v1) => {
      v1.addHook('onRoute', (route) => {
        // A route that names no scope would be open to every key: refuse to start instead.
        if (!route.config?.scope) throw new Error(`route ${route.method} ${route.url} names no API key scope (config.scope)`);
      });
      // A callback hook, not an async one: no promise per request. An early answer does not call `done`.
      v1.addHook('onRequest', (req, reply, done) => {
        const key = ApiKeys.bearer(req.headers.authorization);
        const scopes = key ? opts.apiKeys.verify(key) : null;
        if (!scopes) {
          reply.header('www-authenticate', 'Bearer realm="riskgate"');
          sendError(reply, 'UNAUTHORIZED', key ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key>');
          return;
        }
        const needed = req.routeOptions.config.scope;
        if (!needed || !scopes.has(needed)) {
          reply.header('www-authenticate', `Bearer realm="riskgate", error="insufficient_scope", scope="${needed}"`);
          sendError(reply, 'INSUFFICIENT_SCOPE', `this API key lacks the "${needed}" scope this route needs (it has ${[...scopes].join('+')})`);
          return;
        }
        done();
      });
      const idempotent = idempotentRoute(opts.idempotency, opts.clock);
      await v1.register(decisionRoutes, { engine: opts.engine, challenges: opts.challenges, metrics, idempotent });
      await v1.register(rulesRoutes, { rules: opts.rules, loadedAt });
      await v1.register(auditRoutes, { audit: opts.audit });
      await v1.register(challengeRoutes, { service: opts.challenges, idempotent });
      await v1.register(factorRoutes, { service: opts.challenges, engine: opts.engine });
    },
    { prefix: '/v1' },
  );

  app.get('/healthz', { schema: { tags: ['operations'], response: { 200: HealthResponse, 503: HealthResponse } } }, async (_req, reply) => {
    const extra = opts.health ? await opts.health() : { ok: true };
    const { ok, ...rest } = extra;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', store: opts.storeKind, rulesVersion: opts.rules.current().version, ...rest });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());

  return app as unknown as FastifyInstance;
}
