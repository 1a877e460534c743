import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIp } from '../src/signals/network.js';
import { AUTH, IP, decide, fail, makeApp, type TestApp } from './helpers.js';

describe('an IPv6 form that carries an IPv4 address is that IPv4 address', () => {
  it.each([
    ['IPv4-mapped', '::ffff:192.0.2.77'],
    ['IPv4-mapped, hex', '::ffff:c000:24d'],
    ['IPv4-translated', '::ffff:0:192.0.2.77'],
    ['IPv4-compatible', '::192.0.2.77'],
    ['NAT64 well-known prefix', '64:ff9b::192.0.2.77'],
    ['NAT64, hex', '64:ff9b::c000:24d'],
    ['6to4 (the router)', '2002:c000:24d::1'],
    ['6to4, another host behind it', '2002:c000:24d:5::abcd'],
    ['Teredo (the client NAT, inverted)', '2001:0:4136:e378:8000:63bf:3fff:fdb2'],
  ])('%s: %s', (_name, raw) => {
    const net = parseIp(raw);
    expect(net.version).toBe(4);
    expect(net.ip).toBe('192.0.2.77');
    expect(net.subnet).toBe('192.0.2.0/24');
  });

  it('leaves plain IPv6, the unspecified and the loopback address alone', () => {
    expect(parseIp('2a01:4f8::1').version).toBe(6);
    expect(parseIp('::1')).toMatchObject({ version: 6, private: true });
    expect(parseIp('::')).toMatchObject({ version: 6, private: true });
  });
});

describe('address forms over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
  });
  afterAll(() => t.close());

  it.each(['2a01:4f8::1%1', '2a01:4f8::1%eth0', 'fe80::1%25eth0', '192.0.2.1%1'])('a zone id (%s) is a 400 naming the field, on every route that takes an address', async (ip) => {
    for (const url of ['/v1/decisions', '/v1/login-failures']) {
      const res = await t.app.inject({ method: 'POST', url, headers: AUTH, payload: { userId: 'u', ip } });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error: { code: 'INVALID_IP', message: expect.stringMatching(/^ip: .* zone id/), requestId: expect.any(String) } });
    }
  });

  it('the IPv4 deny list blocks the address in its NAT64 and 6to4 forms', async () => {
    for (const ip of ['192.0.2.77', '64:ff9b::192.0.2.77', '2002:c000:24d::1', '::ffff:0:192.0.2.77']) {
      const r = await decide(t, { userId: `deny-${ip}`, ip });
      expect(r.body.action, ip).toBe('block');
      expect(r.body.reasons.map((x: { rule: string }) => x.rule)).toContain('lists.denied_network');
    }
  });

  it('failures through the embedded forms count for the IPv4 address', async () => {
    await fail(t, { userId: 'v1', ip: IP.germany });
    await fail(t, { userId: 'v2', ip: '64:ff9b::509:1' });
    const r = await fail(t, { userId: 'v3', ip: '2002:509:1::1' });
    expect(r.body).toMatchObject({ ip_1h: 3, ip_users_1h: 3 });
  });
});
