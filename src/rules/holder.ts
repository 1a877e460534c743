import { loadRuleSet } from './compile.js';
import { RuleSetError, type Diagnostic } from './diagnostics.js';
import { ruleSetChanges } from './diff.js';
import type { RuleSet } from './ruleset.js';

/**
 * A reload's outcome. Accepted: the new version, whether the files changed at all, and what
 * changed in the rules, lists and policy (ruleSetChanges). Refused: every problem.
 */
export type ReloadResult =
  | { ok: true; version: string; previous: string; changed: boolean; changes: string[] }
  | { ok: false; version: string; diagnostics: Diagnostic[]; message: string };

/**
 * The active rule set of a running server. A reload compiles the directory anew and swaps it
 * in only when it compiles cleanly; otherwise the last good set stays active.
 */
export class RuleHolder {
  private active: RuleSet;
  private reloading: Promise<ReloadResult> | null = null;
  private readonly listeners: ((r: ReloadResult) => void)[] = [];

  constructor(initial: RuleSet) {
    this.active = initial;
  }

  static async load(dir: string): Promise<RuleHolder> {
    return new RuleHolder(await loadRuleSet(dir));
  }

  readonly current = (): RuleSet => this.active;

  onReload(fn: (r: ReloadResult) => void): void {
    this.listeners.push(fn);
  }

  /** Concurrent reloads (a SIGHUP during an admin call) share one compilation. */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.doReload().finally(() => (this.reloading = null));
    return this.reloading;
  }

  private async doReload(): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const next = await loadRuleSet(this.active.dir);
      const previous = this.active;
      this.active = next;
      result = { ok: true, version: next.version, previous: previous.version, changed: next.hash !== previous.hash, changes: ruleSetChanges(previous, next) };
    } catch (e) {
      if (!(e instanceof RuleSetError)) throw e;
      result = { ok: false, version: this.active.version, diagnostics: e.diagnostics, message: e.message };
    }
    for (const fn of this.listeners) fn(result);
    return result;
  }
}
