import Type, { type Static } from 'typebox';

/** The shape of a rule file (`rules/*.yaml`, not `*_test.yaml`). docs/rules.md explains each field. */

export const RULE_ID_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)+$';
const Name = Type.String({ pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 });

export const PolicySchema = Type.Object(
  {
    version: Type.Optional(Type.String({ maxLength: 64 })),
    severities: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]*$' }), Type.Number({ minimum: 0 })),
    thresholds: Type.Object({ challenge: Type.Number({ minimum: 0 }), block: Type.Number({ minimum: 0 }) }, { additionalProperties: false }),
    retired: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

export const ListSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    match: Type.Union([Type.Literal('ip'), Type.Literal('user'), Type.Literal('device'), Type.Literal('country')]),
    values: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export const RuleSchema = Type.Object(
  {
    id: Type.String({ pattern: RULE_ID_PATTERN, maxLength: 100 }),
    description: Type.Optional(Type.String()),
    severity: Type.String(),
    when: Type.String({ minLength: 1 }),
    message: Type.String({ minLength: 1 }),
    action: Type.Optional(Type.Union([Type.Literal('challenge'), Type.Literal('block')])),
    shadow: Type.Optional(Type.Boolean()),
    standalone: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** The outline of a rule file; its parts are then checked one by one, so one bad rule hides no other problem. */
export const RuleFileSchema = Type.Object(
  {
    policy: Type.Optional(Type.Object({})),
    lists: Type.Optional(Type.Record(Name, Type.Object({}))),
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
