import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineEngine, type OfflineEngine } from '../../src/offline.js';
import { LEGIT, type LoginEvent } from '../../src/replay/event.js';
import { readEvents } from '../../src/replay/input.js';
import { Lane } from '../../src/replay/lane.js';
import { RecordedPlaces } from '../../src/replay/places.js';
import { MeasureWindow, type Verdict } from '../../src/replay/tally.js';
import { loadRuleSet } from '../../src/rules/compile.js';
import type { RuleSet } from '../../src/rules/ruleset.js';
import { RULES_DIR } from '../helpers.js';
import { removeTempDirs, smallStream, tempDir } from './helpers.js';

/**
 * Replay decides on state of its own, in memory (src/replay/lane.ts). These tests hold it to
 * what the server's Engine, on a store, decides for the same events: the same action, score,
 * rules, messages, decisive rules and shadow rules, event by event.
 */

const RBA_SAMPLE = join(import.meta.dirname, '..', 'fixtures', 'rba', 'rba-sample.csv');

/** The engine-based replay step, as replay ran before it had its own state: the reference. */
class EngineLane {
  private now = 0;
  private readonly offline: OfflineEngine;
  private readonly keyed = new Set<string>();

  constructor(
    rules: RuleSet,
    private readonly attacksPass: boolean,
    places: RecordedPlaces | null,
  ) {
    this.offline = offlineEngine({ rules, clock: () => this.now, ...(places ? { geo: places.lookup } : {}) });
  }

  async step(ev: LoginEvent): Promise<Verdict> {
    const { engine } = this.offline;
    this.now = ev.time;
    const request = { userId: ev.userId, ip: ev.ip, userAgent: ev.userAgent, deviceId: ev.deviceId, fingerprint: ev.fingerprint, deviceProof: ev.deviceProof };
    if (ev.outcome === 'success') {
      if (ev.deviceProof === 'valid' && ev.deviceId) {
        const id = `${ev.userId}\n${ev.deviceId}`;
        if (!this.keyed.has(id)) {
          this.keyed.add(id);
          await engine.registerDeviceKey(ev.userId, ev.deviceId, null);
        }
      }
      const d = await engine.decide(request);
      if (d.action === 'challenge' && (ev.label === LEGIT || this.attacksPass)) await engine.passChallenge(d.record);
      return {
        action: d.action,
        score: d.score,
        fired: d.reasons.map((r) => r.rule),
        messages: d.reasons.map((r) => r.message),
        decisive: d.decisive,
        shadow: d.shadow.map((r) => r.rule),
        forced: d.evaluation.hits.some((h) => h.rule.force !== null),
      };
    }
    const f = await engine.recordFailure(request);
    return { action: f.blocked ? 'block' : 'allow', score: f.score, fired: f.reasons.map((r) => r.rule), messages: f.reasons.map((r) => r.message), decisive: f.decisive, shadow: [], forced: false };
  }

  close(): Promise<void> {
    return this.offline.close();
  }
}

async function eventsOf(path: string): Promise<LoginEvent[]> {
  const out: LoginEvent[] = [];
  const problem = (p: unknown) => {
    throw new Error(JSON.stringify(p));
  };
  for await (const batch of readEvents({ path, index: 0 }, { problem, bytes: () => {} })) out.push(...batch);
  return out;
}

/** Runs both paths over the events; returns how many differ (and the first few, to read). */
async function compare(events: LoginEvent[], rules: RuleSet, o: { attacksPass?: boolean; geo?: 'csv'; hotProfiles?: number; spill: string }) {
  const attacksPass = o.attacksPass ?? false;
  const places = o.geo === 'csv' ? new RecordedPlaces() : null;
  const reference = new EngineLane(rules, attacksPass, places);
  const lane = new Lane(rules, new MeasureWindow(0), attacksPass, places?.lookup, o.spill, o.hotProfiles);
  const differing: { line: number; engine: Verdict; lane: Verdict }[] = [];
  const actions = { allow: 0, challenge: 0, block: 0 };
  const rulesFired = new Set<string>();
  try {
    for (const ev of events) {
      places?.at(ev);
      const a = await reference.step(ev);
      const b = lane.step(ev);
      actions[a.action]++;
      for (const r of a.fired) rulesFired.add(r);
      if (JSON.stringify(a) !== JSON.stringify(b)) differing.push({ line: ev.line, engine: a, lane: b });
    }
  } finally {
    await reference.close();
    lane.close();
  }
  return { differing: differing.length, examples: differing.slice(0, 3), actions, rulesFired };
}

let rules: RuleSet;
beforeAll(async () => {
  rules = await loadRuleSet(RULES_DIR);
});
afterAll(removeTempDirs);

describe('replay decides exactly as the engine', () => {
  it('on a generated stream with failures, challenges, device keys, fingerprints and stolen cookies, event by event', async () => {
    const dir = await tempDir();
    const events = await eventsOf(await smallStream(dir));
    const kinds = new Set(events.map((e) => e.label));
    // The stream holds what the lane must keep state for.
    expect(events.length).toBeGreaterThan(3000);
    expect(events.some((e) => e.outcome === 'failure')).toBe(true);
    expect(events.some((e) => e.deviceProof === 'valid')).toBe(true);
    expect(events.some((e) => e.fingerprint)).toBe(true);
    expect([...kinds].some((k) => k.startsWith('cookie_theft'))).toBe(true);
    const r = await compare(events, rules, { spill: join(dir, 'spill.db') });
    expect(r.examples).toEqual([]);
    expect(r.differing).toBe(0);
    // Both paths did take every action, and the rules that read state fired.
    expect(Object.values(r.actions).every((n) => n > 0)).toBe(true);
    for (const rule of ['attempts.credential_stuffing', 'device.proof_missing_after_idle', 'fingerprint.hardware_changed', 'geo.impossible_travel', 'device.known_on_new_network']) expect(r.rulesFired).toContain(rule);
  });

  it('with challenged attacks passing, and with profiles spilled to disk (a hot set of 10 users)', async () => {
    const dir = await tempDir();
    const events = await eventsOf(await smallStream(dir, { seed: 'spill', users: 60, days: 14 }));
    const r = await compare(events, rules, { attacksPass: true, hotProfiles: 10, spill: join(dir, 'spill.db') });
    expect(r.examples).toEqual([]);
    expect(r.differing).toBe(0);
  });

  it('on the RBA sample, located by the geolocation database and by the input (--geo csv)', async () => {
    const dir = await tempDir();
    const events = await eventsOf(RBA_SAMPLE);
    for (const geo of [undefined, 'csv'] as const) {
      const r = await compare(events, rules, { ...(geo ? { geo } : {}), spill: join(dir, `spill-${geo}.db`) });
      expect(r.examples).toEqual([]);
      expect(r.differing).toBe(0);
    }
  });
});
