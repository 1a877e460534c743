import type { Action } from '../types.js';
import type { LoginEvent } from './event.js';
import type { Verdict } from './tally.js';

export interface Side {
  action: Action;
  score: number;
  reasons: readonly string[];
}

export interface Difference {
  file: string;
  line: number;
  time: string;
  userId: string;
  label: string;
  from: Side;
  to: Side;
}

/** All counted events whose action went `from` → `to` between the two rule sets. */
export interface Transition {
  outcome: LoginEvent['outcome'];
  from: Action;
  to: Action;
  count: number;
  byLabel: Record<string, number>;
  examples: Difference[];
}

export interface Differences {
  compared: number;
  differing: number;
  transitions: Transition[];
}

const EXAMPLES = 5;

/** Collects where two rule sets decided the same events differently. */
export class DifferenceLog {
  private compared = 0;
  private readonly transitions = new Map<string, Transition>();

  constructor(private readonly fileName: (index: number) => string) {}

  add(ev: LoginEvent, a: Verdict, b: Verdict): void {
    this.compared++;
    if (a.action === b.action) return;
    const key = `${ev.outcome}|${a.action}|${b.action}`;
    let t = this.transitions.get(key);
    if (!t) this.transitions.set(key, (t = { outcome: ev.outcome, from: a.action, to: b.action, count: 0, byLabel: {}, examples: [] }));
    t.count++;
    t.byLabel[ev.label] = (t.byLabel[ev.label] ?? 0) + 1;
    if (t.examples.length < EXAMPLES) {
      t.examples.push({
        file: this.fileName(ev.file),
        line: ev.line,
        time: new Date(ev.time).toISOString(),
        userId: ev.userId,
        label: ev.label,
        from: { action: a.action, score: a.score, reasons: a.fired },
        to: { action: b.action, score: b.score, reasons: b.fired },
      });
    }
  }

  result(): Differences {
    const transitions = [...this.transitions.values()].sort((x, y) => y.count - x.count);
    return { compared: this.compared, differing: transitions.reduce((n, t) => n + t.count, 0), transitions };
  }
}
