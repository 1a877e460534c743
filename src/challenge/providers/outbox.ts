import type { Channel } from '../model.js';
import type { MessageProvider, OutgoingMessage, SendResult } from './provider.js';

const KEEP = 100;

/**
 * Development delivery: keeps the last messages in memory (tests read them) and, when given a
 * console, prints each one there. It prints the code, which is its purpose: never configure it
 * on a production server. It writes to the console it is handed, never to the log.
 */
export class OutboxProvider implements MessageProvider {
  readonly kind = 'message';
  readonly messages: OutgoingMessage[] = [];

  constructor(
    readonly name: string,
    readonly channels: readonly Channel[],
    private readonly console?: (line: string) => void,
  ) {}

  async send(m: OutgoingMessage): Promise<SendResult> {
    this.messages.push(m);
    if (this.messages.length > KEEP) this.messages.shift();
    this.console?.(`riskgate outbox: ${m.channel} to ${m.to} (challenge ${m.challengeId}): ${m.message}`);
    return { ok: true, ref: `outbox-${this.messages.length}` };
  }

  /** The newest message sent to `to` (tests). */
  last(to?: string): OutgoingMessage | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) if (!to || this.messages[i]!.to === to) return this.messages[i];
    return undefined;
  }
}
