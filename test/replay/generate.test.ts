import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCommand } from '../../src/replay/generate/command.js';
import { DEFAULT_STREAM, generate, type GenerateOptions } from '../../src/replay/generate/generate.js';
import { prefixes } from '../../src/replay/generate/networks.js';
import { NATIONS } from '../../src/replay/generate/places.js';
import { eventLine, type GenEvent, type Via } from '../../src/replay/generate/stream.js';
import { geoipLite } from '../../src/signals/geoip.js';
import { UserAgentParser } from '../../src/signals/useragent.js';

const START = Date.parse('2026-03-02T00:00:00Z');
const DAY = 86_400_000;
const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'demo.jsonl');
const text = (events: readonly GenEvent[]) => events.map((e) => `${eventLine(e)}\n`).join('');
const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const options = (o: Partial<GenerateOptions>): GenerateOptions => ({ ...DEFAULT_STREAM, start: START, ...o });
const stream = (o: Partial<GenerateOptions>): GenEvent[] => [...generate(options(o))];
const share = (part: number, whole: number) => part / whole;
const range16 = (ip: string) => ip.split('.').slice(0, 2).join('.');
const subnet24 = (ip: string) => ip.split('.').slice(0, 3).join('.');

describe('stream generator', () => {
  const events = stream({ seed: '7', users: 150, days: 28 });

  it('is deterministic: the same seed gives the same stream byte for byte, another seed another stream', () => {
    expect(digest(text(stream({ seed: '7', users: 150, days: 28 })))).toBe(digest(text(events)));
    expect(digest(text(stream({ seed: '8', users: 150, days: 28 })))).not.toBe(digest(text(events)));
  });

  it('reproduces the committed demo fixture (riskgate generate --users 200 --days 28)', async () => {
    expect(text(stream({ seed: '1', users: 200, days: 28 }))).toBe(await readFile(FIXTURE, 'utf8'));
  });

  it('writes a time-ordered stream within its period, with every kind of login labelled', () => {
    expect(events.every((e, i) => i === 0 || e.time >= events[i - 1]!.time)).toBe(true);
    expect(events[0]!.time).toBeGreaterThanOrEqual(START);
    expect(events.at(-1)!.time).toBeLessThan(START + 28 * DAY);
    const labels = new Set(events.map((e) => e.label));
    expect([...labels].sort()).toEqual(['account_takeover', 'account_takeover_local', 'brute_force', 'cookie_theft', 'cookie_theft_bound', 'credential_stuffing', 'impossible_travel', 'legit']);
    for (const label of labels) expect(events.some((e) => e.label === label && e.outcome === 'success')).toBe(label !== 'brute_force' || events.some((e) => e.label === 'brute_force' && e.outcome === 'success'));
  });

  it('uses real addresses that geoip-lite locates, legitimate users mostly in their home country', () => {
    const located = events.filter((e) => geoipLite(e.ip) !== null).length;
    expect(located / events.length).toBeGreaterThan(0.995);
    const countries = new Set(NATIONS.map((n) => n.country));
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

  describe('on a larger stream', () => {
    const large = stream({ seed: '3', users: 600, days: 35 });
    const legit = large.filter((e) => e.label === 'legit' && e.outcome === 'success');
    const byUser = new Map<string, GenEvent[]>();
    for (const e of legit) byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), e]);
    const via = (v: Via) => legit.filter((e) => e.via === v);

    it('has each legitimate pattern at about its intended share', () => {
      expect(share(via('mobile').length, legit.length)).toBeGreaterThan(0.15);
      expect(share(via('mobile').length, legit.length)).toBeLessThan(0.25);
      expect(share(via('home6').length, legit.length)).toBeGreaterThan(0.2);
      expect(share(via('home').length, legit.length)).toBeGreaterThan(0.2);
      const elsewhereAtHome = via('elsewhere').length + via('trip').length;
      expect(share(elsewhereAtHome, legit.length)).toBeGreaterThan(0.01);
      expect(share(elsewhereAtHome, legit.length)).toBeLessThan(0.04);
      for (const v of ['office', 'office_proxy', 'vpn', 'abroad'] as const) expect(via(v).length).toBeGreaterThan(0);
      // Office proxies are abroad; VPN exits mostly are.
      const home = (u: string) => NATIONS.find((n) => n.cities.some((c) => byUser.get(u)!.some((e) => e.via === 'home' && geoipLite(e.ip)?.city === c.name)))?.country;
      const proxied = via('office_proxy').filter((e) => home(e.userId) !== undefined);
      expect(proxied.every((e) => geoipLite(e.ip)?.country !== home(e.userId))).toBe(true);
    });

    it('moves home IPv4 addresses within their /24 and keeps IPv6 homes on one /64 with a new interface id each day', () => {
      const homes = [...byUser.values()].map((l) => l.filter((e) => e.via === 'home')).filter((l) => l.length >= 8);
      const oneSubnet = homes.filter((l) => new Set(l.map((e) => subnet24(e.ip))).size === 1);
      expect(share(oneSubnet.length, homes.length)).toBeGreaterThan(0.7);
      const moving = oneSubnet.filter((l) => new Set(l.map((e) => e.ip)).size > 1);
      expect(share(moving.length, oneSubnet.length)).toBeGreaterThan(0.6);
      const v6 = [...byUser.values()].map((l) => l.filter((e) => e.via === 'home6')).filter((l) => l.length >= 5);
      expect(v6.length).toBeGreaterThan(50);
      const prefix64 = (ip: string) => ip.split(':').slice(0, 4).join(':');
      expect(v6.every((l) => new Set(l.map((e) => prefix64(e.ip))).size === 1)).toBe(true);
      for (const l of v6) {
        const days = new Map<string, Set<string>>();
        for (const e of l) days.set(`${e.deviceId}/${Math.floor(e.time / DAY)}`, (days.get(`${e.deviceId}/${Math.floor(e.time / DAY)}`) ?? new Set()).add(e.ip));
        expect(new Set(l.map((e) => e.ip)).size).toBeGreaterThanOrEqual(Math.min(days.size, 2));
      }
    });

    it('keeps a phone on mobile data in one CGNAT /16 most of the time', () => {
      const mobile = [...byUser.values()].map((l) => l.filter((e) => e.via === 'mobile').map((e) => range16(e.ip))).filter((l) => l.length >= 5);
      const topShares = mobile.map((l) => Math.max(...[...new Set(l)].map((r) => l.filter((x) => x === r).length)) / l.length).sort((a, b) => a - b);
      expect(topShares[topShares.length >> 1]).toBeGreaterThan(0.8);
      const pools = new Set(NATIONS.flatMap((n) => n.carriers.flatMap((c) => c.pools)));
      expect(via('mobile').every((e) => pools.has(range16(e.ip)) || geoipLite(e.ip)?.country !== undefined)).toBe(true);
    });

    it('renews device ids now and then: cleared cookies, private windows, new phones', () => {
      const later = legit.filter((e) => e.time >= START + 14 * DAY);
      const known = new Set(legit.filter((e) => e.time < START + 14 * DAY).map((e) => `${e.userId}/${e.deviceId}`));
      const fresh = later.filter((e) => !known.has(`${e.userId}/${e.deviceId}`) && (known.add(`${e.userId}/${e.deviceId}`), true));
      expect(share(fresh.length, later.length)).toBeGreaterThan(0.005);
      expect(share(fresh.length, later.length)).toBeLessThan(0.04);
    });

    it('gives about 30% of devices a key, whose logins prove it, and each device a stable fingerprint', () => {
      const devices = new Map<string, GenEvent[]>();
      for (const e of legit) devices.set(`${e.userId}/${e.deviceId}`, [...(devices.get(`${e.userId}/${e.deviceId}`) ?? []), e]);
      const used = [...devices.values()].filter((l) => l.length >= 2);
      const keyed = used.filter((l) => l.some((e) => e.deviceProof === 'valid'));
      expect(share(keyed.length, used.length)).toBeGreaterThan(0.22);
      expect(share(keyed.length, used.length)).toBeLessThan(0.38);
      const proofs = keyed.flat();
      expect(share(proofs.filter((e) => e.deviceProof === 'valid').length, proofs.length)).toBeGreaterThan(0.95);
      expect(legit.some((e) => e.deviceProof === 'invalid')).toBe(false);
      const stable = used.filter((l) => new Set(l.filter((e) => e.fingerprint).map((e) => `${e.fingerprint!.platform}/${e.fingerprint!.webglHash}/${e.fingerprint!.languages!.join()}`)).size === 1);
      expect(share(stable.length, used.length)).toBeGreaterThan(0.9);
      expect(stream({ seed: '3', users: 40, days: 14, deviceKeys: 0 }).some((e) => e.deviceProof !== undefined)).toBe(false);
    });

    it("makes cookie thefts replay the victim's most used device id and its exact user agent, labelled by whether the device held a key", () => {
      const thefts = large.filter((e) => e.label === 'cookie_theft' || e.label === 'cookie_theft_bound');
      expect(thefts.length).toBeGreaterThan(30);
      let top = 0;
      for (const t of thefts) {
        const before = (byUser.get(t.userId) ?? []).filter((e) => e.time < t.time);
        const own = before.filter((e) => e.deviceId === t.deviceId);
        expect(own.map((e) => e.userAgent)).toContain(t.userAgent);
        const counts = new Map<string, number>();
        for (const e of before) counts.set(e.deviceId!, (counts.get(e.deviceId!) ?? 0) + 1);
        if (counts.get(t.deviceId!) === Math.max(...counts.values())) top++;
        expect(t.label === 'cookie_theft_bound').toBe(own.some((e) => e.deviceProof === 'valid'));
        expect(t.deviceProof).not.toBe('valid');
      }
      expect(share(top, thefts.length)).toBeGreaterThan(0.9);
      expect(thefts.some((t) => t.label === 'cookie_theft_bound')).toBe(true);
      const abroad = thefts.filter((t) => geoipLite(t.ip)?.country !== geoipLite(byUser.get(t.userId)![0]!.ip)?.country);
      expect(share(abroad.length, thefts.length)).toBeGreaterThan(0.05);
      expect(share(abroad.length, thefts.length)).toBeLessThan(0.35);
    });

    it("sends very targeted takeovers from the victim's city, on the victim's browser family and a new device", () => {
      const parser = new UserAgentParser();
      const local = large.filter((e) => e.label === 'account_takeover_local');
      expect(local.length).toBeGreaterThan(5);
      for (const t of local) {
        const own = byUser.get(t.userId)!;
        expect(own.map((e) => e.deviceId)).not.toContain(t.deviceId);
        expect(own.map((e) => parser.parse(e.userAgent).family)).toContain(parser.parse(t.userAgent).family);
        expect(geoipLite(t.ip)?.country).toBe(geoipLite(own.find((e) => e.via === 'home' || e.via === 'mobile')!.ip)?.country);
      }
    });
  });

  it('places every IPv4 /24 of its address tables in its city, and every carrier pool in its country', () => {
    let placed = 0;
    let total = 0;
    for (const n of NATIONS) {
      for (const c of n.cities) {
        for (const net of c.nets) {
          for (const p of prefixes(net.v4)) {
            total++;
            const g = geoipLite(`${p}.77`);
            if (g?.country === n.country && g.city === c.name) placed++;
          }
          for (const p of prefixes(net.v6)) expect(geoipLite(`${p}12:3456::1`)?.country).toBe(n.country);
        }
      }
      for (const pool of n.carriers.flatMap((c) => c.pools)) expect(geoipLite(`${pool}.40.7`)?.country).toBe(n.country);
    }
    expect(share(placed, total)).toBeGreaterThan(0.98);
  });

  it('refuses a device-key share outside 0 to 1, naming the option', async () => {
    for (const bad of ['2', '-0.1', 'many', '']) {
      const r = await generateCommand([`--device-keys=${bad}`, '--users', '1', '--days', '1']);
      expect(r.code).toBe(2);
      expect(r.stderr[0]).toBe(`riskgate generate: --device-keys: "${bad}" is not a share between 0 and 1`);
    }
  });
});
