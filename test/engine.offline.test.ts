import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { loadRuleSet } from '../src/rules/compile.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { IP, RULES_DIR, TestClock, UA } from './helpers.js';

describe('engine without an audit trail (offline replay)', () => {
  it('decides alike, writes no audit entry, and learns a passed challenge from the record in hand', async () => {
    const rules = await loadRuleSet(RULES_DIR);
    const clock = new TestClock();
    const make = (audit: boolean) => {
      const store = new SqliteBackend({ path: ':memory:' });
      return { store, engine: new Engine({ store, rules: () => rules, clock: clock.read, audit }) };
    };
    const on = make(true);
    const off = make(false);
    const home = { userId: 'u1', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-home' };
    const abroad = { userId: 'u1', ip: IP.brazil, userAgent: UA.safariIphone, deviceId: 'd-new' };
    for (const { engine } of [on, off]) await engine.decide(home);
    const a = await on.engine.decide(abroad);
    const b = await off.engine.decide(abroad);
    expect(b.action).toBe('challenge');
    expect({ action: b.action, score: b.score, reasons: b.reasons, decisive: b.decisive }).toEqual({ action: a.action, score: a.score, reasons: a.reasons, decisive: a.decisive });
    // The third user without history failing from one address is blocked by one rule alone, which the answer names.
    for (const userId of ['u2', 'u3']) await off.engine.recordFailure({ userId, ip: IP.germany });
    const f = await off.engine.recordFailure({ userId: 'u4', ip: IP.germany });
    expect(f.blocked).toBe(true);
    expect(f.decisive).toEqual(['attempts.stuffing_address']);
    expect(f.reasons.map((r) => r.rule)).toEqual(expect.arrayContaining(f.decisive));
    expect(await off.store.audit.query({})).toEqual([]);
    expect((await on.store.audit.query({})).length).toBeGreaterThan(0);

    expect(await off.engine.passChallenge(b.decisionId)).toBe(false);
    expect(await off.engine.passChallenge(b.record)).toBe(true);
    expect((await off.store.profiles.get('u1'))!.devices.map((d) => d.id)).toContain('d-new');
    await on.store.close();
    await off.store.close();
  });
});
