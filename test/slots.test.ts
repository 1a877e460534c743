import { describe, expect, it } from 'vitest';
import { halfSipHash, out, Slots } from '../src/store/sqlite/slots.js';

/** A small deterministic generator for the model tests. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('Slots: keys in typed arrays, in order of their latest stamp', () => {
  it('finds, adds and removes keys like a Map does, through many removals (no tombstones left behind)', () => {
    const slots = new Slots<string>(1);
    const model = new Map<string, number>();
    const rnd = lcg(7);
    let mismatches = 0;
    for (let step = 0; step < 60_000; step++) {
      const key = `k${Math.floor(rnd() * 5_000)}`;
      const slot = slots.locate(key);
      if (slot >= 0 !== model.has(key)) mismatches++;
      if (slot < 0) {
        const s = slots.add(step);
        slots.data[slots.ints(s)] = step;
        model.set(key, step);
      } else {
        if (slots.data[slots.ints(slot)] !== model.get(key)) mismatches++;
        if (rnd() < 0.5) {
          slots.remove(slot);
          model.delete(key);
        }
      }
    }
    expect(mismatches).toBe(0);
    expect(slots.size).toBe(model.size);
    for (const [key, value] of model) expect(slots.data[slots.ints(slots.locate(key))]).toBe(value);
  });

  it('gives the slot stamped least recently at the front, skipping the stale entries of slots stamped again', () => {
    const slots = new Slots<never>();
    const a = (slots.locate('a'), slots.add(1));
    const b = (slots.locate('b'), slots.add(2));
    const c = (slots.locate('c'), slots.add(3));
    expect(slots.front()).toBe(a);
    slots.touch(a, 4); // a moves behind c
    expect(slots.front()).toBe(b);
    slots.remove(b);
    expect(slots.front()).toBe(c);
    slots.remove(c);
    expect(slots.front()).toBe(a);
    // A freed slot reused for a new key: the old key's queue entries do not come back.
    slots.remove(a);
    const d = (slots.locate('d'), slots.add(5));
    expect(d).toBe(a);
    expect(slots.front()).toBe(d);
    slots.remove(d);
    expect(slots.front()).toBe(-1);
  });

  it('keeps the queue in order through its growth, and rebuilds it in stamp order after a restore', () => {
    const slots = new Slots<never>();
    for (let i = 0; i < 5_000; i++) (slots.locate(`k${i}`), slots.add(i));
    for (let i = 0; i < 2_500; i++) slots.touch(slots.locate(`k${i}`), 10_000 + i);
    const order: number[] = [];
    for (let s = slots.front(); s >= 0; s = slots.front()) {
      order.push(slots.stamp(s));
      slots.remove(s);
    }
    expect(order).toEqual([...Array.from({ length: 2_500 }, (_, i) => 2_500 + i), ...Array.from({ length: 2_500 }, (_, i) => 10_000 + i)]);

    const restored = new Slots<never>();
    for (const stamp of [30, 10, 20]) (restored.locate(`s${stamp}`), restored.add(stamp));
    restored.requeue();
    expect(restored.stamp(restored.front())).toBe(10);
  });

  it('hashes with a key of its own: distinct ids, even ones that differ only in their last character or length, hash apart', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      halfSipHash(`u:stuffed-${i}`);
      seen.add(`${out[0]}:${out[1]}`);
    }
    for (const s of ['', 'a', 'a\u0000', 'ab', 'ab\u0000']) {
      halfSipHash(s);
      seen.add(`${out[0]}:${out[1]}`);
    }
    expect(seen.size).toBe(100_005);
  });
});
