import Type, { type Static } from 'typebox';
import { FingerprintSchema } from '../signals/fingerprint.js';
import { INPUT_LIMITS } from '../types.js';

/** Request and response schemas of the HTTP API (docs/api.md); they drive validation, serialization and /docs/json. */

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Array(Type.String())),
      requestId: Type.String({ description: 'The request id (also the x-request-id header): the server log has it on every line of this request.' }),
    }),
  },
  { $id: 'Error', description: 'Every error answer.' },
);

/** The error answers most routes can give. */
export const ERROR_RESPONSES = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody };

/** The routes that act take an optional Idempotency-Key (docs/api.md#safe-retries); its format is checked by the route's hook. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Makes retries safe: the same key and request within 24 h get the first answer, and nothing is done again. 1 to 255 visible ASCII characters, e.g. a UUID.' })),
});

/** Every route under /v1 takes an API key as a bearer token, with the scope its `config.scope` names. */
export const security = [{ apiKey: [] }];

/** A preValidation hook for bodies whose fields are all optional: a bare POST (no body at all) means `{}`. */
export async function optionalBody(req: { body: unknown }): Promise<void> {
  req.body ??= {};
}

/** Identifiers are text without control characters: a newline in a user id would forge lines in logs and exports. */
const NO_CONTROLS = { pattern: '^[^\\x00-\\x1F\\x7F]+$', 'x-expected': 'text without control characters' };
export const UserId = Type.String({ minLength: 1, maxLength: INPUT_LIMITS.userId, ...NO_CONTROLS, description: 'The login service\'s id for the user.' });
const Ip = Type.String({ minLength: 2, maxLength: 64, description: 'Client IPv4 or IPv6 address.' });
const UserAgent = Type.String({ maxLength: INPUT_LIMITS.userAgent, description: 'The client\'s User-Agent header.' });
export const DeviceId = Type.String({ minLength: 1, maxLength: INPUT_LIMITS.deviceId, ...NO_CONTROLS, description: 'Stable device identifier or fingerprint hash from the client.' });

/** A device-bound key's signature for this login (docs/signals.md#device-bound-keys). */
const DeviceProof = Type.Object(
  {
    time: Type.Integer({ minimum: 0, description: 'The time the page signed, in milliseconds since the epoch.' }),
    signature: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', 'x-expected': 'base64url without padding', description: 'ECDSA P-256 SHA-256 signature (WebCrypto\'s raw r||s, 64 bytes), base64url.' }),
  },
  { additionalProperties: false },
);

export const DecisionRequest = Type.Object(
  {
    userId: UserId,
    ip: Ip,
    userAgent: Type.Optional(UserAgent),
    deviceId: Type.Optional(DeviceId),
    trustToken: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'From an earlier verified challenge with trustDevice.' })),
    phone: Type.Optional(Type.String({ minLength: 3, maxLength: 32, description: 'E.164, or national with `country`.' })),
    country: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2}$', 'x-expected': 'two letters, the ISO 3166-1 alpha-2 code of the phone number\'s country (e.g. "NO")', description: 'ISO 3166-1 alpha-2 country of a national phone number.' })),
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 254, format: 'email' })),
    action: Type.Optional(
      Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,63}$', 'x-expected': 'a lower-case name like "login" or "change_password" (a-z, 0-9, _ . -; at most 64)', description: 'What is being done; "login" by default.' }),
    ),
    fingerprint: Type.Optional(FingerprintSchema),
    deviceProof: Type.Optional(DeviceProof),
  },
  { additionalProperties: false },
);
export type DecisionRequest = Static<typeof DecisionRequest>;

export const Reason = Type.Object({ rule: Type.String(), points: Type.Number(), message: Type.String() });

export const Challenge = Type.Object(
  {
    id: Type.String(),
    channel: Type.String({ description: 'passkey, totp, sms, whatsapp, voice or email. A passkey challenge also carries `options` (PublicKeyCredentialRequestOptionsJSON).' }),
    expiresAt: Type.String(),
    delivered: Type.Optional(Type.Boolean({ description: 'False when no provider could send the code: call /resend.' })),
    destination: Type.Optional(Type.Union([Type.String({ description: 'Where the code went, masked.' }), Type.Null()])),
    attemptsLeft: Type.Optional(Type.Integer()),
    channels: Type.Optional(Type.Array(Type.String(), { description: 'Channels /resend can move to, in fallback order.' })),
  },
  { additionalProperties: true, description: 'Present when action is "challenge".' },
);

export const DecisionResponse = Type.Object({
  decisionId: Type.String(),
  action: Type.Union([Type.Literal('allow'), Type.Literal('challenge'), Type.Literal('block')]),
  score: Type.Number(),
  reasons: Type.Array(Reason),
  rulesVersion: Type.String(),
  challenge: Type.Optional(Challenge),
  enroll: Type.Optional(
    Type.Object({ suggest: Type.Literal('passkey') }, { description: 'The policy suggests the user enrol this factor (policy.enroll): present for users with no strong factor. The login service decides when to show it.' }),
  ),
});

export const FailureRequest = Type.Object(
  { userId: UserId, ip: Ip, userAgent: Type.Optional(UserAgent), deviceId: Type.Optional(DeviceId) },
  { additionalProperties: false },
);
export type FailureRequest = Static<typeof FailureRequest>;

export const FailureResponse = Type.Object({
  blocked: Type.Boolean({ description: 'The engine would block this attempt: show "too many attempts".' }),
  user_30m: Type.Number(),
  user_24h: Type.Number(),
  ip_1h: Type.Number(),
  ip_24h: Type.Number(),
  network_1h: Type.Number({ description: "Failures from the address's network (IPv4 /24, IPv6 /64) in the last hour." }),
  network_24h: Type.Number(),
  device_1h: Type.Number(),
  ip_users_1h: Type.Number(),
  ip_users_24h: Type.Number(),
  network_users_1h: Type.Number({ description: "Distinct users failing from the address's network in the last hour." }),
  network_users_24h: Type.Number(),
  score: Type.Number(),
  reasons: Type.Array(Reason),
  rulesVersion: Type.String(),
});

export const DecisionParams = Type.Object({ decisionId: Type.String({ minLength: 1, maxLength: 64 }) });

export const FeedbackRequest = Type.Object(
  {
    outcome: Type.Union([Type.Literal('passed_challenge'), Type.Literal('failed_challenge'), Type.Literal('confirmed_fraud'), Type.Literal('confirmed_legit')]),
  },
  { additionalProperties: false },
);
export type FeedbackRequest = Static<typeof FeedbackRequest>;

export const FeedbackResponse = Type.Object({
  decisionId: Type.String(),
  outcome: Type.String(),
  learned: Type.Boolean({ description: 'This feedback taught the user\'s profile the login.' }),
  unlearned: Type.Boolean({ description: 'This feedback took back what the login had taught.' }),
});

export const RulesResponse = Type.Object({
  version: Type.String(),
  label: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String(),
  loadedAt: Type.String(),
  thresholds: Type.Object({ challenge: Type.Number(), block: Type.Number() }),
  severities: Type.Record(Type.String(), Type.Number()),
  rules: Type.Array(
    Type.Object({
      id: Type.String(),
      description: Type.String(),
      severity: Type.String(),
      points: Type.Number(),
      action: Type.Union([Type.String(), Type.Null()]),
      shadow: Type.Boolean(),
      standalone: Type.Boolean(),
    }),
  ),
  lists: Type.Array(Type.Object({ name: Type.String(), match: Type.String(), size: Type.Number() })),
});

export const ReloadResponse = Type.Object({
  status: Type.Literal('reloaded'),
  version: Type.String(),
  previous: Type.String({ description: 'The version active before' }),
  changed: Type.Boolean({ description: 'Whether the files changed at all (comments included)' }),
  changes: Type.Array(Type.String(), { description: 'What changed: "+ rule id" added, "- list name" removed, "~ policy" changed' }),
});

export const AuditQuery = Type.Object(
  {
    userId: Type.Optional(UserId),
    kind: Type.Optional(Type.String({ maxLength: 64 })),
    ref: Type.Optional(Type.String({ maxLength: 64 })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    // A query is text: the number is given as digits and read by the route.
    limit: Type.Optional(Type.String({ pattern: '^(1000|[1-9][0-9]{0,2})$', 'x-expected': 'a whole number from 1 to 1000', description: 'At most this many entries (1 to 1000; 100 by default).' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditResponse = Type.Object({
  entries: Type.Array(
    Type.Object({
      time: Type.String(),
      kind: Type.String(),
      ref: Type.Union([Type.String(), Type.Null()]),
      userId: Type.Union([Type.String(), Type.Null()]),
      ip: Type.Union([Type.String(), Type.Null()]),
      action: Type.Union([Type.String(), Type.Null()]),
      score: Type.Union([Type.Number(), Type.Null()]),
      rules: Type.Array(Type.String()),
      rulesVersion: Type.Union([Type.String(), Type.Null()]),
      detail: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    }),
  ),
});

export const HealthResponse = Type.Object({ status: Type.String(), store: Type.String(), rulesVersion: Type.String() }, { additionalProperties: true });
