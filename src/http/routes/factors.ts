import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ChallengeService } from '../../challenge/service.js';
import type { Engine } from '../../engine/engine.js';
import {
  CHALLENGE_ERRORS,
  DeletedResponse,
  DeviceKeyParams,
  DeviceKeyRequest,
  DeviceKeyResponse,
  PasskeyParams,
  PasskeyRegisterRequest,
  PasskeyRegisterResponse,
  PasskeyRegistrationRequest,
  PasskeyRegistrationResponse,
  PasskeysResponse,
  RecoveryCodesResponse,
  TotpConfirmRequest,
  TotpConfirmResponse,
  TotpEnrolRequest,
  TotpEnrolResponse,
  TrustedDeviceParams,
  TrustedDevicesResponse,
  UserParams,
} from '../challenge-schemas.js';
import { ErrorBody, optionalBody, security } from '../schemas.js';

export interface FactorRoutesOptions {
  service: ChallengeService;
  /** Device-bound keys live in the user's profile, which the engine keeps. */
  engine: Pick<Engine, 'registerDeviceKey'>;
}

/** A user's second factors: the TOTP enrolment, passkeys, recovery codes, trusted devices, device-bound keys. */
export const factorRoutes: FastifyPluginAsyncTypebox<FactorRoutesOptions> = async (app, { service, engine }) => {
  app.post(
    '/users/:userId/devices/:deviceId/key',
    {
      config: { scope: 'factors' },
      schema: {
        tags: ['second factors'],
        summary: 'Register a device-bound key (WebCrypto ECDSA P-256 public JWK) for a device id; it replaces the device\'s earlier key',
        security,
        params: DeviceKeyParams,
        body: DeviceKeyRequest,
        response: { 200: DeviceKeyResponse, ...CHALLENGE_ERRORS },
      },
    },
    async (req) => {
      const { registered } = await engine.registerDeviceKey(req.params.userId, req.params.deviceId, req.body.publicKey);
      return { deviceId: req.params.deviceId, registeredAt: new Date(registered).toISOString() };
    },
  );

  app.post(
    '/users/:userId/totp',
    {
      config: { scope: 'factors' },
      schema: { tags: ['second factors'], summary: 'Start a TOTP enrolment (confirm it with a first code)', security, params: UserParams, body: TotpEnrolRequest, response: { 200: TotpEnrolResponse, ...CHALLENGE_ERRORS } },
      preValidation: optionalBody,
    },
    async (req) => service.enrolTotp(req.params.userId, req.body.account),
  );

  app.post(
    '/users/:userId/totp/confirm',
    { config: { scope: 'factors' }, schema: { tags: ['second factors'], summary: 'Confirm a TOTP enrolment with a first code', security, params: UserParams, body: TotpConfirmRequest, response: { 200: TotpConfirmResponse, ...CHALLENGE_ERRORS } } },
    async (req) => service.confirmTotp(req.params.userId, req.body.code),
  );

  app.delete(
    '/users/:userId/totp',
    { config: { scope: 'factors' }, schema: { tags: ['second factors'], summary: 'Remove the user\'s TOTP enrolment', security, params: UserParams, response: { 200: DeletedResponse, ...CHALLENGE_ERRORS } } },
    async (req) => {
      await service.deleteTotp(req.params.userId);
      return { status: 'deleted' as const };
    },
  );

  app.post(
    '/users/:userId/recovery-codes',
    { config: { scope: 'factors' }, schema: { tags: ['second factors'], summary: 'A new set of 10 recovery codes (shown once; the old set stops working)', security, params: UserParams, response: { 200: RecoveryCodesResponse, ...CHALLENGE_ERRORS } } },
    async (req) => ({ codes: await service.newRecoveryCodes(req.params.userId) }),
  );

  app.get(
    '/users/:userId/trusted-devices',
    { config: { scope: 'factors' }, schema: { tags: ['second factors'], summary: 'The user\'s trusted devices', security, params: UserParams, response: { 200: TrustedDevicesResponse, ...CHALLENGE_ERRORS } } },
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

  app.delete(
    '/users/:userId/trusted-devices/:id',
    { config: { scope: 'factors' }, schema: { tags: ['second factors'], summary: 'Revoke one trusted device', security, params: TrustedDeviceParams, response: { 200: DeletedResponse, ...CHALLENGE_ERRORS } } },
    async (req) => {
      await service.revokeTrustedDevice(req.params.userId, req.params.id);
      return { status: 'deleted' as const };
    },
  );

  app.post(
    '/users/:userId/passkeys/registration',
    {
      config: { scope: 'factors' },
      schema: { tags: ['second factors'], summary: 'Options to make a passkey in the browser (navigator.credentials.create)', security, params: UserParams, body: PasskeyRegistrationRequest, response: { 200: PasskeyRegistrationResponse, ...CHALLENGE_ERRORS } },
      preValidation: optionalBody,
    },
    async (req) => ({ options: await service.passkeyRegistrationOptions(req.params.userId, req.body.userName) }),
  );

  app.post(
    '/users/:userId/passkeys',
    { config: { scope: 'factors' }, schema: { tags: ['second factors'], summary: 'Register the passkey the browser made from the registration options', security, params: UserParams, body: PasskeyRegisterRequest, response: { 200: PasskeyRegisterResponse, ...CHALLENGE_ERRORS, 422: ErrorBody } } },
    async (req) => ({ status: 'registered' as const, id: await service.registerPasskey(req.params.userId, req.body.response, req.body.label) }),
  );

  app.get(
    '/users/:userId/passkeys',
    { config: { scope: 'factors' }, schema: { tags: ['second factors'], summary: 'The user\'s passkeys', security, params: UserParams, response: { 200: PasskeysResponse, ...CHALLENGE_ERRORS } } },
    async (req) => ({ passkeys: await service.listPasskeys(req.params.userId) }),
  );

  app.delete(
    '/users/:userId/passkeys/:id',
    { config: { scope: 'factors' }, schema: { tags: ['second factors'], summary: 'Remove one passkey', security, params: PasskeyParams, response: { 200: DeletedResponse, ...CHALLENGE_ERRORS } } },
    async (req) => {
      await service.deletePasskey(req.params.userId, req.params.id);
      return { status: 'deleted' as const };
    },
  );
};
