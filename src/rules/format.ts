import Type, { type Static } from 'typebox';

/** The shape of a rule file (`rules/*.yaml`, not `*_test.yaml`). docs/rules.md explains each field. */

export const RULE_ID_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)+$';
export const ListName = Type.String({ pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 });

export const PolicySchema = Type.Object(
  {
    version: Type.Optional(Type.String({ maxLength: 64, description: 'A label; decisions report "<label>@<content hash>"' })),
    severities: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]*$' }), Type.Number({ minimum: 0 }), { description: 'Named points, e.g. high: 40; rules name a severity, never a number' }),
    thresholds: Type.Object(
      { challenge: Type.Number({ minimum: 0, description: 'score >= challenge: challenge' }), block: Type.Number({ minimum: 0, description: 'score >= block: block' }) },
      { additionalProperties: false },
    ),
    retired: Type.Optional(Type.Array(Type.String(), { description: 'Ids of deleted rules, never to be reused' })),
    enroll: Type.Optional(
      Type.Object(
        {
          suggest: Type.Literal('passkey', { description: 'The factor to suggest to users who have no strong factor (no passkey, no TOTP)' }),
          on: Type.Optional(
            Type.Array(Type.Union([Type.Literal('allow'), Type.Literal('challenge')]), { minItems: 1, uniqueItems: true, description: 'The decisions that carry the suggestion; [allow] by default' }),
          ),
        },
        { additionalProperties: false, description: 'Enrolment nudge: decisions carry enroll: {suggest} for users without a strong factor; the login service decides when to show it' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ListSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    match: Type.Union([Type.Literal('ip'), Type.Literal('user'), Type.Literal('device'), Type.Literal('country')], { description: 'What the values are: addresses and CIDR ranges, user ids, device ids or country codes' }),
    values: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export const RuleSchema = Type.Object(
  {
    id: Type.String({ pattern: RULE_ID_PATTERN, maxLength: 100, description: 'Stable, dotted, lower case, never reused, e.g. device.new_on_new_network' }),
    description: Type.Optional(Type.String()),
    severity: Type.String({ description: "A severity named in the policy (its points)" }),
    when: Type.String({ minLength: 1, description: 'A CEL condition over the signals (docs/signals.md)' }),
    message: Type.String({ minLength: 1, description: 'Why it fired; may quote signals as {{family.name}}' }),
    action: Type.Optional(Type.Union([Type.Literal('challenge'), Type.Literal('block')], { description: 'The least action when the rule fires, whatever the score' })),
    shadow: Type.Optional(Type.Boolean({ description: 'Evaluated and logged, never scores or forces' })),
    standalone: Type.Optional(Type.Boolean({ description: 'false: scores only when a standalone rule with points fired too' })),
  },
  { additionalProperties: false },
);

/** The outline of a rule file; its parts are then checked one by one, so one bad rule hides no other problem. */
export const RuleFileSchema = Type.Object(
  {
    policy: Type.Optional(Type.Object({})),
    lists: Type.Optional(Type.Record(ListName, Type.Object({}))),
    rules: Type.Optional(Type.Array(Type.Object({}))),
  },
  { additionalProperties: false },
);

export type PolicyDoc = Static<typeof PolicySchema>;
export type ListDoc = Static<typeof ListSchema>;
export type RuleDoc = Static<typeof RuleSchema>;
export interface RuleFileDoc {
  policy?: PolicyDoc;
  lists?: Record<string, ListDoc>;
  rules?: RuleDoc[];
}
