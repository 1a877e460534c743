import Type, { type Static } from 'typebox';
import { FingerprintSchema } from '../signals/fingerprint.js';
import type { LoginAttempt, LoginFailure } from '../types.js';

/**
 * The shape of a rule-test file (`rules/*_test.yaml`). docs/rules.md explains each field; the
 * runner checks what a schema cannot (times, durations, one of login or failure).
 */

const Now = Type.String({ minLength: 1, description: 'The pinned clock: an ISO 8601 time, e.g. 2026-03-20T08:30:00Z' });
const At = Type.String({ minLength: 1, description: 'An ISO 8601 time, or a duration from now, e.g. -30d' });

/** A login as the login service reports it: every field of a decision request. */
const Login = Type.Object(
  {
    userId: Type.Optional(Type.String({ minLength: 1, description: "Default: the test's user" })),
    ip: Type.String({ description: 'IPv4 or IPv6 address' }),
    userAgent: Type.Optional(Type.String()),
    deviceId: Type.Optional(Type.String()),
    trustToken: Type.Optional(Type.String()),
    trusted: Type.Optional(Type.Boolean({ description: 'Instead of trustToken: the runner makes a valid trust token for this user and device' })),
    phone: Type.Optional(Type.String()),
    country: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    action: Type.Optional(Type.String({ description: 'Default: login' })),
    fingerprint: Type.Optional(FingerprintSchema),
    keyed: Type.Optional(Type.Boolean({ description: 'The device holds a device-bound key: the runner registers one for it (a simulated key) before this login' })),
    deviceProof: Type.Optional(Type.Union([Type.Literal('valid'), Type.Literal('invalid')], { description: 'What the device-bound key proved for this login, as a recorded outcome; left out: no proof' })),
  },
  { additionalProperties: false },
);

/** A wrong password: every field of a login-failure report. */
const Failure = Type.Object(
  {
    userId: Type.Optional(Type.String({ minLength: 1, description: "Default: the test's user" })),
    ip: Type.String({ description: 'IPv4 or IPv6 address' }),
    userAgent: Type.Optional(Type.String()),
    deviceId: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** A wrong code given to one of the user's step-up challenges (`user.failed_challenges_24h`). */
const WrongCode = Type.Object({ userId: Type.Optional(Type.String({ minLength: 1, description: "Default: the test's user" })) }, { additionalProperties: false });

const HistoryItem = Type.Object(
  {
    login: Type.Optional(Login),
    failure: Type.Optional(Failure),
    wrongCode: Type.Optional(WrongCode),
    at: At,
    repeat: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'How many times, `every` apart' })),
    every: Type.Optional(Type.String({ minLength: 1, description: 'A duration, e.g. 1d' })),
  },
  { additionalProperties: false },
);

const Expect = Type.Object(
  {
    action: Type.Union([Type.Literal('allow'), Type.Literal('challenge'), Type.Literal('block')]),
    score: Type.Optional(Type.Number({ description: 'The total score (a new rule that fires here changes it: give it where it is the point)' })),
    fired: Type.Optional(Type.Array(Type.String(), { description: 'Exactly the enforcing rules that fire (a new rule that fires here breaks the test: prefer includes/excludes)' })),
    includes: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'Enforcing rules that fire, among any others' })),
    excludes: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'Enforcing rules that do not fire' })),
    shadow: Type.Optional(Type.Array(Type.String(), { description: 'Exactly the shadow rules that fire' })),
  },
  { additionalProperties: false },
);

export const TestCaseSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    now: Type.Optional(Now),
    user: Type.Optional(Type.String({ minLength: 1, description: 'Default: test-user' })),
    history: Type.Optional(Type.Array(HistoryItem, { description: 'Taught before the login, in time order' })),
    login: Type.Optional(Login),
    failure: Type.Optional(Failure),
    expect: Expect,
  },
  { additionalProperties: false },
);

/** The outline of a test file; each test is then checked on its own, so one bad test hides no other problem. */
export const TestFileOutline = Type.Object({ now: Type.Optional(Now), tests: Type.Array(Type.Object({})) }, { additionalProperties: false });

export type LoginDoc = Static<typeof Login>;
export type FailureDoc = Static<typeof Failure>;
export type TestCaseDoc = Static<typeof TestCaseSchema>;

/** Compiles only when `T` is never. */
type Never<T extends never> = T;
/** A test can say whatever a request can: this stops compiling once LoginAttempt or LoginFailure gains a field the format lacks. */
export type RequestFieldsCovered = Never<Exclude<keyof LoginAttempt, keyof LoginDoc> | Exclude<keyof LoginFailure, keyof FailureDoc>>;
