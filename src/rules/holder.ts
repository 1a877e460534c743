import { loadRuleSet } from './compile.js';
import { RuleSetError, type Diagnostic } from './diagnostics.js';
import type { RuleSet } from './ruleset.js';

export type ReloadResult = { ok: true; version: string; changed: boolean } | { ok: false; diagnostics: Diagnostic[]; message: string };

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
      const changed = next.hash !== this.active.hash;
      this.active = next;
      result = { ok: true, version: next.version, changed };
    } catch (e) {
      if (!(e instanceof RuleSetError)) throw e;
      result = { ok: false, diagnostics: e.diagnostics, message: e.message };
    }
    for (const fn of this.listeners) fn(result);
    return result;
  }
}
