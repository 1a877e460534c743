import Type, { type Static } from 'typebox';
import { DeviceId, ErrorBody, UserId } from './schemas.js';

/** Request and response schemas of the challenge and second-factor routes (docs/api.md). */

/** The error answers the challenge and second-factor routes can give. */
export const CHALLENGE_ERRORS = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody };

const Id = Type.String({ minLength: 1, maxLength: 64 });
/**
 * A one-time code as the user typed it: digits, with the spaces and dashes people type. A JSON
 * number is refused, not read as digits: 012345 would lose its leading zero.
 */
const Code = (description: string) =>
  Type.String({ minLength: 1, maxLength: 32, pattern: '^[ -]*[0-9][0-9 -]*$', 'x-expected': 'a string of digits such as "012345" (spaces and dashes are ignored; a JSON number is refused)', description });
const ChannelName = Type.Union([Type.Literal('sms'), Type.Literal('whatsapp'), Type.Literal('voice'), Type.Literal('email')]);

export const ChallengeParams = Type.Object({ id: Id });
export const UserParams = Type.Object({ userId: UserId });
export const TrustedDeviceParams = Type.Object({ userId: UserId, id: Id });
export const DeviceKeyParams = Type.Object({ userId: UserId, deviceId: DeviceId });

export const DeviceKeyRequest = Type.Object(
  {
    publicKey: Type.Object(
      { kty: Type.String({ maxLength: 8 }), crv: Type.String({ maxLength: 16 }), x: Type.String({ maxLength: 64 }), y: Type.String({ maxLength: 64 }) },
      { additionalProperties: true, description: 'The public key as WebCrypto exports it (JWK): ECDSA P-256. Other JWK members (key_ops, ext) are ignored; a private part ("d") is refused.' },
    ),
  },
  { additionalProperties: false },
);

export const DeviceKeyResponse = Type.Object({ deviceId: Type.String(), registeredAt: Type.String() });

export const VerifyRequest = Type.Object(
  {
    code: Type.Optional(Code('The code the user typed (or from the authenticator app), as a string.')),
    recoveryCode: Type.Optional(
      Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9A-Za-z -]+$', 'x-expected': 'a recovery code such as "7KQ2M-XW9PD" (letters, digits, spaces and dashes)', description: 'One of the user\'s recovery codes, instead of `code`.' }),
    ),
    trustDevice: Type.Optional(Type.Boolean({ description: 'On success, return a trust token for the login\'s device.' })),
    ip: Type.Optional(Type.String({ minLength: 2, maxLength: 64, description: 'The end user\'s address, when it is not the login\'s; verify attempts are limited per address.' })),
  },
  { additionalProperties: false },
);
export type VerifyRequest = Static<typeof VerifyRequest>;

export const VerifyResponse = Type.Object({
  status: Type.Union([Type.Literal('verified'), Type.Literal('invalid'), Type.Literal('expired'), Type.Literal('locked'), Type.Literal('used')]),
  attemptsLeft: Type.Integer(),
  trustToken: Type.Optional(Type.String({ description: 'Present with trustDevice on success: send it with the next decisions from this device.' })),
});

export const ResendRequest = Type.Object({ channel: Type.Optional(ChannelName) }, { additionalProperties: false });
export type ResendRequest = Static<typeof ResendRequest>;

export const ChallengeResponse = Type.Object({
  id: Type.String(),
  channel: Type.String(),
  expiresAt: Type.String(),
  delivered: Type.Boolean(),
  destination: Type.Union([Type.String(), Type.Null()]),
  attemptsLeft: Type.Integer(),
  channels: Type.Array(Type.String()),
});

export const TotpEnrolRequest = Type.Object(
  { account: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The name the authenticator app shows (an e-mail address, say); the user id by default.' })) },
  { additionalProperties: false },
);

export const TotpEnrolResponse = Type.Object({
  secret: Type.String({ description: 'Base32, for typing into the app by hand.' }),
  otpauthUri: Type.String(),
  qr: Type.String({ description: 'The otpauth URI as a PNG QR code (data: URL).' }),
});

export const TotpConfirmRequest = Type.Object({ code: Code('The first code from the authenticator app, as a string.') }, { additionalProperties: false });
export const TotpConfirmResponse = Type.Object({ status: Type.Union([Type.Literal('confirmed'), Type.Literal('invalid')]) });
export const DeletedResponse = Type.Object({ status: Type.Literal('deleted') });

export const RecoveryCodesResponse = Type.Object({ codes: Type.Array(Type.String(), { description: 'Shown once; only their hashes are kept.' }) });

export const TrustedDevicesResponse = Type.Object({
  devices: Type.Array(
    Type.Object({ id: Type.String(), deviceId: Type.String(), label: Type.String(), ip: Type.String(), createdAt: Type.String(), expiresAt: Type.String() }),
  ),
});
