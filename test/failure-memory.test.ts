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
