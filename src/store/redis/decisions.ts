import { decisionEntry, type DecisionLog, type DecisionRecord } from '../ports.js';
import type { LocalTrail } from './backend.js';
import { failedIn } from './challenges.js';
import type { RedisContext } from './keys.js';

/** Decisions in Redis, so that feedback and a passed challenge work on any instance; their audit entries go to the trail. */
export class RedisDecisionLog implements DecisionLog {
  constructor(
    private readonly r: RedisContext,
    private readonly trail: LocalTrail,
  ) {}

  async save(d: DecisionRecord): Promise<void> {
    const key = this.r.key('d', d.id);
    const record = JSON.stringify(d);
    if (this.trail.addDecision) {
      // A trail fed through this Redis: record and entry in one MULTI, acknowledged together.
      const tx = this.r.client.multi().set(key, record, 'PX', this.r.recordTtlMs);
      this.trail.addDecision(tx, decisionEntry(d));
      try {
        failedIn(await tx.exec());
      } catch (e) {
        // Redis is down: the entry still reaches the trail's own store (which is where feedback looks next), else this fails.
        await this.trail.audit.append(decisionEntry(d)).catch(() => Promise.reject(e));
      }
      return;
    }
    // Both at once, each on its own: the local audit entry is written even when Redis is down,
    // so decisions made in the fail mode are audited too.
    await Promise.all([this.trail.audit.append(decisionEntry(d)), this.r.client.set(key, record, 'PX', this.r.recordTtlMs)]);
  }

  async get(id: string): Promise<DecisionRecord | null> {
    const raw = await this.r.client.get(this.r.key('d', id));
    if (raw) return JSON.parse(raw) as DecisionRecord;
    return (await this.trail.decision?.(id)) ?? null;
  }
}
