import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/replay/generate/generate.js';
import { HOME_AREAS } from '../../src/replay/generate/networks.js';
import { eventLine, type GenEvent } from '../../src/replay/generate/stream.js';
import { geoipLite } from '../../src/signals/geoip.js';
import { UserAgentParser } from '../../src/signals/useragent.js';

const START = Date.parse('2026-03-02T00:00:00Z');
const DAY = 86_400_000;
const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'demo.jsonl');
const text = (events: readonly GenEvent[]) => events.map((e) => `${eventLine(e)}\n`).join('');
const digest = (s: string) => createHash('sha256').update(s).digest('hex');

describe('stream generator', () => {
  const events = generate({ seed: '7', users: 150, days: 28, start: START });

  it('is deterministic: the same seed gives the same stream byte for byte, another seed another stream', () => {
    expect(digest(text(generate({ seed: '7', users: 150, days: 28, start: START })))).toBe(digest(text(events)));
    expect(digest(text(generate({ seed: '8', users: 150, days: 28, start: START })))).not.toBe(digest(text(events)));
  });

  it('reproduces the committed demo fixture (riskgate generate --users 200 --days 28)', async () => {
    expect(text(generate({ seed: '1', users: 200, days: 28, start: START }))).toBe(await readFile(FIXTURE, 'utf8'));
  });

  it('writes a time-ordered stream within its period, with every kind of login labelled', () => {
    expect(events.every((e, i) => i === 0 || e.time >= events[i - 1]!.time)).toBe(true);
    expect(events[0]!.time).toBeGreaterThanOrEqual(START);
    expect(events.at(-1)!.time).toBeLessThan(START + 28 * DAY);
    const labels = new Set(events.map((e) => e.label));
    expect([...labels].sort()).toEqual(['account_takeover', 'brute_force', 'credential_stuffing', 'impossible_travel', 'legit']);
    for (const label of labels) expect(events.some((e) => e.label === label && e.outcome === 'success')).toBe(label !== 'brute_force' || events.some((e) => e.label === 'brute_force' && e.outcome === 'success'));
  });

  it('uses real addresses that geoip-lite locates, legitimate users mostly in their home country', () => {
    const located = events.filter((e) => geoipLite(e.ip) !== null).length;
    expect(located / events.length).toBeGreaterThan(0.995);
    const countries = new Set(HOME_AREAS.map((a) => a.country));
    const legit = events.filter((e) => e.label === 'legit');
    const home = legit.filter((e) => countries.has(geoipLite(e.ip)?.country ?? '')).length;
    expect(home / legit.length).toBeGreaterThan(0.9);
  });

  it('models real users: several devices, mobile addresses that hop, typos, new devices', () => {
    const legit = events.filter((e) => e.label === 'legit');
    const byUser = new Map<string, GenEvent[]>();
    for (const e of legit) byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), e]);
    const devices = [...byUser.values()].map((l) => new Set(l.map((e) => e.deviceId)).size);
    expect(devices.filter((n) => n >= 2).length / devices.length).toBeGreaterThan(0.5);
    const subnets = [...byUser.values()].map((l) => new Set(l.map((e) => e.ip.split('.').slice(0, 3).join('.'))).size);
    expect(Math.max(...subnets)).toBeGreaterThan(10);
    const failures = legit.filter((e) => e.outcome === 'failure').length;
    expect(failures / legit.length).toBeGreaterThan(0.03);
    expect(failures / legit.length).toBeLessThan(0.15);
  });

  it('makes targeted takeovers copy the victim\'s browser and stay in the victim\'s country', () => {
    const parser = new UserAgentParser();
    const takeovers = events.filter((e) => e.label === 'account_takeover' && e.outcome === 'success');
    expect(takeovers.length).toBeGreaterThan(5);
    for (const t of takeovers) {
      const own = events.filter((e) => e.userId === t.userId && e.label === 'legit');
      const country = (ip: string) => geoipLite(ip)?.country;
      const homeCountry = own.map((e) => country(e.ip)).sort((a, b) => own.filter((e) => country(e.ip) === b).length - own.filter((e) => country(e.ip) === a).length)[0];
      expect(country(t.ip)).toBe(homeCountry);
      expect(own.map((e) => parser.parse(e.userAgent).family)).toContain(parser.parse(t.userAgent).family);
      expect(own.map((e) => e.deviceId)).not.toContain(t.deviceId);
    }
  });

  it('sends credential stuffing through a botnet: many addresses, each trying several users', () => {
    const stuffing = events.filter((e) => e.label === 'credential_stuffing');
    const perAddress = new Map<string, Set<string>>();
    for (const e of stuffing) perAddress.set(e.ip, (perAddress.get(e.ip) ?? new Set()).add(e.userId));
    expect(perAddress.size).toBeGreaterThan(5);
    expect(stuffing.filter((e) => e.outcome === 'failure').length / stuffing.length).toBeGreaterThan(0.95);
    const users = [...perAddress.values()].map((s) => s.size);
    expect(users.reduce((a, b) => a + b, 0) / users.length).toBeGreaterThan(5);
  });
});
