import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkPublicJwk, DeviceProofs, PROOF_WINDOW_MS, proofString } from '../src/engine/device-proof.js';
import { InputError } from '../src/errors.js';
import { learnProfile, parseProfile, PROFILE_LIMITS, PROFILE_VERSION, unlearnProfile, type DeviceKeyEntry, type DeviceSighting } from '../src/profile/profile.js';
import { fingerprintHashes, fingerprintSignals, hash53, type Fingerprint } from '../src/signals/fingerprint.js';
import { observation } from './helpers.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');
const FP: Fingerprint = { timeZone: 'Europe/Oslo', languages: ['nb-NO', 'nb', 'en'], screen: '1920x1080', platform: 'Win32', hardwareConcurrency: 8, deviceMemory: 8, colorDepth: 24, touch: 0, webglHash: '0980a244' };
const sighting = (over: Partial<DeviceSighting> = {}): DeviceSighting => ({ net: '81.167.144.0/24', region: 'NO/46', ua: hash53('ua-131'), major: 131, fp: fingerprintHashes(FP), ...over });

describe('profile version 2: per-device history', () => {
  it('reads a version 1 profile and brings it up to date, with an empty device history', () => {
    const v1 = { v: 1, first: T0, lastSeen: T0, logins: 1, devices: [{ id: 'd1', family: 'Chrome/Windows/desktop', first: T0, last: T0, count: 1 }], families: [], places: [], subnets: [], ranges: [], last: null, hours: new Array(24).fill(0) };
    const p = parseProfile(JSON.stringify(v1), 'alice');
    expect(p.v).toBe(PROFILE_VERSION);
    expect(p.devices[0]).toMatchObject({ id: 'd1', nets: [], ranges: [], regions: [], hours: 0, ua: '', fp: null });
    expect(p.keys).toEqual([]);
    expect(p.addresses).toEqual([]);
    expect(() => parseProfile(JSON.stringify({ v: 3 }), 'alice')).toThrow(/version 3/);
  });

  it('keeps each device its own networks, regions, hours, agent and fingerprints, bounded', () => {
    let p = learnProfile(null, observation({ device: sighting() }));
    for (let i = 0; i < 50; i++) p = learnProfile(p, observation({ time: T0 + i * 60_000, range: `10.${i}.0.0/16`, hour: i % 24, device: sighting({ net: `10.${i}.1.0/24`, region: `NO/${i}` }) }));
    const d = p.devices[0]!;
    expect(d.nets).toHaveLength(PROFILE_LIMITS.deviceNets);
    expect(d.ranges).toHaveLength(PROFILE_LIMITS.deviceRanges);
    expect(d.regions).toHaveLength(PROFILE_LIMITS.deviceRegions);
    expect(d.nets.at(-1)).toBe('10.49.1.0/24'); // the most recent last
    expect(d.hours).toBe(0xffffff);
    expect(d.major).toBe(131);
    expect(d.fp!.stable).toEqual([fingerprintHashes(FP).stable]);
  });

  it('calls a WebGL hash that keeps changing noise', () => {
    let p = learnProfile(null, observation({ device: sighting() }));
    for (let i = 0; i < PROFILE_LIMITS.deviceFingerprints + 1; i++) p = learnProfile(p, observation({ device: sighting({ fp: fingerprintHashes({ ...FP, webglHash: `gl-${i}` }) }) }));
    expect(p.devices[0]!.fp!.glNoisy).toBe(true);
    const s = fingerprintSignals({ ...FP, webglHash: 'another' }, fingerprintHashes({ ...FP, webglHash: 'another' }), p.devices[0], p.devices, null, T0);
    expect(s).toMatchObject({ matches: true, changed: false });
  });

  it('unlearns a confirmed fraud out of the device history', () => {
    const a = learnProfile(null, observation({ device: sighting() }));
    const fraud = observation({ time: T0 + 60_000, range: '84.208.0.0/16', device: sighting({ net: '84.208.0.0/24', region: 'NO/03' }) });
    const b = learnProfile(a, fraud);
    expect(b.devices[0]!.ranges).toContain('84.208.0.0/16');
    const c = unlearnProfile(b, { observation: fraud, previousLast: a.last });
    expect(c.devices[0]!.nets).toEqual(['81.167.144.0/24']);
    expect(c.devices[0]!.ranges).toEqual(['81.167.0.0/16']);
    expect(c.devices[0]!.regions).toEqual(['NO/46']);
  });

  it('keeps a registered key without counting a login, and replaces it', () => {
    const key = (x: string): DeviceKeyEntry => ({ device: 'd1', x, y: 'y', time: T0 });
    const a = learnProfile(learnProfile(null, observation()), observation({ key: key('x1') }));
    expect(a.logins).toBe(1);
    const b = learnProfile(a, observation({ key: key('x2') }));
    expect(b.keys).toEqual([key('x2')]);
    expect(unlearnProfile(b, { observation: observation({ key: key('x2') }), previousLast: null }).keys).toEqual([]);
  });
});

describe('fingerprint signals', () => {
  const learned = learnProfile(null, observation({ device: sighting() }));
  const dev = learned.devices[0]!;
  const signals = (fp: Fingerprint | undefined, zone: string | null = 'Europe/Oslo') => fingerprintSignals(fp, fp ? fingerprintHashes(fp) : null, dev, learned.devices, zone, T0);

  it('tells the device itself, another screen, other hardware and a missing fingerprint apart', () => {
    expect(signals(FP)).toMatchObject({ present: true, known: true, matches: true, changed: false, hardware_matches: true, screen_known: true, zone_known: true, zone_mismatch: false });
    expect(signals({ ...FP, screen: '2560x1440' })).toMatchObject({ matches: true, screen_known: false });
    expect(signals({ ...FP, hardwareConcurrency: 16 })).toMatchObject({ matches: false, changed: true, hardware_matches: false });
    expect(signals({ ...FP, webglHash: 'other' })).toMatchObject({ changed: true, hardware_matches: true });
    expect(signals(undefined)).toMatchObject({ present: false, missing: true });
  });

  it('compares the browser time zone with the address by UTC offset', () => {
    expect(signals({ ...FP, timeZone: 'Europe/Berlin' })).toMatchObject({ zone_mismatch: false, zone_known: false });
    expect(signals({ ...FP, timeZone: 'America/New_York' })).toMatchObject({ zone_mismatch: true });
    expect(signals({ ...FP, timeZone: 'Not/AZone' })).toMatchObject({ zone_mismatch: false });
  });

  it('finds the same browser under a new device id among the user\'s devices', () => {
    const s = fingerprintSignals(FP, fingerprintHashes(FP), undefined, learned.devices, null, T0);
    expect(s).toMatchObject({ known: false, user_matches: true });
  });
});

describe('device-bound key proofs', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string; y: string };
  const key: DeviceKeyEntry = { device: 'd1', x: jwk.x, y: jwk.y, time: T0 };
  const signAt = (time: number, user = 'alice', device = 'd1') => sign('sha256', Buffer.from(proofString(user, device, time)), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  const counters = () => {
    const seen = new Map<string, number>();
    return { add: async (limit: string, k: string, n: number) => seen.set(`${limit}|${k}`, (seen.get(`${limit}|${k}`) ?? 0) + n).get(`${limit}|${k}`)! };
  };

  it('accepts a fresh signature once, and refuses a replay, a stale time, another user and a forgery', async () => {
    const proofs = new DeviceProofs(counters());
    const proof = { time: T0, signature: signAt(T0) };
    expect(await proofs.check(key, 'alice', 'd1', proof, T0 + 1000)).toBe('valid');
    expect(await proofs.check(key, 'alice', 'd1', proof, T0 + 2000)).toBe('invalid'); // replayed
    expect(await proofs.check(key, 'alice', 'd1', { time: T0 - PROOF_WINDOW_MS - 1, signature: signAt(T0 - PROOF_WINDOW_MS - 1) }, T0)).toBe('invalid');
    expect(await proofs.check(key, 'bob', 'd1', { time: T0 + 5, signature: signAt(T0 + 5) }, T0)).toBe('invalid');
    expect(await proofs.check(key, 'alice', 'd1', { time: T0 + 6, signature: Buffer.alloc(64, 1).toString('base64url') }, T0)).toBe('invalid');
    expect(await proofs.check(key, 'alice', 'd1', { time: T0 + 7, signature: 'not base64!' }, T0)).toBe('invalid');
  });

  it('says missing without a proof, none without a key, and takes a replay\'s recorded outcome', async () => {
    const proofs = new DeviceProofs(counters());
    expect(await proofs.check(key, 'alice', 'd1', undefined, T0)).toBe('missing');
    expect(await proofs.check(undefined, 'alice', 'd1', { time: T0, signature: signAt(T0) }, T0)).toBe('none');
    expect(await proofs.check({ ...key, x: '', y: '' }, 'alice', 'd1', 'valid', T0)).toBe('valid');
    expect(await proofs.check({ ...key, x: '', y: '' }, 'alice', 'd1', { time: T0, signature: signAt(T0) }, T0)).toBe('invalid');
  });

  it('takes only an ECDSA P-256 public JWK', () => {
    expect(checkPublicJwk(jwk)).toEqual({ x: jwk.x, y: jwk.y });
    const bad = (j: object) => expect(() => checkPublicJwk(j as never)).toThrow(InputError);
    bad({ ...jwk, crv: 'P-384' });
    bad({ ...jwk, d: 'secret' });
    bad({ ...jwk, x: 'short' });
    bad({ ...jwk, y: jwk.x }); // not on the curve
  });
});
