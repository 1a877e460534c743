import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger } from 'fastify';
import type { ChallengeService, ChallengeView } from '../../challenge/service.js';
import type { Decision, Engine } from '../../engine/engine.js';
import { InputError, RefusedError } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';
import { StoreUnavailableError } from '../../store/guard.js';
import {
  DecisionParams,
  DecisionRequest,
  DecisionResponse,
  ERROR_RESPONSES,
  ErrorBody,
  FailureRequest,
  FailureResponse,
  FeedbackRequest,
  FeedbackResponse,
  IdempotencyHeaders,
  security,
} from '../schemas.js';
import type { IdempotentRoute } from '../idempotency.js';

export interface DecisionRoutesOptions {
  engine: Engine;
  /** Refuses a request it could not serve (an invalid phone number) before anything is decided, and issues the challenge of a "challenge" decision. */
  challenges: Pick<ChallengeService, 'checkRequest' | 'issue' | 'enrolmentSuggestion'>;
  metrics: Metrics;
  /** Idempotency-Key handling for the routes that act (src/http/idempotency.ts). */
  idempotent: IdempotentRoute;
}

/**
 * In the store's fail mode a challenge can often not be issued either (its limits and state
 * live in the same store): the decision then goes out without one, as when the user has no
 * second factor, rather than as a 500. Outside the fail mode every error stays an error.
 */
async function issueChallenge(challenges: DecisionRoutesOptions['challenges'], d: Decision, body: DecisionRequest, log: FastifyBaseLogger): Promise<ChallengeView | undefined> {
  try {
    return await challenges.issue(d.decisionId, body);
  } catch (err) {
    if (d.fallback === null || err instanceof RefusedError || err instanceof InputError) throw err;
    log.warn({ err, decisionId: d.decisionId }, 'challenge not issued: the state store is unavailable');
    return undefined;
  }
}

/** The policy's enrolment nudge (`enroll`), when the user has no strong factor. A hint: a store that fails leaves it out rather than failing the decision. */
async function enrolment(challenges: DecisionRoutesOptions['challenges'], d: Decision, enroll: NonNullable<Decision['enroll']>, log: FastifyBaseLogger): Promise<{ suggest: 'passkey' } | undefined> {
  try {
    return await challenges.enrolmentSuggestion(d.record.userId, enroll);
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    log.warn({ err, decisionId: d.decisionId }, 'enrolment suggestion left out: the state store did not answer');
    return undefined;
  }
}

/** Decisions, failed passwords and feedback on decisions: the login service's calls. */
export const decisionRoutes: FastifyPluginAsyncTypebox<DecisionRoutesOptions> = async (app, { engine, challenges, metrics, idempotent }) => {
  app.post(
    '/decisions',
    { config: { scope: 'decide' }, schema: { tags: ['decisions'], summary: 'Allow, challenge or block a login', security, headers: IdempotencyHeaders, body: DecisionRequest, response: { 200: DecisionResponse, ...ERROR_RESPONSES, 429: ErrorBody } }, ...idempotent },
    async (req) => {
      const started = process.hrtime.bigint();
      challenges.checkRequest(req.body);
      const d = await engine.decide(req.body);
      const challenge = d.action === 'challenge' ? await issueChallenge(challenges, d, req.body, req.log) : undefined;
      // Asked only when the policy nudges and the store answered: most decisions await nothing here.
      const enroll = d.enroll !== null && d.fallback === null ? await enrolment(challenges, d, d.enroll, req.log) : undefined;
      metrics.decision(d, Number(process.hrtime.bigint() - started) / 1e9);
      return { decisionId: d.decisionId, action: d.action, score: d.score, reasons: d.reasons, rulesVersion: d.rulesVersion, ...(challenge ? { challenge } : {}), ...(enroll ? { enroll } : {}) };
    },
  );

  app.post(
    '/login-failures',
    { config: { scope: 'decide' }, schema: { tags: ['decisions'], summary: 'Report a wrong password', security, headers: IdempotencyHeaders, body: FailureRequest, response: { 200: FailureResponse, ...ERROR_RESPONSES } }, ...idempotent },
    async (req) => {
      const f = await engine.recordFailure(req.body);
      metrics.failure(f);
      return { blocked: f.blocked, ...f.counts, score: f.score, reasons: f.reasons, rulesVersion: f.rulesVersion };
    },
  );

  app.post(
    '/decisions/:decisionId/feedback',
    {
      config: { scope: 'decide' },
      schema: {
        tags: ['decisions'],
        summary: 'Tell what happened after a decision',
        security,
        params: DecisionParams,
        body: FeedbackRequest,
        response: { 200: FeedbackResponse, ...ERROR_RESPONSES },
      },
    },
    async (req) => {
      const r = await engine.feedback(req.params.decisionId, req.body.outcome);
      metrics.feedback.inc({ outcome: r.outcome });
      return r;
    },
  );
};
