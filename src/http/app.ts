import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Decision, Engine } from '../engine/engine.js';
import { StoreUnavailableError } from '../engine/store-guard.js';
import { InputError, RefusedError, statusOf, type ErrorCode } from '../errors.js';
import type { RuleHolder } from '../rules/holder.js';
import type { Clock } from '../types.js';
import { ApiKeys } from './auth.js';
import { Metrics } from './metrics.js';
import {
  AuditQuery,
  AuditResponse,
  DecisionParams,
  DecisionRequest,
  DecisionResponse,
  ErrorBody,
  FailureRequest,
  FailureResponse,
  FeedbackRequest,
  FeedbackResponse,
  HealthResponse,
  ReloadResponse,
  RulesResponse,
} from './schemas.js';

export const BODY_LIMIT = 64 * 1024;

export interface ChallengeInfo {
  id: string;
  channel: string;
  expiresAt: string;
  [extra: string]: unknown;
}

export interface AppOptions {
  engine: Engine;
  rules: RuleHolder;
  apiKeys: ApiKeys;
  clock: Clock;
  metrics?: Metrics;
  logger?: Logger | false;
  /** Log one line per request (off by default: it sits on every login). */
  logRequests?: boolean;
  /** Refuses a decision request the challenge module could not serve (an invalid phone number), before anything is decided or stored. */
  checkDecision?: (request: DecisionRequest) => void;
  /** Turns a "challenge" decision into a challenge for the user (the challenge module). */
  issueChallenge?: (decisionId: string, request: DecisionRequest) => Promise<ChallengeInfo | undefined>;
  /** More routes (the challenge module's), registered under the same auth and error handling. */
  plugins?: FastifyPluginAsync[];
  /** Extra fields for /healthz (store health), and whether it is healthy. */
  health?: () => Promise<{ ok: boolean; [k: string]: unknown }>;
}

/**
 * In the store's fail mode a challenge can often not be issued either (its limits and state
 * live in the same store): the decision then goes out without one, as when the user has no
 * second factor, rather than as a 500. Outside the fail mode every error stays an error.
 */
async function issueChallenge(issue: NonNullable<AppOptions['issueChallenge']>, d: Decision, body: DecisionRequest, log: FastifyBaseLogger): Promise<ChallengeInfo | undefined> {
  try {
    return await issue(d.decisionId, body);
  } catch (err) {
    if (d.fallback === null || err instanceof RefusedError || err instanceof InputError) throw err;
    log.warn({ err, decisionId: d.decisionId }, 'challenge not issued: the state store is unavailable');
    return undefined;
  }
}

function sendError(reply: FastifyReply, code: ErrorCode, message: string, details?: string[]) {
  return reply.code(statusOf(code)).send({ error: { code, message, ...(details ? { details } : {}) } });
}

/** The Fastify app: thin routes over the engine, schema-first, one error shape. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const metrics = opts.metrics ?? new Metrics();
  metrics.activeRules(opts.rules.current().version);
  opts.rules.onReload((r) => metrics.reload(r));
  const loadedAt = new Map<string, string>([[opts.rules.current().hash, new Date(opts.clock()).toISOString()]]);
  opts.rules.onReload((r) => {
    if (r.ok) {
      const h = opts.rules.current().hash;
      if (!loadedAt.has(h)) loadedAt.set(h, new Date(opts.clock()).toISOString());
    }
  });

  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: !opts.logRequests }),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    // Route schemas hold the real limits (user ids up to 256 characters); the router's default of 100 would cut them short.
    routerOptions: { maxParamLength: 320 },
    // Router errors (a path parameter past that length, a malformed URL) get the API's error shape, not Fastify's.
    frameworkErrors: (err, _req, reply) => sendError(reply, 'INVALID_REQUEST', err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed'),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(swagger, {
    openapi: {
      info: { title: 'riskgate', version: '0.1.0', description: 'Risk-based step-up authentication: allow, challenge or block a login, and explain why.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.addSchema(ErrorBody);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof InputError || err instanceof RefusedError) return sendError(reply, err.code, err.message);
    if (err instanceof StoreUnavailableError) return sendError(reply, 'UNAVAILABLE', `${err.message}; try again`);
    if (err.validation) return sendError(reply, 'INVALID_REQUEST', err.message);
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 'BODY_TOO_LARGE', `body larger than ${BODY_LIMIT} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 'INVALID_JSON', 'the body is not valid JSON');
    }
    if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) return sendError(reply, 'INVALID_JSON', 'the body is not valid JSON');
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return sendError(reply, 'INVALID_REQUEST', err.message);
    req.log.error({ err }, 'request failed');
    return sendError(reply, 'INTERNAL', 'internal error; see the server log');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));

  const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody, 503: ErrorBody };

  // Everything under /v1 needs an API key.
  app.register(
    async (scope) => {
      const v1 = scope.withTypeProvider<TypeBoxTypeProvider>();
      v1.addHook('onRequest', async (req, reply) => {
        const key = ApiKeys.bearer(req.headers.authorization);
        if (!key || !opts.apiKeys.verify(key)) {
          reply.header('www-authenticate', 'Bearer realm="riskgate"');
          return sendError(reply, 'UNAUTHORIZED', key ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key>');
        }
      });

      v1.post(
        '/decisions',
        { schema: { tags: ['decisions'], summary: 'Allow, challenge or block a login', security: [{ apiKey: [] }], body: DecisionRequest, response: { 200: DecisionResponse, ...errors, 429: ErrorBody } } },
        async (req) => {
          const started = process.hrtime.bigint();
          opts.checkDecision?.(req.body);
          const d = await opts.engine.decide(req.body);
          const challenge = d.action === 'challenge' && opts.issueChallenge ? await issueChallenge(opts.issueChallenge, d, req.body, req.log) : undefined;
          metrics.decision(d, Number(process.hrtime.bigint() - started) / 1e9);
          return { decisionId: d.decisionId, action: d.action, score: d.score, reasons: d.reasons, rulesVersion: d.rulesVersion, ...(challenge ? { challenge } : {}) };
        },
      );

      v1.post(
        '/login-failures',
        { schema: { tags: ['decisions'], summary: 'Report a wrong password', security: [{ apiKey: [] }], body: FailureRequest, response: { 200: FailureResponse, ...errors } } },
        async (req) => {
          const f = await opts.engine.recordFailure(req.body);
          metrics.failure(f);
          return { blocked: f.blocked, ...f.counts, score: f.score, reasons: f.reasons, rulesVersion: f.rulesVersion };
        },
      );

      v1.post(
        '/decisions/:decisionId/feedback',
        {
          schema: {
            tags: ['decisions'],
            summary: 'Tell what happened after a decision',
            security: [{ apiKey: [] }],
            params: DecisionParams,
            body: FeedbackRequest,
            response: { 200: FeedbackResponse, ...errors },
          },
        },
        async (req) => {
          const r = await opts.engine.feedback(req.params.decisionId, req.body.outcome);
          metrics.feedback.inc({ outcome: r.outcome });
          return r;
        },
      );

      v1.get('/rules', { schema: { tags: ['rules'], summary: 'The active rule set', security: [{ apiKey: [] }], response: { 200: RulesResponse, 401: ErrorBody } } }, async () => {
        const rs = opts.rules.current();
        return {
          version: rs.version,
          label: rs.label,
          hash: rs.hash,
          loadedAt: loadedAt.get(rs.hash) ?? '',
          thresholds: rs.thresholds,
          severities: rs.severities,
          rules: rs.rules.map((r) => ({ id: r.id, description: r.description, severity: r.severity, points: r.points, action: r.force, shadow: r.shadow, standalone: r.standalone })),
          lists: rs.lists.map((l) => ({ name: l.name, match: l.match, size: l.size })),
        };
      });

      v1.post(
        '/admin/rules/reload',
        { schema: { tags: ['rules'], summary: 'Reload the rule files; a broken set is refused', security: [{ apiKey: [] }], response: { 200: ReloadResponse, 401: ErrorBody, 422: ErrorBody } } },
        async (req, reply) => {
          const r = await opts.rules.reload();
          if (!r.ok) {
            req.log.warn({ problems: r.diagnostics.length }, 'rules reload refused; previous rules stay active');
            return sendError(reply, 'RULES_INVALID', `rules refused, ${r.diagnostics.length} problem(s); version ${opts.rules.current().version} stays active`, r.message.split('\n').slice(1));
          }
          req.log.info({ version: r.version, changed: r.changed }, 'rules reloaded');
          return { status: 'reloaded' as const, version: r.version, changed: r.changed };
        },
      );

      v1.get('/audit', { schema: { tags: ['audit'], summary: 'Query the audit trail', security: [{ apiKey: [] }], querystring: AuditQuery, response: { 200: AuditResponse, ...errors } } }, async (req) => {
        const q = req.query;
        const entries = await opts.engine.store.queryAudit({
          userId: q.userId,
          kind: q.kind,
          ref: q.ref,
          since: q.since ? Date.parse(q.since) : undefined,
          until: q.until ? Date.parse(q.until) : undefined,
          limit: q.limit,
        });
        return { entries: entries.map((e) => ({ ...e, time: new Date(e.time).toISOString() })) };
      });

      for (const plugin of opts.plugins ?? []) await v1.register(plugin);
    },
    { prefix: '/v1' },
  );

  app.get('/healthz', { schema: { tags: ['operations'], response: { 200: HealthResponse, 503: HealthResponse } } }, async (_req, reply) => {
    const extra = opts.health ? await opts.health() : { ok: true };
    const { ok, ...rest } = extra;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', store: opts.engine.store.kind, rulesVersion: opts.rules.current().version, ...rest });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());

  return app as unknown as FastifyInstance;
}
