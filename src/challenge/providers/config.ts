import Type, { type Static, type TSchema } from 'typebox';

/**
 * riskgate.yaml `delivery.providers[]`, one schema per provider type. Everything here is
 * safe to commit; keys and passwords come from the environment variables named in
 * docs/challenges.md. config.ts checks each entry against the schema of its `type`.
 */

const PHONE_CHANNELS = ['sms', 'whatsapp', 'voice'] as const;
const Channels = (allowed: readonly string[]) => Type.Array(Type.Union(allowed.map((c) => Type.Literal(c))), { minItems: 1, uniqueItems: true });
const common = {
  /** Shown in the audit trail and metrics; the type by default. */
  name: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,39}$' })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
};
const Url = Type.String({ pattern: '^https?://' });

export const PROVIDER_SCHEMAS = {
  outbox: Type.Object({ type: Type.Literal('outbox'), ...common, channels: Type.Optional(Channels(['sms', 'whatsapp', 'voice', 'email'])) }, { additionalProperties: false }),
  webhook: Type.Object(
    { type: Type.Literal('webhook'), ...common, channels: Channels(['sms', 'whatsapp', 'voice', 'email']), url: Url },
    { additionalProperties: false },
  ),
  'xoxzo-sms': Type.Object(
    { type: Type.Literal('xoxzo-sms'), ...common, sender: Type.String({ minLength: 1, maxLength: 15 }), baseUrl: Type.Optional(Url) },
    { additionalProperties: false },
  ),
  smtp: Type.Object(
    {
      type: Type.Literal('smtp'),
      ...common,
      host: Type.String({ minLength: 1 }),
      port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
      secure: Type.Optional(Type.Boolean()),
      from: Type.String({ minLength: 3 }),
      subject: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    },
    { additionalProperties: false },
  ),
  'xoxzo-otp': Type.Object(
    { type: Type.Literal('xoxzo-otp'), ...common, website: Type.String({ minLength: 1 }), baseUrl: Type.Optional(Url) },
    { additionalProperties: false },
  ),
  'twilio-verify': Type.Object(
    {
      type: Type.Literal('twilio-verify'),
      ...common,
      serviceSid: Type.String({ pattern: '^VA[0-9a-fA-F]{32}$' }),
      channels: Type.Optional(Channels([...PHONE_CHANNELS, 'email'])),
      baseUrl: Type.Optional(Url),
    },
    { additionalProperties: false },
  ),
  messagecentral: Type.Object(
    {
      type: Type.Literal('messagecentral'),
      ...common,
      customerId: Type.String({ minLength: 1 }),
      channels: Type.Optional(Channels(['sms', 'whatsapp'])),
      baseUrl: Type.Optional(Url),
    },
    { additionalProperties: false },
  ),
} as const satisfies Record<string, TSchema>;

export const ChannelSchema = Type.Union([Type.Literal('sms'), Type.Literal('whatsapp'), Type.Literal('voice'), Type.Literal('email')]);
export const ProviderTypeSchema = Type.Union([
  Type.Literal('outbox'),
  Type.Literal('webhook'),
  Type.Literal('xoxzo-sms'),
  Type.Literal('smtp'),
  Type.Literal('xoxzo-otp'),
  Type.Literal('twilio-verify'),
  Type.Literal('messagecentral'),
]);

export type ProviderType = keyof typeof PROVIDER_SCHEMAS;
export type ProviderConfig = { [K in ProviderType]: Static<(typeof PROVIDER_SCHEMAS)[K]> }[ProviderType];
