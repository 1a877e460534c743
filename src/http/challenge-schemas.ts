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

/** WebAuthn's binary fields as JSON carries them: base64url, unpadded. */
const B64 = (maxLength: number, description?: string) => Type.String({ maxLength, pattern: '^[A-Za-z0-9_-]*$', 'x-expected': 'base64url text', ...(description ? { description } : {}) });
/** WebAuthn's transports (AuthenticatorTransportFuture). */
const Transports = Type.Array(Type.Union(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'].map((t) => Type.Literal(t as 'usb'))), { maxItems: 10 });
/** Extension outputs vary by browser and authenticator; none is acted on. */
const ExtensionResults = Type.Object({}, { additionalProperties: true, maxProperties: 20 });
const Attachment = Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]);
const CREDENTIAL_ID = 1400;

/** What credential.toJSON() gives after navigator.credentials.create() (RegistrationResponseJSON). */
const RegistrationCredential = Type.Object(
  {
    id: B64(CREDENTIAL_ID),
    rawId: B64(CREDENTIAL_ID),
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(4096),
        attestationObject: B64(60_000),
        authenticatorData: Type.Optional(B64(60_000)),
        transports: Type.Optional(Transports),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        publicKey: Type.Optional(B64(4096)),
      },
      { additionalProperties: false },
    ),
    authenticatorAttachment: Type.Optional(Attachment),
    clientExtensionResults: ExtensionResults,
  },
  { additionalProperties: false, description: 'The browser\'s credential.toJSON() after navigator.credentials.create(options).' },
);

/** What credential.toJSON() gives after navigator.credentials.get() (AuthenticationResponseJSON). */
const AssertionCredential = Type.Object(
  {
    id: B64(CREDENTIAL_ID),
    rawId: B64(CREDENTIAL_ID),
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(4096),
        authenticatorData: B64(4096),
        signature: B64(2048),
        userHandle: Type.Optional(B64(256)),
      },
      { additionalProperties: false },
    ),
    authenticatorAttachment: Type.Optional(Attachment),
    clientExtensionResults: ExtensionResults,
  },
  { additionalProperties: false, description: 'The browser\'s credential.toJSON() after navigator.credentials.get(challenge.options).' },
);

const CredentialDescriptor = Type.Object({ id: Type.String(), type: Type.String(), transports: Type.Optional(Type.Array(Type.String())) });

/** PublicKeyCredentialRequestOptionsJSON, for navigator.credentials.get() (after PublicKeyCredential.parseRequestOptionsFromJSON). */
const RequestOptions = Type.Object(
  {
    challenge: Type.String(),
    rpId: Type.Optional(Type.String()),
    allowCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
    userVerification: Type.Optional(Type.String()),
    timeout: Type.Optional(Type.Integer()),
  },
  { additionalProperties: true, description: 'WebAuthn PublicKeyCredentialRequestOptionsJSON: hand it to PublicKeyCredential.parseRequestOptionsFromJSON() and navigator.credentials.get().' },
);

/** PublicKeyCredentialCreationOptionsJSON, for navigator.credentials.create(). */
const CreationOptions = Type.Object(
  {
    rp: Type.Object({ id: Type.Optional(Type.String()), name: Type.String() }),
    user: Type.Object({ id: Type.String(), name: Type.String(), displayName: Type.String() }),
    challenge: Type.String(),
    pubKeyCredParams: Type.Array(Type.Object({ type: Type.String(), alg: Type.Integer() })),
    timeout: Type.Optional(Type.Integer()),
    excludeCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
    authenticatorSelection: Type.Optional(Type.Object({}, { additionalProperties: true })),
    attestation: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'WebAuthn PublicKeyCredentialCreationOptionsJSON: hand it to PublicKeyCredential.parseCreationOptionsFromJSON() and navigator.credentials.create().' },
);

export const ChallengeParams = Type.Object({ id: Id });
export const UserParams = Type.Object({ userId: UserId });
export const TrustedDeviceParams = Type.Object({ userId: UserId, id: Id });
export const PasskeyParams = Type.Object({ userId: UserId, id: Id });
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
    passkey: Type.Optional(AssertionCredential),
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
  codesRefused: Type.Optional(
    Type.Literal(true, { description: "The account's wrong-code limit is reached (docs/abuse.md): no code was sent and none is checked; the challenge takes a recovery code only." }),
  ),
  options: Type.Optional(RequestOptions),
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

export const PasskeyRegistrationRequest = Type.Object(
  { userName: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The name the browser shows for the passkey\'s account (an e-mail address, say); the user id by default.' })) },
  { additionalProperties: false },
);
export const PasskeyRegistrationResponse = Type.Object({ options: CreationOptions });

export const PasskeyRegisterRequest = Type.Object(
  {
    response: RegistrationCredential,
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\x00-\\x1F\\x7F]+$', 'x-expected': 'text without control characters', description: 'A name for the list ("MacBook", "YubiKey").' })),
  },
  { additionalProperties: false },
);
export const PasskeyRegisterResponse = Type.Object({ status: Type.Literal('registered'), id: Type.String() });

export const PasskeysResponse = Type.Object({
  passkeys: Type.Array(
    Type.Object({
      id: Type.String(),
      label: Type.String(),
      createdAt: Type.String(),
      lastUsedAt: Type.Union([Type.String(), Type.Null()]),
      clonedAt: Type.Union([Type.String(), Type.Null()], { description: 'When it signed with a signature counter that went backwards (a cloned authenticator); it answers no challenge since.' }),
    }),
  ),
});
