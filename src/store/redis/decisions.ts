import { decisionEntry, type AuditLog, type DecisionLog, type DecisionRecord } from '../ports.js';
import type { RedisContext } from './keys.js';

/** Decisions in Redis, so that feedback and a passed challenge work on any instance; their audit entries go to this instance's own trail. */
export class RedisDecisionLog implements DecisionLog {
  constructor(
    private readonly r: RedisContext,
    private readonly audit: AuditLog,
  ) {}

  async save(d: DecisionRecord): Promise<void> {
    // Both at once, each on its own: the local audit entry is written even when Redis is down,
    // so decisions made in the fail mode are audited too.
    await Promise.all([this.audit.append(decisionEntry(d)), this.r.client.set(this.r.key('d', d.id), JSON.stringify(d), 'PX', this.r.recordTtlMs)]);
  }

  async get(id: string): Promise<DecisionRecord | null> {
    const raw = await this.r.client.get(this.r.key('d', id));
    return raw ? (JSON.parse(raw) as DecisionRecord) : null;
  }
}
