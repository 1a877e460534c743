import nodemailer, { type Transporter } from 'nodemailer';
import type { MessageProvider, OutgoingMessage, SendResult } from './provider.js';

export interface SmtpOptions {
  host: string;
  port: number;
  secure: boolean;
  from: string;
  subject: string;
  user?: string | undefined;
  password?: string | undefined;
  timeoutMs: number;
}

/**
 * E-mail over SMTP with nodemailer. A send counts only when the server accepted the recipient;
 * a refused recipient (5xx) is a rejection, a connection or greeting that does not come in time
 * a timeout. Credentials come from SMTP_USER / SMTP_PASSWORD.
 */
export class SmtpProvider implements MessageProvider {
  readonly kind = 'message';
  readonly channels = ['email'] as const;
  private readonly transport: Transporter;

  constructor(
    readonly name: string,
    private readonly o: SmtpOptions,
  ) {
    this.transport = nodemailer.createTransport({
      host: o.host,
      port: o.port,
      secure: o.secure,
      ...(o.user ? { auth: { user: o.user, pass: o.password ?? '' } } : {}),
      connectionTimeout: o.timeoutMs,
      greetingTimeout: o.timeoutMs,
      socketTimeout: o.timeoutMs,
    });
  }

  async send(m: OutgoingMessage): Promise<SendResult> {
    try {
      const info = await this.transport.sendMail({ from: this.o.from, to: m.to, subject: this.o.subject, text: m.message });
      const accepted = (info.accepted as (string | { address: string })[]).map((a) => (typeof a === 'string' ? a : a.address));
      if (accepted.includes(m.to)) return { ok: true, ref: info.messageId ?? null };
      return { ok: false, reason: 'rejected', detail: `recipient not accepted: ${String(info.response ?? '')}`.slice(0, 200) };
    } catch (e) {
      const err = e as Error & { code?: string; responseCode?: number };
      if (err.code === 'ETIMEDOUT' || /timeout/i.test(err.message)) return { ok: false, reason: 'timeout', detail: err.message };
      if (err.responseCode && err.responseCode >= 500) return { ok: false, reason: 'rejected', detail: `SMTP ${err.responseCode}: ${err.message}`.slice(0, 200) };
      return { ok: false, reason: 'failed', detail: `${err.code ?? 'error'}: ${err.message}`.slice(0, 200) };
    }
  }

  close(): void {
    this.transport.close();
  }
}
