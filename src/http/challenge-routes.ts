import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ChallengeService } from '../challenge/service.js';
import type { AppOptions } from './app.js';
import {
  ChallengeParams,
  ChallengeResponse,
  DeletedResponse,
  RecoveryCodesResponse,
  ResendRequest,
  TotpConfirmRequest,
  TotpConfirmResponse,
  TotpEnrolRequest,
  TotpEnrolResponse,
  TrustedDeviceParams,
  TrustedDevicesResponse,
  UserParams,
  VerifyRequest,
  VerifyResponse,
} from './challenge-schemas.js';
import { ErrorBody } from './schemas.js';

/** For bodies whose fields are all optional: a bare POST (no body at all) means `{}`. */
async function optionalBody(req: { body: unknown }): Promise<void> {
  req.body ??= {};
}

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 503: ErrorBody };
const security = [{ apiKey: [] }];

/** The challenge routes: thin, schema-first, one service call each. Registered under /v1 (API key, error handler). */
function challengeRoutes(service: ChallengeService): FastifyPluginAsync {
  return async (scope) => {
    const r = scope.withTypeProvider<TypeBoxTypeProvider>();

    r.post(
      '/challenges/:id/verify',
      { schema: { tags: ['challenges'], summary: 'Answer a challenge with a code or a recovery code', security, params: ChallengeParams, body: VerifyRequest, response: { 200: VerifyResponse, ...errors } } },
      async (req) => service.verify(req.params.id, req.body),
    );

    r.post(
      '/challenges/:id/resend',
      {
        schema: {
          tags: ['challenges'],
          summary: 'Send a new code, on the given channel or the next in the fallback order',
          security,
          params: ChallengeParams,
          body: ResendRequest,
          response: { 200: ChallengeResponse, ...errors },
        },
        preValidation: optionalBody,
      },
      async (req) => service.resend(req.params.id, req.body.channel),
    );

    r.post(
      '/users/:userId/totp',
      {
        schema: { tags: ['second factors'], summary: 'Start a TOTP enrolment (confirm it with a first code)', security, params: UserParams, body: TotpEnrolRequest, response: { 200: TotpEnrolResponse, ...errors } },
        preValidation: optionalBody,
      },
      async (req) => service.enrolTotp(req.params.userId, req.body.account),
    );

    r.post(
      '/users/:userId/totp/confirm',
      { schema: { tags: ['second factors'], summary: 'Confirm a TOTP enrolment with a first code', security, params: UserParams, body: TotpConfirmRequest, response: { 200: TotpConfirmResponse, ...errors } } },
      async (req) => service.confirmTotp(req.params.userId, req.body.code),
    );

    r.delete(
      '/users/:userId/totp',
      { schema: { tags: ['second factors'], summary: 'Remove the user\'s TOTP enrolment', security, params: UserParams, response: { 200: DeletedResponse, ...errors } } },
      async (req) => {
        await service.deleteTotp(req.params.userId);
        return { status: 'deleted' as const };
      },
    );

    r.post(
      '/users/:userId/recovery-codes',
      { schema: { tags: ['second factors'], summary: 'A new set of 10 recovery codes (shown once; the old set stops working)', security, params: UserParams, response: { 200: RecoveryCodesResponse, ...errors } } },
      async (req) => ({ codes: await service.newRecoveryCodes(req.params.userId) }),
    );

    r.get(
      '/users/:userId/trusted-devices',
      { schema: { tags: ['second factors'], summary: 'The user\'s trusted devices', security, params: UserParams, response: { 200: TrustedDevicesResponse, ...errors } } },
      async (req) => ({
        devices: (await service.trustedDevices(req.params.userId)).map((d) => ({
          id: d.id,
          deviceId: d.deviceId,
          label: d.label,
          ip: d.ip,
          createdAt: new Date(d.createdAt).toISOString(),
          expiresAt: new Date(d.expiresAt).toISOString(),
        })),
      }),
    );

    r.delete(
      '/users/:userId/trusted-devices/:id',
      { schema: { tags: ['second factors'], summary: 'Revoke one trusted device', security, params: TrustedDeviceParams, response: { 200: DeletedResponse, ...errors } } },
      async (req) => {
        await service.revokeTrustedDevice(req.params.userId, req.params.id);
        return { status: 'deleted' as const };
      },
    );
  };
}

/** What buildApp needs to carry challenges: check the request, issue on "challenge", the routes. */
export function challengeAppOptions(service: ChallengeService): Pick<AppOptions, 'checkDecision' | 'issueChallenge' | 'plugins'> {
  return {
    checkDecision: (req) => service.checkRequest(req),
    issueChallenge: (decisionId, req) => service.issue(decisionId, req),
    plugins: [challengeRoutes(service)],
  };
}
