/**
 * FrequencySketch: an approximate, aging access-frequency counter (count-min sketch) for the
 * TinyLFU admission policy.
 *
 * Implementation notes
 * - Count-min sketch (Cormode & Muthukrishnan, "An improved data stream summary: the count-min
 *   sketch and its applications", J. Algorithms 2005): four rows of small counters; a key
 *   maps to one counter per row and its estimate is the minimum of those, so it never
 *   under-counts (except through the deliberate halving below).
 * - Counters saturate at 15, as in TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly
 *   Efficient Cache Admission Policy", ACM ToS 13(4), 2017, §3.3 "Small Counters"): admission
 *   only compares frequencies, and the reset bounds every count by the sample size anyway, so
 *   4 bits of range are enough. We store one counter per byte rather than packing nibbles:
 *   twice the memory of packed nibbles, for simpler, faster index arithmetic in JS.
 * - Aging ("reset", TinyLFU §3.3): after `sampleSize` increments every counter is halved, so
 *   the sketch forgets old popularity and follows shifts in the workload. The sample size is
 *   10 × the cache's entry bound, the ratio TinyLFU's evaluation and Caffeine's design use.
 * - Increments are conservative ("minimal increment", Estan & Varghese 2002, which TinyLFU
 *   §3.2 pairs with the reset): only the counters equal to the current minimum are raised,
 *   which lowers over-estimation from collisions at no extra memory.
 * - Layout: the counters are grouped in 64-byte blocks, one block per key, and each of the
 *   four "rows" is a 16-counter segment of that block. A key's four counters therefore sit in
 *   one CPU cache line (two if the buffer is not 64-byte aligned), so an access costs about
 *   one memory miss instead of four. This is the idea of
 *   Caffeine's current sketch ("block-based" count-min, described in its FrequencySketch
 *   design notes); the block is chosen by the low bits of the key's hash and the counter in
 *   each segment by 4 bits of a second, multiplicative hash.
 * - Size: `countersPerEntry` counters per cache entry (default 16, i.e. 16 bytes per entry,
 *   the counter budget Caffeine gives its sketch), rounded up to a power-of-two number of
 *   blocks. Fewer counters save memory but raise collisions, which inflate the estimates of
 *   rare keys and blunt admission (measured in bench/README.md, `cache`).
 * Pure: the caller passes the key's 32-bit hash (see hash.ts).
 */
const BLOCK = 64; // bytes (= counters) per block: one cache line
const SEGMENT = 16; // counters per row segment inside a block
const MAX_COUNT = 15;

export interface FrequencySketchOptions {
  /** Increments between two halvings; default 10 × expectedEntries. */
  sampleSize?: number;
  /** Counters per expected entry; default 16. */
  countersPerEntry?: number;
}

export class FrequencySketch {
  private readonly table: Uint8Array;
  private readonly blockMask: number;
  private readonly sampleSize: number;
  private additions = 0;
  /** How many times the counters were halved (for tests and stats). */
  resets = 0;

  /** `expectedEntries`: the cache's entry bound; sizes the table and the sample. */
  constructor(expectedEntries: number, opts: FrequencySketchOptions = {}) {
    const entries = Math.max(1, Math.floor(expectedEntries));
    const counters = entries * Math.max(4, opts.countersPerEntry ?? 16);
    let blocks = 1;
    while (blocks * BLOCK < counters) blocks *= 2;
    this.blockMask = blocks - 1;
    this.table = new Uint8Array(blocks * BLOCK);
    this.sampleSize = opts.sampleSize ?? 10 * entries;
  }

  // The block and the four offsets are computed inline in both methods below (no shared
  // helper writing fields): this is the hottest code of the cache, run on every access.
  // Offsets come from the high bits of a multiplicative rehash (golden-ratio constant), which
  // are independent of the low bits that chose the block.

  /** The key's estimated frequency, 0..15. */
  frequency(hash: number): number {
    const base = (hash & this.blockMask) * BLOCK;
    const h2 = Math.imul(hash, 0x9e3779b1) >>> 16;
    const t = this.table;
    const a = t[base + (h2 & 15)]!;
    const b = t[base + SEGMENT + ((h2 >>> 4) & 15)]!;
    const c = t[base + 2 * SEGMENT + ((h2 >>> 8) & 15)]!;
    const d = t[base + 3 * SEGMENT + ((h2 >>> 12) & 15)]!;
    const ab = a < b ? a : b;
    const cd = c < d ? c : d;
    return ab < cd ? ab : cd;
  }

  /** Records one access of the key. */
  increment(hash: number): void {
    const base = (hash & this.blockMask) * BLOCK;
    const h2 = Math.imul(hash, 0x9e3779b1) >>> 16;
    const t = this.table;
    const ia = base + (h2 & 15);
    const ib = base + SEGMENT + ((h2 >>> 4) & 15);
    const ic = base + 2 * SEGMENT + ((h2 >>> 8) & 15);
    const id = base + 3 * SEGMENT + ((h2 >>> 12) & 15);
    const a = t[ia]!;
    const b = t[ib]!;
    const c = t[ic]!;
    const d = t[id]!;
    const ab = a < b ? a : b;
    const cd = c < d ? c : d;
    const min = ab < cd ? ab : cd;
    if (min >= MAX_COUNT) return; // saturated: not an addition, so it does not age the sample
    const up = min + 1;
    if (a === min) t[ia] = up;
    if (b === min) t[ib] = up;
    if (c === min) t[ic] = up;
    if (d === min) t[id] = up;
    if (++this.additions >= this.sampleSize) this.reset();
  }

  /** Halves every counter (TinyLFU's reset). */
  reset(): void {
    const t = this.table;
    for (let i = 0; i < t.length; i++) t[i] = t[i]! >>> 1;
    this.additions = this.additions >>> 1;
    this.resets++;
  }

  /** Bytes held by the counters. */
  get byteLength(): number {
    return this.table.length;
  }
}
