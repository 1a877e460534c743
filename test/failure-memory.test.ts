import { describe, expect, it } from 'vitest';
import { FailureMemory, MAX_PLACE_USERS } from '../src/store/sqlite/failure-memory.js';
import { DAY, HOUR, MINUTE } from './helpers.js';

const T0 = Date.parse('2026-03-02T00:00:00Z');

describe("the SQLite store's failure memory (bounded, expired in amortised O(1))", () => {
  it('keeps at most MAX_PLACE_USERS users per place, the most recent: distinct counts saturate there', () => {
    const m = new FailureMemory();
    for (let i = 0; i < MAX_PLACE_USERS + 500; i++) m.add({ userId: `u${i}`, ip: '5.9.0.1' }, T0 + i);
    const c = m.counts({ userId: 'x', ip: '5.9.0.1' }, T0 + HOUR);
    expect(c).toMatchObject({ ip_users_1h: MAX_PLACE_USERS, network_users_1h: MAX_PLACE_USERS, ip_1h: MAX_PLACE_USERS + 500 });
  });

  it('drops the least recently failed subjects past its limit, and counts them as evicted', () => {
    const m = new FailureMemory({ subjects: 100, places: 10 });
    m.add({ userId: 'victim', ip: '5.9.0.1' }, T0);
    for (let i = 0; i < 200; i++) m.add({ userId: `u${i}`, ip: `5.9.${i % 4}.1` }, T0 + MINUTE);
    expect(m.size.subjects).toBeLessThanOrEqual(100);
    expect(m.size.places).toBeLessThanOrEqual(10);
    expect(m.evicted).toBeGreaterThan(0);
    // The victim failed least recently: it went first.
    expect(m.counts({ userId: 'victim', ip: '8.8.8.8' }, T0 + MINUTE).user_24h).toBe(0);
    // A subject that keeps failing stays.
    expect(m.counts({ userId: 'u199', ip: '8.8.8.8' }, T0 + MINUTE).user_24h).toBe(1);
  });

  it('expires a day-old entry a few at a time as failures come, never by scanning everything', () => {
    const m = new FailureMemory();
    for (let i = 0; i < 1000; i++) m.add({ userId: `old${i}`, ip: `5.9.${i % 200}.1` }, T0 + i);
    const held = m.size.subjects;
    // A day later, each new failure drops a bounded number of expired entries from the front.
    m.add({ userId: 'new', ip: '7.7.7.7' }, T0 + DAY + HOUR);
    const after = m.size.subjects;
    expect(after).toBeGreaterThan(held - 40);
    for (let i = 0; i < 200; i++) m.add({ userId: `new${i}`, ip: '7.7.7.7' }, T0 + DAY + HOUR + i);
    // Everything old is gone; only the new failures' subjects are left.
    expect(m.size.subjects).toBe(201 + 2); // 201 users, one address, its network
    expect(m.counts({ userId: 'old1', ip: '5.9.1.1' }, T0 + DAY + HOUR)).toMatchObject({ user_24h: 0, ip_24h: 0, ip_users_24h: 0 });
  });
});

describe('the failure memory under a flood of new ids', () => {
  it('stays within its bound, keeps what failed last, and counts the same as before the flood for a subject that keeps failing', () => {
    const m = new FailureMemory({ subjects: 2_000, places: 1_000 });
    for (let j = 0; j < 50_000; j++) {
      const now = T0 + j * 1000;
      m.add({ userId: `stuffed-${j}`, ip: `5.9.${j % 16}.${(j >> 4) % 256}`, deviceId: `dev-${j}` }, now);
      if (j % 100 === 0) m.add({ userId: 'persistent', ip: '7.7.7.7' }, now);
      if (j % 1000 === 0) expect([m.size.subjects <= 2_000, m.size.places <= 1_000]).toEqual([true, true]);
    }
    expect(m.evicted).toBeGreaterThan(0);
    const end = T0 + 50_000 * 1000;
    // The last ids are held; the first were evicted.
    expect(m.counts({ userId: 'stuffed-49999', ip: '8.8.8.8' }, end).user_30m).toBe(1);
    expect(m.counts({ userId: 'stuffed-0', ip: '8.8.8.8' }, end).user_24h).toBe(0);
    // 'persistent' failed once every 100 s for 14 hours: all 500 failures held, from one address.
    const p = m.counts({ userId: 'persistent', ip: '7.7.7.7' }, end);
    expect(p.user_24h).toBe(500);
    expect(p.ip_24h).toBe(500);
    expect(p.ip_users_24h).toBe(1);
  });

  it('counts the distinct users of a place with more users than it keeps from the most recent ones', () => {
    const m = new FailureMemory();
    for (let i = 0; i < 1_200; i++) m.add({ userId: `u${i}`, ip: '5.9.0.1' }, T0 + i * 1000);
    // The same 1,000 most recent users fail again: still 1,000 distinct.
    for (let i = 200; i < 1_200; i++) m.add({ userId: `u${i}`, ip: '5.9.0.1' }, T0 + 30 * MINUTE + i);
    const c = m.counts({ userId: 'x', ip: '5.9.0.1' }, T0 + 31 * MINUTE);
    expect(c.ip_users_1h).toBe(1_000);
  });
});
