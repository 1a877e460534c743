import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * geoip-lite's data files (MaxMind GeoLite2, CC BY-SA 4.0) read where they lie, instead of
 * loaded whole into the heap as geoip-lite does (~145 MB of buffers, which alone was half of
 * the server's memory target). Memory kept: the first address of every BLOCK-th range
 * (~100 KB for IPv4, ~80 KB for IPv6) and the last few thousand places decoded; a lookup
 * reads one block of ranges (a few KB) and one place record with pread(2), from the kernel's
 * page cache once the file is warm. The engine's address cache sits in front, so this runs
 * only for addresses it has not seen lately.
 *
 * The answers are geoip-lite's own (test/geodb.test.ts compares the two on random and edge
 * addresses): the same files, the same records, the same fields.
 */

/** Ranges per block: one index entry per block, one block read per lookup (4 KB for IPv4). */
const BLOCK = 128;
/** geoip-city.dat: start u32, end u32, place id u32, latitude i32 (1e-4°), longitude i32, accuracy radius u32. */
const V4_RECORD = 24;
/** geoip-city6.dat: start 16 bytes, end 16 bytes, place id u32, latitude, longitude, radius (only the upper 64 bits of an address are compared, as geoip-lite does). */
const V6_RECORD = 48;
/** geoip-city-names.dat: country 2, region 3, metro 4, eu 1, time zone 32, city 46 bytes. */
const PLACE_RECORD = 88;
/** No place for this range (geoip-lite's marker). */
const NO_PLACE = 0xffffffff;
/** Decoded places kept; the database has ~120,000. */
const PLACES_KEPT = 4096;

export interface GeoRecord {
  country: string;
  region: string;
  city: string;
  tz: string;
  lat: number;
  lon: number;
  radiusKm: number;
}

interface Place {
  country: string;
  region: string;
  city: string;
  tz: string;
}

/** One sorted file of address ranges, its block index in memory. */
class RangeFile {
  readonly fd: number;
  readonly records: number;
  /** Upper 32 bits of each block's first address (IPv4: the address). */
  private readonly hi: Uint32Array;
  /** IPv6: the next 32 bits. */
  private readonly lo: Uint32Array | null;
  private readonly block: Buffer;

  constructor(
    path: string,
    readonly recordSize: number,
  ) {
    this.fd = openSync(path, 'r');
    const size = fstatSync(this.fd).size;
    if (size === 0 || size % recordSize !== 0) throw new Error(`${path}: not a geoip-lite data file (size ${size})`);
    this.records = size / recordSize;
    const blocks = Math.ceil(this.records / BLOCK);
    this.hi = new Uint32Array(blocks);
    this.lo = recordSize === V6_RECORD ? new Uint32Array(blocks) : null;
    this.block = Buffer.allocUnsafe(BLOCK * recordSize);
    // One pass over the file in large reads, keeping each block's first address.
    const chunk = Buffer.allocUnsafe(BLOCK * recordSize * 256);
    for (let b = 0; b < blocks; b += 256) {
      const n = readSync(this.fd, chunk, 0, chunk.length, b * BLOCK * recordSize);
      for (let i = 0; i < 256 && (b + i) * BLOCK < this.records && i * BLOCK * recordSize < n; i++) {
        this.hi[b + i] = chunk.readUInt32BE(i * BLOCK * recordSize);
        if (this.lo) this.lo[b + i] = chunk.readUInt32BE(i * BLOCK * recordSize + 4);
      }
    }
  }

  /**
   * The record holding (hi, lo), read into the block buffer; returns its offset there, or -1.
   * For IPv4 `lo` is 0 and unused.
   */
  find(hi: number, lo: number): number {
    const v6 = this.lo !== null;
    // The last block whose first address is <= the address.
    let a = 0;
    let z = this.hi.length - 1;
    if (below(hi, lo, this.hi[0]!, v6 ? this.lo![0]! : 0)) return -1;
    while (a < z) {
      const m = (a + z + 1) >>> 1;
      if (below(hi, lo, this.hi[m]!, v6 ? this.lo![m]! : 0)) z = m - 1;
      else a = m;
    }
    const first = a * BLOCK;
    const count = Math.min(BLOCK, this.records - first);
    const size = this.recordSize;
    readSync(this.fd, this.block, 0, count * size, first * size);
    const buf = this.block;
    // The last record in the block whose start is <= the address.
    let i = 0;
    let j = count - 1;
    while (i < j) {
      const m = (i + j + 1) >>> 1;
      if (below(hi, lo, buf.readUInt32BE(m * size), v6 ? buf.readUInt32BE(m * size + 4) : 0)) j = m - 1;
      else i = m;
    }
    const at = i * size;
    // Within its range: end >= address (the end is at 4 for IPv4, at 16 for IPv6).
    const endHi = buf.readUInt32BE(at + (v6 ? 16 : 4));
    const endLo = v6 ? buf.readUInt32BE(at + 20) : 0;
    return below(endHi, endLo, hi, lo) ? -1 : at;
  }

  get buffer(): Buffer {
    return this.block;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** (aHi, aLo) < (bHi, bLo), unsigned. */
function below(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
  return aHi < bHi || (aHi === bHi && aLo < bLo);
}

/** geoip-lite's private IPv4 ranges, which it never places. */
function privateV4(n: number): boolean {
  return n >>> 24 === 10 || n >>> 20 === 0xac1 || n >>> 16 === 0xc0a8;
}

export class GeoDb {
  private readonly v4: RangeFile;
  private readonly v6: RangeFile;
  private readonly placesFd: number;
  private readonly placeBuf = Buffer.allocUnsafe(PLACE_RECORD);
  private readonly places = new Map<number, Place>();

  constructor(dir: string) {
    this.v4 = new RangeFile(join(dir, 'geoip-city.dat'), V4_RECORD);
    this.v6 = new RangeFile(join(dir, 'geoip-city6.dat'), V6_RECORD);
    this.placesFd = openSync(join(dir, 'geoip-city-names.dat'), 'r');
  }

  /** geoip-lite's own copy of the database. */
  static fromGeoipLite(): GeoDb {
    const pkg = createRequire(import.meta.url).resolve('geoip-lite/package.json');
    return new GeoDb(join(dirname(pkg), 'data'));
  }

  /** Where a textual address is, or null (unplaced, private, or not an address). */
  lookup(ip: string): GeoRecord | null {
    const v4 = parseV4(ip);
    if (v4 >= 0) return this.lookupV4(v4);
    const v6 = parseV6(ip);
    if (!v6) return null;
    // IPv4-mapped (::ffff:a.b.c.d) is looked up as IPv4, as geoip-lite does.
    if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) return this.lookupV4(v6[3]!);
    return this.read(this.v6, this.v6.find(v6[0]!, v6[1]!), 32);
  }

  private lookupV4(n: number): GeoRecord | null {
    if (privateV4(n)) return null;
    return this.read(this.v4, this.v4.find(n, 0), 8);
  }

  /** The record at `at` of the file's block buffer; its place id sits at `placeAt`. */
  private read(file: RangeFile, at: number, placeAt: number): GeoRecord | null {
    if (at < 0) return null;
    const buf = file.buffer;
    const id = buf.readUInt32BE(at + placeAt);
    if (id === NO_PLACE) return null; // geoip-lite answers without coordinates, which the engine treats as unplaced
    const place = this.place(id);
    return {
      country: place.country,
      region: place.region,
      city: place.city,
      tz: place.tz,
      lat: buf.readInt32BE(at + placeAt + 4) / 10000,
      lon: buf.readInt32BE(at + placeAt + 8) / 10000,
      radiusKm: buf.readUInt32BE(at + placeAt + 12),
    };
  }

  private place(id: number): Place {
    let p = this.places.get(id);
    if (p) return p;
    const b = this.placeBuf;
    const n = readSync(this.placesFd, b, 0, PLACE_RECORD, id * PLACE_RECORD);
    if (n !== PLACE_RECORD) throw new Error(`geoip-city-names.dat: no place ${id}`);
    p = { country: field(b, 0, 2), region: field(b, 2, 5), tz: field(b, 10, 42), city: field(b, 42, PLACE_RECORD) };
    if (this.places.size >= PLACES_KEPT) this.places.clear();
    this.places.set(id, p);
    return p;
  }

  close(): void {
    this.v4.close();
    this.v6.close();
    closeSync(this.placesFd);
  }
}

/** A NUL-padded UTF-8 field, up to its first NUL (as geoip-lite reads it). */
function field(b: Buffer, from: number, to: number): string {
  const nul = b.indexOf(0, from);
  return b.toString('utf8', from, nul >= 0 && nul < to ? nul : to);
}

/** Dotted-quad IPv4 as an unsigned integer, or -1. */
export function parseV4(s: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // no leading zeros (net.isIP refuses them too)
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return n * 256 + part;
}

/** An IPv6 address as four unsigned 32-bit words, or null (a zone or an embedded IPv4 tail is read too). */
export function parseV6(s: string): number[] | null {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.indexOf(':') < 0) return null;
  const groups: number[] = [];
  let tail: number[] = [];
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const read = (part: string, out: number[]): boolean => {
    if (part === '') return true;
    const items = part.split(':');
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!;
      if (k === items.length - 1 && item.includes('.')) {
        const v4 = parseV4(item);
        if (v4 < 0) return false;
        out.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return false;
      out.push(parseInt(item, 16));
    }
    return true;
  };
  if (!read(halves[0]!, groups)) return null;
  if (halves.length === 2) {
    if (!read(halves[1]!, tail)) return null;
    if (groups.length + tail.length > 7) return null;
    while (groups.length + tail.length < 8) groups.push(0);
  } else if (groups.length !== 8) return null;
  groups.push(...tail);
  tail = [];
  if (groups.length !== 8) return null;
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) words.push(((groups[i]! << 16) | groups[i + 1]!) >>> 0);
  return words;
}
