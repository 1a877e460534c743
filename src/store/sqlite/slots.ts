import { randomBytes } from 'node:crypto';

/**
 * Keys held in numbered slots, with a first-in-first-out queue that says which slot was
 * stamped least recently: the structure under the SQLite store's failure memory, where a
 * flood of a million new ids must cost neither a stall nor unbounded memory.
 *
 * Why not Maps of strings: a Map that moves entries to its end (delete, then set) and drops
 * them from its front leaves deleted entries that its iterators walk over, so reading the
 * front gets slower with every deletion (a million front deletions take minutes); a Map of a
 * million entries rehashes in one go when it grows (about a second); and a million retained
 * key strings make each full garbage collection pause for hundreds of milliseconds. Here
 * nothing per key is a JavaScript object:
 * - a key is known by a 64-bit keyed hash (HalfSipHash-2-4 under a random key made at start,
 *   so nobody can make two ids collide without it; two keys share a slot with probability
 *   about n²/2⁶⁵, e.g. 3 in 100 million for a million keys),
 * - the hashes live in SHARDS open-addressing tables of typed arrays, each growing on its
 *   own so that no growth copies more than a small share of the keys,
 * - a slot's stamp and integers live in typed arrays, and the order in a queue of
 *   (slot, generation, stamp) triples.
 * Only a slot's optional value (for the few keys that need more than their integers) is an
 * object.
 *
 * A slot is stamped with a number that only grows (a time bucket). Stamping it with a new
 * value queues it again; its earlier queue entry goes stale and is skipped when it reaches
 * the front. Each queue entry is pushed once and popped once: amortised O(1) per stamp.
 */
export class Slots<V> {
  private readonly tables = Array.from({ length: SHARDS }, () => new HashTable());
  private readonly values: (V | undefined)[] = [];
  /** Bumped when a slot is freed, so that queue entries of its earlier key are stale. */
  private gens = new Int32Array(INITIAL);
  private stamps = new Int32Array(INITIAL);
  /** Per slot: its key's hash (2 integers), then `columns` integers the owner reads and writes from ints(slot). */
  data: Int32Array<ArrayBuffer>;
  /** Per slot, one number the owner reads and writes (a time). */
  times = new Float64Array(INITIAL);
  private readonly width: number;
  private readonly free: number[] = [];
  private slotCount = 0;
  /** Ring of triples (slot, generation, stamp); `head` and `tail` count triples. */
  private queue = new Int32Array(3 * INITIAL);
  private head = 0;
  private tail = 0;
  /** The hash of the key last located. */
  private h1 = 0;
  private h2 = 0;
  /** Keys held. */
  size = 0;

  constructor(columns = 0) {
    this.width = 2 + columns;
    this.data = new Int32Array(INITIAL * this.width);
  }

  /** The slot holding `key`, or -1; `add` then holds this key. */
  locate(key: string): number {
    halfSipHash(key);
    this.h1 = out[0]!;
    this.h2 = out[1]!;
    return this.tables[this.h2 & (SHARDS - 1)]!.find(this.h1, this.h2);
  }

  value(slot: number): V | undefined {
    return this.values[slot];
  }

  setValue(slot: number, value: V | undefined): void {
    this.values[slot] = value;
  }

  /** Where the owner's integers of the slot start in `data`. */
  ints(slot: number): number {
    return slot * this.width + 2;
  }

  stamp(slot: number): number {
    return this.stamps[slot]!;
  }

  /** Holds the key last located (which must not be held), stamped and queued. */
  add(stamp: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.slotCount++;
      if (slot >= this.gens.length) {
        const n = this.gens.length * 2;
        this.gens = grow(this.gens, n);
        this.stamps = grow(this.stamps, n);
        this.data = grow(this.data, n * this.width);
        const times = new Float64Array(n);
        times.set(this.times);
        this.times = times;
      }
    }
    const i = slot * this.width;
    this.data[i] = this.h1;
    this.data[i + 1] = this.h2;
    this.tables[this.h2 & (SHARDS - 1)]!.insert(this.h1, this.h2, slot);
    this.size++;
    this.stamps[slot] = stamp;
    this.enqueue(slot);
    return slot;
  }

  /** Stamps a held slot again: when the stamp is new, the slot moves to the back of the queue. */
  touch(slot: number, stamp: number): void {
    if (this.stamps[slot] === stamp) return;
    this.stamps[slot] = stamp;
    this.enqueue(slot);
  }

  /**
   * The slot stamped least recently, or -1 when none is held. Stale queue entries in front
   * of it are dropped on the way (each was pushed once: amortised O(1)).
   */
  front(): number {
    const q = this.queue;
    const cap = q.length / 3;
    while (this.head !== this.tail) {
      const i = 3 * (this.head % cap);
      const slot = q[i]!;
      if (this.gens[slot] === q[i + 1] && this.stamps[slot] === q[i + 2]) return slot;
      this.head++;
    }
    return -1;
  }

  /** Frees a held slot: its key is forgotten, its value dropped, its queue entries go stale. */
  remove(slot: number): void {
    const i = slot * this.width;
    const h2 = this.data[i + 1]!;
    this.tables[h2 & (SHARDS - 1)]!.remove(this.data[i]!, h2);
    this.values[slot] = undefined;
    this.gens[slot]! += 1;
    this.free.push(slot);
    this.size--;
  }

  /** Rebuilds the queue in stamp order (after a restore stamped slots out of order). */
  requeue(): void {
    const held: number[] = [];
    const freed = new Set(this.free);
    for (let s = 0; s < this.slotCount; s++) if (!freed.has(s)) held.push(s);
    held.sort((a, b) => this.stamps[a]! - this.stamps[b]!);
    this.head = this.tail = 0;
    for (const s of held) this.enqueue(s);
  }

  private enqueue(slot: number): void {
    let cap = this.queue.length / 3;
    if (this.tail - this.head === cap) {
      // Full: copy the ring into one twice as large, oldest first.
      const start = 3 * (this.head % cap);
      const bigger = new Int32Array(this.queue.length * 2);
      bigger.set(this.queue.subarray(start));
      bigger.set(this.queue.subarray(0, start), this.queue.length - start);
      this.queue = bigger;
      this.tail -= this.head;
      this.head = 0;
      cap *= 2;
    }
    const i = 3 * (this.tail % cap);
    this.queue[i] = slot;
    this.queue[i + 1] = this.gens[slot]!;
    this.queue[i + 2] = this.stamps[slot]!;
    this.tail++;
  }
}

/** Hash tables per Slots: each holds about 1/SHARDS of the keys, so that its growth copies few. */
const SHARDS = 64;
const INITIAL = 1024;

/**
 * 64-bit hash → slot, open addressing with linear probing in one Int32Array of triples
 * (h1, h2, slot + 1; 0 is empty), at most half full. Removal shifts the following entries
 * back instead of leaving tombstones, so probes stay short however many keys come and go.
 */
class HashTable {
  private t = new Int32Array(3 * 16);
  private mask = 15;
  private n = 0;

  find(h1: number, h2: number): number {
    const t = this.t;
    for (let i = h1 & this.mask; ; i = (i + 1) & this.mask) {
      const s = t[3 * i + 2]!;
      if (s === 0) return -1;
      if (t[3 * i] === h1 && t[3 * i + 1] === h2) return s - 1;
    }
  }

  insert(h1: number, h2: number, slot: number): void {
    if (2 * (this.n + 1) > this.mask + 1) this.resize();
    this.put(h1, h2, slot + 1);
    this.n++;
  }

  remove(h1: number, h2: number): void {
    const t = this.t;
    const mask = this.mask;
    let i = h1 & mask;
    while (!(t[3 * i] === h1 && t[3 * i + 1] === h2)) {
      if (t[3 * i + 2] === 0) return;
      i = (i + 1) & mask;
    }
    // Backward shift: pull later entries of the same probe run into the hole.
    for (let j = (i + 1) & mask; t[3 * j + 2] !== 0; j = (j + 1) & mask) {
      const home = t[3 * j]! & mask;
      // The entry at j may move to i when its home is not cyclically within (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      t[3 * i] = t[3 * j]!;
      t[3 * i + 1] = t[3 * j + 1]!;
      t[3 * i + 2] = t[3 * j + 2]!;
      i = j;
    }
    t[3 * i] = t[3 * i + 1] = t[3 * i + 2] = 0;
    this.n--;
  }

  private put(h1: number, h2: number, value: number): void {
    let i = h1 & this.mask;
    while (this.t[3 * i + 2] !== 0) i = (i + 1) & this.mask;
    this.t[3 * i] = h1;
    this.t[3 * i + 1] = h2;
    this.t[3 * i + 2] = value;
  }

  private resize(): void {
    const old = this.t;
    this.t = new Int32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    for (let i = 0; i < old.length; i += 3) if (old[i + 2] !== 0) this.put(old[i]!, old[i + 1]!, old[i + 2]!);
  }
}

function grow(a: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}

/** The process's hash key: random at start, never stored (the memory is rebuilt from the tables at start). */
const KEY = new Int32Array(randomBytes(8).buffer.slice(0, 8));
/** The last hash: `out[0]`, `out[1]`. */
export const out = new Int32Array(2);
const K0 = KEY[0]!;
const K1 = KEY[1]!;

/**
 * HalfSipHash-2-4 with a 64-bit output (into `out`), over the string's UTF-16 code units two
 * per word, the length in code units in the last word: a keyed hash whose collisions cannot
 * be found without the key. The state is four local variables and the rounds are written
 * out (SipRound twice per word, four times per half of the output), so that it stays in
 * registers: kept in module variables, every step was a load and a store.
 */
export function halfSipHash(s: string): void {
  let v0 = K0;
  let v1 = K1 ^ 0xee;
  let v2 = 0x6c796765 ^ K0;
  let v3 = 0x74656462 ^ K1;
  const len = s.length;
  const full = len & ~1;
  // The last word (i === full): an odd code unit, if any, and the length.
  for (let i = 0; i <= full; i += 2) {
    const m = i < full ? s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16) : (len & 1 ? s.charCodeAt(len - 1) : 0) | (len << 16);
    v3 ^= m;
    for (let r = 0; r < 2; r++) {
      v0 = (v0 + v1) | 0;
      v1 = (v1 << 5) | (v1 >>> 27);
      v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24);
      v3 ^= v2;
      v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25);
      v3 ^= v0;
      v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19);
      v1 ^= v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    v0 ^= m;
  }
  // Finalisation: four rounds for each 32-bit half of the output.
  v2 ^= 0xee;
  for (let half = 0; half < 2; half++) {
    for (let r = 0; r < 4; r++) {
      v0 = (v0 + v1) | 0;
      v1 = (v1 << 5) | (v1 >>> 27);
      v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24);
      v3 ^= v2;
      v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25);
      v3 ^= v0;
      v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19);
      v1 ^= v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    out[half] = v1 ^ v3;
    v1 ^= 0xdd;
  }
}
