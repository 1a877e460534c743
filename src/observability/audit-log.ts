import type { Logger } from 'pino';
import { currentRequestId } from '../log.js';
import { decisionEntry, type AuditEntry, type StorePorts } from '../store/ports.js';

/**
 * Every audit event as one structured log line too, for a SIEM that reads the log: `event` is
 * the entry's kind ("decision", "failure", "challenge.verified"… docs/api.md lists them),
 * with the request id of the request that caused it. An entry holds no code, secret or token,
 * so neither does its line. Logged once the store has taken the entry.
 */
export function logAuditEvents(ports: StorePorts, logger: Logger): StorePorts {
  // The line (a copy of the entry, a date string) is built only when the level lets it out.
  const log = (e: AuditEntry) =>
    logger.isLevelEnabled('info') &&
    logger.info(
      { event: e.kind, requestId: currentRequestId(), eventTime: new Date(e.time).toISOString(), ref: e.ref, userId: e.userId, ip: e.ip, action: e.action, score: e.score, rules: e.rules, rulesVersion: e.rulesVersion, detail: e.detail },
      'audit event',
    );
  const { audit, decisions } = ports;
  return {
    ...ports,
    audit: {
      query: (q) => audit.query(q),
      append: async (e) => {
        await audit.append(e);
        log(e);
      },
    },
    decisions: {
      get: (id) => decisions.get(id),
      save: async (r) => {
        await decisions.save(r);
        log(decisionEntry(r));
      },
    },
  };
}
