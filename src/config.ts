import { existsSync, readFileSync } from 'node:fs';
import Type, { type Static } from 'typebox';
import { originProblem, PasskeyConfigSchema, rpIdProblem } from './challenge/passkey-config.js';
import { ChannelSchema, PROVIDER_SCHEMAS, ProviderTypeSchema } from './challenge/providers/config.js';
import { ConfigError } from './errors.js';
import { formatDiagnostic } from './rules/diagnostics.js';
import { YamlSource } from './rules/source.js';
import { validateAgainst } from './rules/validate.js';
import type { StoreFailMode } from './types.js';

/** What a decision does when the state store cannot be read in time (docs/configuration.md). */
const FailMode = Type.Union([Type.Literal('closed'), Type.Literal('open')]);

/** riskgate.yaml: everything but secrets, which come from the environment. docs/configuration.md. */
export const ConfigSchema = Type.Object(
  {
    server: Type.Optional(
      Type.Object({ host: Type.Optional(Type.String()), port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })) }, { additionalProperties: false }),
    ),
    data: Type.Optional(Type.String({ minLength: 1 })),
    rules: Type.Optional(Type.String({ minLength: 1 })),
    audit: Type.Optional(Type.Object({ retentionDays: Type.Optional(Type.Number({ minimum: 1, maximum: 3650 })) }, { additionalProperties: false })),
    store: Type.Optional(
      Type.Object(
        {
          failMode: Type.Optional(FailMode),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000 })),
          fsync: Type.Optional(Type.Boolean()),
          redis: Type.Optional(
            Type.Object(
              {
                keyPrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
                recordDays: Type.Optional(Type.Number({ minimum: 1, maximum: 3650 })),
              },
              { additionalProperties: false },
            ),
          ),
          postgres: Type.Optional(Type.Object({ poolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false })),
        },
        { additionalProperties: false },
      ),
    ),
    log: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))),
          requests: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    delivery: Type.Optional(
      Type.Object(
        {
          /** Fallback order of the channels. */
          order: Type.Optional(Type.Array(ChannelSchema, { minItems: 1, uniqueItems: true })),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
          /** Countries (ISO 3166-1 alpha-2) codes are sent to by phone; ["*"] for all. Default: all but the high-risk ones (docs/challenges.md#toll-fraud). */
          countries: Type.Optional(Type.Array(Type.String({ pattern: '^([A-Z]{2}|\\*)$' }), { minItems: 1, uniqueItems: true })),
          /** The text sent; {code}, {issuer} and {minutes} are replaced. */
          message: Type.Optional(Type.String({ minLength: 1, maxLength: 300, pattern: '\\{code\\}' })),
          /** Each entry is checked against the schema of its type (src/challenge/providers/config.ts). */
          providers: Type.Optional(Type.Array(Type.Object({ type: ProviderTypeSchema }, { additionalProperties: true }))),
        },
        { additionalProperties: false },
      ),
    ),
    challenges: Type.Optional(
      Type.Object(
        {
          // At least 6 digits (NIST SP 800-63B): with 4, the attempt limits would leave an attacker 1 in 2,000 per challenge.
          codeLength: Type.Optional(Type.Integer({ minimum: 6, maximum: 10 })),
          ttlSeconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 3600 })),
          maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
          maxSends: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
          trustDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
          /** /resend may move a TOTP (or passkey) challenge to a code channel; off by default (docs/challenges.md). */
          allowDowngrade: Type.Optional(Type.Boolean()),
          /** The factors a challenge uses before a sent code, in order, when the user has them. */
          prefer: Type.Optional(Type.Array(Type.Union([Type.Literal('passkey'), Type.Literal('totp')]), { maxItems: 2, uniqueItems: true })),
          /** The issuer shown in authenticator apps and messages. */
          issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          /** Conversion as a toll-fraud signal (docs/challenges.md#toll-fraud). */
          conversion: Type.Optional(
            Type.Object(
              {
                minAnswered: Type.Optional(Type.Integer({ minimum: 1 })),
                minRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
                throttledPerHour: Type.Optional(Type.Integer({ minimum: 0 })),
              },
              { additionalProperties: false },
            ),
          ),
          limits: Type.Optional(
            Type.Object(
              {
                perUserPerHour: Type.Optional(Type.Integer({ minimum: 1 })),
                perPhonePerHour: Type.Optional(Type.Integer({ minimum: 1 })),
                perPrefixPerHour: Type.Optional(Type.Integer({ minimum: 1 })),
                perCountryPerHour: Type.Optional(Type.Integer({ minimum: 1 })),
                /** A country's cap follows its usual volume: this many times its hourly average of the day before, if above perCountryPerHour. */
                countryVolumeFactor: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
                sendsPerHour: Type.Optional(Type.Integer({ minimum: 1 })),
                perEmailPerHour: Type.Optional(Type.Integer({ minimum: 1 })),
                verifyPerIpPerHour: Type.Optional(Type.Integer({ minimum: 1 })),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    passkeys: Type.Optional(PasskeyConfigSchema),
  },
  { additionalProperties: false },
);

export type ConfigFile = Static<typeof ConfigSchema>;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  rulesDir: string;
  auditRetentionDays: number;
  store: StoreConfig;
  logLevel: string;
  logRequests: boolean;
  file: ConfigFile;
  /** The config file read, or null (defaults and options only). */
  configPath: string | null;
}

/** How the state store is reached and what happens when it is not; docs/configuration.md. */
export interface StoreConfig {
  failMode: StoreFailMode;
  timeoutMs: number;
  /** SQLite: survive power loss too (fdatasync per turn of writes), not only a killed process. */
  fsync: boolean;
  redis: { keyPrefix: string; recordDays: number };
  /** Only with DATABASE_URL. */
  postgres: { poolSize: number };
}

export const DEFAULTS = { host: '127.0.0.1', port: 3000, dataDir: './data', rulesDir: './rules', auditRetentionDays: 90, logLevel: 'info' } as const;
export const STORE_DEFAULTS = { failMode: 'closed', timeoutMs: 250, keyPrefix: 'rg:', poolSize: 10 } as const;

export interface ConfigOverrides {
  config?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  data?: string | undefined;
  rules?: string | undefined;
}

/** Each delivery provider against the schema of its own type, with file:line:col. */
function validateProviders(src: YamlSource, file: ConfigFile) {
  return (file.delivery?.providers ?? []).flatMap((p, i) => validateAgainst(src, PROVIDER_SCHEMAS[p.type], p, ['delivery', 'providers', i]));
}

/** The passkey relying party: a domain for rpId, and origins a browser would accept for it, each at its place in the file. */
function validatePasskeys(src: YamlSource, file: ConfigFile) {
  const p = file.passkeys;
  if (!p) return [];
  const rp = rpIdProblem(p.rpId);
  if (rp) return [src.diag(['passkeys', 'rpId'], 'RG103', rp)];
  return p.origins.flatMap((o, i) => {
    const problem = originProblem(o, p.rpId);
    return problem ? [src.diag(['passkeys', 'origins', i], 'RG103', problem)] : [];
  });
}

/** Reads the config file (if named), applies command-line overrides; a bad file names file:line:col. */
export function loadConfig(o: ConfigOverrides): Config {
  let file: ConfigFile = {};
  if (o.config) {
    if (!existsSync(o.config)) throw new ConfigError(`${o.config}: config file not found`);
    const src = new YamlSource(o.config, readFileSync(o.config, 'utf8'));
    const problems = [...src.diagnostics, ...(src.data === undefined ? [] : validateAgainst(src, ConfigSchema, src.data ?? {}))];
    if (!problems.length) problems.push(...validateProviders(src, (src.data ?? {}) as ConfigFile), ...validatePasskeys(src, (src.data ?? {}) as ConfigFile));
    if (problems.length) throw new ConfigError(problems.map(formatDiagnostic).join('\n'));
    file = (src.data ?? {}) as ConfigFile;
  }
  const port = o.port !== undefined ? Number(o.port) : (file.server?.port ?? DEFAULTS.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port: "${o.port}" is not a port number`);
  const auditRetentionDays = file.audit?.retentionDays ?? DEFAULTS.auditRetentionDays;
  return {
    host: o.host ?? file.server?.host ?? DEFAULTS.host,
    port,
    dataDir: o.data ?? file.data ?? DEFAULTS.dataDir,
    rulesDir: o.rules ?? file.rules ?? DEFAULTS.rulesDir,
    auditRetentionDays,
    store: {
      failMode: file.store?.failMode ?? STORE_DEFAULTS.failMode,
      timeoutMs: file.store?.timeoutMs ?? STORE_DEFAULTS.timeoutMs,
      fsync: file.store?.fsync ?? false,
      redis: { keyPrefix: file.store?.redis?.keyPrefix ?? STORE_DEFAULTS.keyPrefix, recordDays: file.store?.redis?.recordDays ?? auditRetentionDays },
      postgres: { poolSize: file.store?.postgres?.poolSize ?? STORE_DEFAULTS.poolSize },
    },
    logLevel: file.log?.level ?? DEFAULTS.logLevel,
    logRequests: file.log?.requests ?? false,
    file,
    configPath: o.config ?? null,
  };
}
