import type { ConfigFile } from '../config.js';
import type { StorePorts } from '../store/ports.js';
import type { Clock } from '../types.js';
import { Delivery } from './delivery.js';
import type { ChallengeEvent } from './events.js';
import type { Keys } from './keys.js';
import { AbuseLimits, DEFAULT_LIMITS } from './limits.js';
import { PASSKEY_DEFAULTS } from './passkey-config.js';
import type { ProviderConfig } from './providers/config.js';
import { DEFAULT_PUMPING, PumpingGuard } from './pumping.js';
import { ALL_CHANNELS, makeProvider } from './providers/index.js';
import type { Provider } from './providers/provider.js';
import { ChallengeService, type ChallengeSettings } from './service.js';
import { TrustTokens } from './trust.js';

const CHALLENGE_DEFAULTS = {
  prefer: ['passkey', 'totp'],
  codeLength: 6,
  ttlSeconds: 300,
  maxAttempts: 5,
  maxSends: 5,
  trustDays: 30,
  issuer: 'riskgate',
  message: '{code} is your {issuer} verification code. It expires in {minutes} minutes.',
} as const;

/** The dev default when riskgate.yaml names no provider: every channel into the outbox. */
const DEFAULT_PROVIDERS: ProviderConfig[] = [{ type: 'outbox' }];

function settingsFrom(file: ConfigFile): ChallengeSettings & { trustDays: number } {
  const c = file.challenges ?? {};
  return {
    prefer: c.prefer ?? CHALLENGE_DEFAULTS.prefer,
    codeLength: c.codeLength ?? CHALLENGE_DEFAULTS.codeLength,
    ttlSeconds: c.ttlSeconds ?? CHALLENGE_DEFAULTS.ttlSeconds,
    maxAttempts: c.maxAttempts ?? CHALLENGE_DEFAULTS.maxAttempts,
    maxSends: c.maxSends ?? CHALLENGE_DEFAULTS.maxSends,
    issuer: c.issuer ?? CHALLENGE_DEFAULTS.issuer,
    trustDays: c.trustDays ?? CHALLENGE_DEFAULTS.trustDays,
    allowDowngrade: c.allowDowngrade ?? false,
  };
}

export interface ChallengeSetup {
  /** Guarded by the caller when it has a fail mode (src/store/guard.ts): a failing store answers 503, not 500. */
  store: Pick<StorePorts, 'challenges' | 'passkeys' | 'decisions' | 'audit' | 'limits'>;
  /** A challenge of this decision was passed: the login teaches the profile (the engine's passChallenge). */
  onPassed: (decisionId: string) => Promise<unknown>;
  keys: Keys;
  clock: Clock;
  /** Hears each challenge event once it is audited (the metrics). */
  onEvent: (e: ChallengeEvent) => void;
  /** riskgate.yaml, for `delivery`, `challenges` and `passkeys`. */
  file: ConfigFile;
  env: NodeJS.ProcessEnv;
  /** Where the outbox provider prints codes (development). */
  console?: ((line: string) => void) | undefined;
  /** Providers made by the caller instead of from the file (tests). */
  providers?: Provider[] | undefined;
}

/** The challenge module: the service, and the trust tokens the engine verifies. */
export function setupChallenges(s: ChallengeSetup): { trust: TrustTokens; providers: Provider[]; service: ChallengeService } {
  const settings = settingsFrom(s.file);
  const trust = new TrustTokens(s.store.challenges, s.keys, settings.trustDays);
  // loadConfig has checked each entry against the schema of its type.
  const configured = (s.file.delivery?.providers as ProviderConfig[] | undefined) ?? DEFAULT_PROVIDERS;
  const providers = s.providers ?? configured.map((p) => makeProvider(p, { env: s.env, clock: s.clock, console: s.console, timeoutMs: s.file.delivery?.timeoutMs }));
  const delivery = new Delivery({
    providers,
    order: s.file.delivery?.order ?? ALL_CHANNELS,
    message: s.file.delivery?.message ?? CHALLENGE_DEFAULTS.message,
    issuer: settings.issuer,
    codeLength: settings.codeLength,
    ttlSeconds: settings.ttlSeconds,
  });
  const { countryVolumeFactor, ...hourly } = s.file.challenges?.limits ?? {};
  const limits = new AbuseLimits(s.store.limits, { ...DEFAULT_LIMITS, ...hourly });
  const countries = s.file.delivery?.countries;
  const pumping = new PumpingGuard(limits, {
    ...DEFAULT_PUMPING,
    ...s.file.challenges?.conversion,
    countryVolumeFactor: countryVolumeFactor ?? DEFAULT_PUMPING.countryVolumeFactor,
    countries: countries === undefined ? null : countries.includes('*') ? 'all' : new Set(countries),
  });
  const passkeys = s.file.passkeys ? { store: s.store.passkeys, settings: { ...PASSKEY_DEFAULTS, ...s.file.passkeys } } : null;
  const service = new ChallengeService({ store: s.store.challenges, decisions: s.store.decisions, audit: s.store.audit, onPassed: s.onPassed, keys: s.keys, delivery, trust, limits, pumping, onEvent: s.onEvent, clock: s.clock, settings, passkeys });
  return { trust, providers, service };
}
