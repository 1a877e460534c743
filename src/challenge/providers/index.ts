import { ConfigError } from '../../errors.js';
import type { Channel } from '../model.js';
import type { Clock } from '../../types.js';
import type { ProviderConfig } from './config.js';
import { MESSAGECENTRAL_BASE_URL, MessageCentralService } from './messagecentral.js';
import { OutboxProvider } from './outbox.js';
import type { Provider } from './provider.js';
import { SmtpProvider } from './smtp.js';
import { TWILIO_BASE_URL, TwilioVerifyService } from './twilio-verify.js';
import { WebhookProvider } from './webhook.js';
import { XoxzoOtpService } from './xoxzo-otp.js';
import { XOXZO_BASE_URL, XoxzoSmsProvider } from './xoxzo-sms.js';

export const ALL_CHANNELS: readonly Channel[] = ['sms', 'whatsapp', 'voice', 'email'];
const DEFAULT_TIMEOUT_MS = 5000;

export interface ProviderContext {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  /** Where the outbox prints (stderr for `riskgate serve`); nowhere when absent. */
  console?: ((line: string) => void) | undefined;
  timeoutMs?: number | undefined;
}

/** An environment variable a configured provider cannot work without. */
function required(env: NodeJS.ProcessEnv, name: string, provider: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(`delivery provider "${provider}" needs the environment variable ${name}`);
  return v;
}

/**
 * Makes the providers named in riskgate.yaml, with their secrets from the environment. A
 * provider whose secret is missing stops the start with the variable's name: better than a
 * server that fails every challenge.
 */
export function makeProvider(c: ProviderConfig, ctx: ProviderContext): Provider {
  const name = c.name ?? c.type;
  const timeoutMs = c.timeoutMs ?? ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const env = ctx.env;
  switch (c.type) {
    case 'outbox':
      return new OutboxProvider(name, c.channels ?? ALL_CHANNELS, ctx.console);
    case 'webhook':
      return new WebhookProvider(name, c.channels, { url: c.url, secret: required(env, 'RISKGATE_WEBHOOK_SECRET', name), timeoutMs, clock: ctx.clock });
    case 'xoxzo-sms':
      return new XoxzoSmsProvider(name, { credentials: xoxzo(env, name), sender: c.sender, baseUrl: c.baseUrl ?? XOXZO_BASE_URL, timeoutMs });
    case 'smtp':
      return new SmtpProvider(name, {
        host: c.host,
        port: c.port ?? 587,
        secure: c.secure ?? false,
        from: c.from,
        subject: c.subject ?? 'Your verification code',
        user: env.SMTP_USER,
        password: env.SMTP_PASSWORD,
        timeoutMs,
      });
    case 'xoxzo-otp':
      return new XoxzoOtpService(name, { credentials: xoxzo(env, name), website: c.website, baseUrl: c.baseUrl ?? XOXZO_BASE_URL, timeoutMs });
    case 'twilio-verify':
      return new TwilioVerifyService(name, c.channels ?? ['sms'], {
        accountSid: required(env, 'TWILIO_ACCOUNT_SID', name),
        authToken: required(env, 'TWILIO_AUTH_TOKEN', name),
        serviceSid: c.serviceSid,
        baseUrl: c.baseUrl ?? TWILIO_BASE_URL,
        timeoutMs,
      });
    case 'messagecentral':
      return new MessageCentralService(name, c.channels ?? ['sms'], {
        authToken: required(env, 'MESSAGECENTRAL_AUTH_TOKEN', name),
        customerId: c.customerId,
        baseUrl: c.baseUrl ?? MESSAGECENTRAL_BASE_URL,
        timeoutMs,
      });
  }
}

function xoxzo(env: NodeJS.ProcessEnv, name: string) {
  return { sid: required(env, 'XOXZO_API_SID', name), authToken: required(env, 'XOXZO_API_AUTH_TOKEN', name) };
}
