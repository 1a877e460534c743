import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ChallengeService } from '../../challenge/service.js';
import { CHALLENGE_ERRORS, ChallengeParams, ChallengeResponse, ResendRequest, VerifyRequest, VerifyResponse } from '../challenge-schemas.js';
import { IdempotencyHeaders, optionalBody, security } from '../schemas.js';
import type { IdempotentRoute } from '../idempotency.js';

export interface ChallengeRoutesOptions {
  service: ChallengeService;
  /** Idempotency-Key handling for resend, which sends a code (src/http/idempotency.ts). */
  idempotent: IdempotentRoute;
}

/** Answering a challenge, and sending its code again. */
export const challengeRoutes: FastifyPluginAsyncTypebox<ChallengeRoutesOptions> = async (app, { service, idempotent }) => {
  app.post(
    '/challenges/:id/verify',
    {
      config: { scope: 'decide' },
      schema: {
        tags: ['challenges'],
        summary: 'Answer a challenge with a code or a recovery code',
        security,
        params: ChallengeParams,
        body: VerifyRequest,
        response: { 200: VerifyResponse, ...CHALLENGE_ERRORS },
      },
    },
    async (req) => service.verify(req.params.id, req.body),
  );

  app.post(
    '/challenges/:id/resend',
    {
      config: { scope: 'decide' },
      schema: {
        tags: ['challenges'],
        summary: 'Send a new code, on the given channel or the next in the fallback order',
        security,
        params: ChallengeParams,
        headers: IdempotencyHeaders,
        body: ResendRequest,
        response: { 200: ChallengeResponse, ...CHALLENGE_ERRORS },
      },
      preValidation: optionalBody,
      ...idempotent,
    },
    async (req) => service.resend(req.params.id, req.body.channel),
  );
};
