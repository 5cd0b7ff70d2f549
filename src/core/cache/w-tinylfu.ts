/**
 * WTinyLfuCache: a size-bounded in-process (L1) cache with TTL whose eviction is
 * W-TinyLFU, the policy of Caffeine. Pure: no I/O, no clock (every call takes `nowMs`), no
 * ambient randomness (the admission jitter takes an injected `random`).
 *
 * Implementation notes (why it is shaped like this; see docs/decisions/0007-w-tinylfu.md)
 * - Policy (Einziger, Eytan, Friedman & Manes, "Adaptive Software Cache Management",
 *   Middleware 2018, and TinyLFU, ACM ToS 2017, §4 "W-TinyLFU"): new entries enter a small
 *   LRU *window* (1% of the bound); an entry pushed out of the window is a *candidate* for the
 *   *main* area, a segmented LRU (SLRU: 20% *probation*, 80% *protected*). When the cache is
 *   over its bound the candidate is compared with the main area's *victim* (the probation
 *   LRU) by the frequency sketch: the candidate enters only if it has been seen more often.
 *   One-hit wonders and scans therefore die in the window instead of flushing the main area,
 *   while the window still gives new, bursty keys a chance (recency), which plain TinyLFU
 *   in front of an LRU lacks.
 * - A probation hit promotes to protected; protected overflow demotes its LRU back to
 *   probation (SLRU, Karedla, Love & Wherry, IEEE Computer 1994).
 * - Hash-flooding defence, as Caffeine's design describes it: an attacker who can make a
 *   victim look hot (colliding counters) would otherwise freeze the main area, so a candidate
 *   that is merely "warm" (estimate ≥ 6 of 15) and lost the comparison is still admitted with
 *   probability 1/128. `random` is injected; the default is a fixed-seed xorshift so runs are
 *   reproducible.
 * - Not done (Caffeine has them): hill-climbing adaptation of the window size (Middleware
 *   2018 §3), read/write buffers for concurrency (Node runs this on one thread), weights.
 * - Storage is slot based, like lru-cache: a Map from key to slot index and parallel typed
 *   arrays for the doubly linked lists, so a hit allocates nothing. Each queue is a circular
 *   list through a sentinel slot; the LRU end is `next[sentinel]`, the MRU end `prev[sentinel]`.
 * - TTL: each entry may carry an absolute expiry. Expired entries are never returned (checked
 *   on read) and are freed eagerly by a coarse timer wheel (entries bucketed by
 *   `floor(expiresAt / timerResolutionMs)`); buckets wholly in the past are swept on each write
 *   and on `cleanUp(nowMs)`, so dead entries do not take room from live ones for long. This
 *   is the idea of Caffeine's hierarchical timer wheel (Varghese & Lauck, "Hashed and
 *   hierarchical timing wheels", SOSP 1987) with one level.
 * - Pinning (hot keys, issue 7): a pinned entry leaves the eviction queues, so no size
 *   eviction touches it, and does not count against `maxEntries` (up to `maxPinned` of them).
 *   It still expires by TTL: a pinned hot key must still be refreshed.
 *
 * `undefined` is not a storable value (`get` returns it for a miss); store a sentinel for a
 * negative result.
 */
import { FrequencySketch } from './frequency-sketch.js';
import { hashKey, type CacheKey } from './hash.js';

const FREE = 0;
const WINDOW = 1;
const PROBATION = 2;
const PROTECTED = 3;
const PINNED = 4;
const QUEUE_NAMES = ['free', 'window', 'probation', 'protected', 'pinned'] as const;
export type CacheQueue = Exclude<(typeof QUEUE_NAMES)[number], 'free'>;

/** Estimate from which a losing candidate may still be admitted at random (hash flooding). */
const WARM_FREQUENCY = 6;
const JITTER_ONE_IN = 128;
const NO_SLOT = -1;

export interface WTinyLfuOptions<K extends CacheKey> {
  /** Upper bound on the number of (unpinned) entries. */
  maxEntries: number;
  /** Share of `maxEntries` for the admission window; default 0.01 (W-TinyLFU(1%)). */
  windowFraction?: number;
  /** Share of the main area that is protected; default 0.8 (SLRU 20/80). */
  protectedFraction?: number;
  /** How many entries may be pinned on top of `maxEntries`; default 0. */
  maxPinned?: number;
  /** Bucket width of the expiry timer wheel; default 1000 ms. */
  timerResolutionMs?: number;
  /** 32-bit hash of a key for the frequency sketch; default FNV-1a / fmix32 (hash.ts). */
  hash?: (key: K) => number;
  /** Frequency-sketch counters per entry (memory vs accuracy); default 16 (frequency-sketch.ts). */
  sketchCountersPerEntry?: number;
  /** Uniform in [0, 1) for the admission jitter; default a fixed-seed xorshift32. */
  random?: () => number;
}

/** Why an entry left the cache (a closed enum: every removal is counted under one). */
export const RemovalCause = {
  Size: 'size',
  Expired: 'expired',
  Explicit: 'explicit',
} as const;
export type RemovalCause = (typeof RemovalCause)[keyof typeof RemovalCause];

const CAUSE_INDEX: Record<RemovalCause, number> = { size: 0, expired: 1, explicit: 2 };
const SIZE = 0;
const EXPIRED = 1;
const EXPLICIT = 2;

export interface WTinyLfuStats {
  hits: number;
  misses: number;
  /** Removals by cause. `size` counts victims and rejected candidates alike. */
  removals: Record<RemovalCause, number>;
  /** Candidates that won (or were jittered into) the main area when it was full. */
  admitted: number;
  /** Candidates evicted because the victim was at least as frequent. */
  rejected: number;
  sketchResets: number;
}

/** A deterministic xorshift32 (Marsaglia 2003) in [0, 1). */
export function xorshift32(seed = 0x2545f491): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

// Per-slot metadata is interleaved in one Int32Array, STRIDE ints per slot, so that an
// access touches one cache line for the links, hash and queue of a slot instead of one line
// in each of four arrays (measured: the cache is memory-bound, see bench/README.md `cache`).
const STRIDE = 4;
const NEXT = 0;
const PREV = 1;
const HASH = 2;
const QUEUE = 3;

export class WTinyLfuCache<K extends CacheKey, V> {
  readonly maxEntries: number;
  readonly maxWindow: number;
  readonly maxProtected: number;
  readonly maxPinned: number;

  private readonly index = new Map<K, number>();
  private readonly keys: (K | undefined)[];
  private readonly vals: (V | undefined)[];
  private readonly meta: Int32Array; // [next, prev, hash, queue] per slot and per sentinel
  private readonly expires: Float64Array; // 0 = never
  private timed = 0; // entries with an expiry; 0 lets reads skip the expiry check
  private readonly timerNext: Int32Array;
  private readonly timerPrev: Int32Array;
  private readonly buckets = new Map<number, number>(); // bucket → first slot
  private sweptBelow = 0; // every bucket < this has been swept
  private readonly resolutionMs: number;
  private readonly free: Int32Array;
  private freeTop: number;
  private readonly counts = new Int32Array(5);
  private readonly sentinelBase: number;
  private readonly sketch: FrequencySketch;
  private readonly hash: (key: K) => number;
  private readonly random: () => number;
  // The hash computed by the last missing `get`, reused by the `set` that usually follows it.
  private lastMissKey: K | undefined = undefined;
  private lastMissHash = 0;
  // Counters as plain numeric fields (not a nested object keyed by cause): they are bumped
  // on every access.
  private hitCount = 0;
  private missCount = 0;
  private admittedCount = 0;
  private rejectedCount = 0;
  private readonly removedBy = new Float64Array(3); // indexed by CAUSE_INDEX

  constructor(opts: WTinyLfuOptions<K>) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${opts.maxEntries}`);
    }
    const max = opts.maxEntries;
    this.maxEntries = max;
    const wf = opts.windowFraction ?? 0.01;
    const pf = opts.protectedFraction ?? 0.8;
    if (!(wf > 0 && wf < 1) || !(pf >= 0 && pf < 1)) {
      throw new RangeError('windowFraction must be in (0, 1) and protectedFraction in [0, 1)');
    }
    this.maxWindow = Math.max(1, Math.round(max * wf));
    this.maxProtected = Math.floor(Math.max(0, max - this.maxWindow) * pf);
    this.maxPinned = Math.max(0, Math.floor(opts.maxPinned ?? 0));
    this.resolutionMs = Math.max(1, opts.timerResolutionMs ?? 1000);
    // One spare slot: a new entry is linked first and the overflow evicted right after.
    const slots = max + 1 + this.maxPinned;
    this.sentinelBase = slots - 1; // sentinel of queue q is slot sentinelBase + q (q = 1..4)
    this.keys = new Array<K | undefined>(slots).fill(undefined);
    this.vals = new Array<V | undefined>(slots).fill(undefined);
    this.meta = new Int32Array((slots + 4) * STRIDE);
    for (let q = WINDOW; q <= PINNED; q++) {
      const s = this.sentinelBase + q;
      this.meta[s * STRIDE + NEXT] = s;
      this.meta[s * STRIDE + PREV] = s;
    }
    this.expires = new Float64Array(slots);
    this.timerNext = new Int32Array(slots).fill(NO_SLOT);
    this.timerPrev = new Int32Array(slots).fill(NO_SLOT);
    this.free = new Int32Array(slots);
    for (let i = 0; i < slots; i++) this.free[i] = slots - 1 - i;
    this.freeTop = slots;
    this.sketch = new FrequencySketch(max, { countersPerEntry: opts.sketchCountersPerEntry });
    this.hash = opts.hash ?? hashKey;
    this.random = opts.random ?? xorshift32();
  }

  /** Entries held now (pinned included; expired ones not yet swept included). */
  get size(): number {
    return this.index.size;
  }

  stats(): WTinyLfuStats {
    const r = this.removedBy;
    return {
      hits: this.hitCount,
      misses: this.missCount,
      removals: {
        size: r[CAUSE_INDEX.size]!,
        expired: r[CAUSE_INDEX.expired]!,
        explicit: r[CAUSE_INDEX.explicit]!,
      },
      admitted: this.admittedCount,
      rejected: this.rejectedCount,
      sketchResets: this.sketch.resets,
    };
  }

  /** Which segment holds the key (for tests and debugging); undefined when absent. */
  queueOf(key: K): CacheQueue | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    return QUEUE_NAMES[this.meta[slot * STRIDE + QUEUE]!] as CacheQueue;
  }

  /** The sketch's frequency estimate for a key, 0..15. */
  frequency(key: K): number {
    return this.sketch.frequency(this.hash(key));
  }

  /**
   * The value, or undefined on a miss or an expired entry. Every call counts as an access in
   * the frequency sketch, hit or miss: TinyLFU estimates the popularity of the whole request
   * stream, not only of what is cached.
   */
  get(key: K, nowMs: number): V | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) {
      const h = this.hash(key) | 0;
      this.lastMissKey = key;
      this.lastMissHash = h;
      this.sketch.increment(h);
      this.missCount++;
      return undefined;
    }
    this.sketch.increment(this.meta[slot * STRIDE + HASH]!);
    if (this.timed > 0) {
      const exp = this.expires[slot]!;
      if (exp !== 0 && exp <= nowMs) {
        this.removeSlot(slot, EXPIRED);
        this.missCount++;
        return undefined;
      }
    }
    this.hitCount++;
    this.touch(slot);
    return this.vals[slot];
  }

  /** The value if present and fresh, without counting an access or reordering anything. */
  peek(key: K, nowMs: number): V | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    return this.expired(slot, nowMs) ? undefined : this.vals[slot];
  }

  /**
   * Stores a value; `ttlMs` (default: no expiry) counts from `nowMs`. A `ttlMs` ≤ 0 removes
   * the key instead. Writing an existing key replaces its value and expiry and counts as an
   * access. May evict one entry (by W-TinyLFU) to stay within `maxEntries`.
   */
  set(key: K, value: V, nowMs: number, ttlMs: number = Infinity): void {
    if (ttlMs <= 0) {
      this.delete(key);
      return;
    }
    if (this.timed > 0) this.expireUntil(nowMs);
    const exp = ttlMs === Infinity ? 0 : nowMs + ttlMs;
    const existing = this.index.get(key);
    if (existing !== undefined) {
      this.vals[existing] = value;
      this.setExpiry(existing, exp);
      this.sketch.increment(this.meta[existing * STRIDE + HASH]!);
      this.touch(existing);
      return;
    }
    const h = key === this.lastMissKey ? this.lastMissHash : this.hash(key) | 0;
    this.lastMissKey = undefined;
    this.sketch.increment(h);
    const slot = this.free[--this.freeTop]!;
    this.keys[slot] = key;
    this.vals[slot] = value;
    this.meta[slot * STRIDE + HASH] = h;
    this.index.set(key, slot);
    this.link(slot, WINDOW);
    if (exp !== 0) this.setExpiry(slot, exp);
    this.rebalance(nowMs);
  }

  /** Removes the key; true when it was present. */
  delete(key: K): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    this.removeSlot(slot, EXPLICIT);
    return true;
  }

  /** Removes every entry (the frequency history is kept). */
  clear(): void {
    for (const slot of [...this.index.values()]) this.removeSlot(slot, EXPLICIT);
  }

  /**
   * Pins a present key: it leaves the eviction queues and is never evicted for size (it still
   * expires). False when the key is absent or the pinned area is full.
   */
  pin(key: K): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    if (this.meta[slot * STRIDE + QUEUE] === PINNED) return true;
    if (this.counts[PINNED]! >= this.maxPinned) return false;
    this.unlink(slot);
    this.link(slot, PINNED);
    return true;
  }

  /** Returns a pinned key to the main area (probation), evicting if that overflows. */
  unpin(key: K, nowMs: number): boolean {
    const slot = this.index.get(key);
    if (slot === undefined || this.meta[slot * STRIDE + QUEUE] !== PINNED) return false;
    this.unlink(slot);
    this.link(slot, PROBATION);
    this.rebalance(nowMs);
    return true;
  }

  /** Frees every entry whose expiry bucket is wholly in the past; returns how many. */
  cleanUp(nowMs: number): number {
    const before = this.removedBy[EXPIRED]!;
    this.expireUntil(nowMs);
    return this.removedBy[EXPIRED]! - before;
  }

  // ---- queues ------------------------------------------------------------------------------

  private link(slot: number, q: number): void {
    const m = this.meta;
    const s = (this.sentinelBase + q) * STRIDE;
    const tail = m[s + PREV]!;
    const at = slot * STRIDE;
    m[tail * STRIDE + NEXT] = slot;
    m[at + PREV] = tail;
    m[at + NEXT] = this.sentinelBase + q;
    m[s + PREV] = slot;
    m[at + QUEUE] = q;
    this.counts[q]!++;
  }

  private unlink(slot: number): void {
    const m = this.meta;
    const at = slot * STRIDE;
    const p = m[at + PREV]!;
    const n = m[at + NEXT]!;
    m[p * STRIDE + NEXT] = n;
    m[n * STRIDE + PREV] = p;
    this.counts[m[at + QUEUE]!]!--;
    m[at + QUEUE] = FREE;
  }

  private lru(q: number): number {
    const s = this.sentinelBase + q;
    const first = this.meta[s * STRIDE + NEXT]!;
    return first === s ? NO_SLOT : first;
  }

  /** An access: move to the MRU end, promoting probation → protected (SLRU). */
  private touch(slot: number): void {
    const m = this.meta;
    const q = m[slot * STRIDE + QUEUE]!;
    if (q === PINNED) return;
    if (q !== PROBATION) {
      this.moveToMru(slot, q);
      return;
    }
    this.unlink(slot);
    this.link(slot, PROTECTED);
    if (this.counts[PROTECTED]! > this.maxProtected) {
      const demoted = this.lru(PROTECTED);
      this.unlink(demoted);
      this.link(demoted, PROBATION);
    }
  }

  /** Moves a slot to the MRU end of its own queue (no count or queue-id changes). */
  private moveToMru(slot: number, q: number): void {
    const m = this.meta;
    const sentinel = this.sentinelBase + q;
    const s = sentinel * STRIDE;
    const tail = m[s + PREV]!;
    if (tail === slot) return; // already the most recent: the common case for a hot key
    const at = slot * STRIDE;
    const p = m[at + PREV]!;
    const n = m[at + NEXT]!;
    m[p * STRIDE + NEXT] = n;
    m[n * STRIDE + PREV] = p;
    m[tail * STRIDE + NEXT] = slot;
    m[at + PREV] = tail;
    m[at + NEXT] = sentinel;
    m[s + PREV] = slot;
  }

  private unpinnedSize(): number {
    return this.counts[WINDOW]! + this.counts[PROBATION]! + this.counts[PROTECTED]!;
  }

  /** Moves window overflow to probation and evicts until within `maxEntries`. */
  private rebalance(nowMs: number): void {
    let candidate = NO_SLOT;
    if (this.counts[WINDOW]! > this.maxWindow) {
      candidate = this.lru(WINDOW);
      this.unlink(candidate);
      this.link(candidate, PROBATION);
    }
    while (this.unpinnedSize() > this.maxEntries) {
      let victim = this.lru(PROBATION);
      if (victim === NO_SLOT) victim = this.lru(PROTECTED);
      if (victim === NO_SLOT) victim = this.lru(WINDOW);
      if (candidate === NO_SLOT || candidate === victim) {
        this.removeSlot(victim, SIZE);
      } else if (this.expired(victim, nowMs)) {
        this.removeSlot(victim, EXPIRED);
      } else if (this.expired(candidate, nowMs)) {
        this.removeSlot(candidate, EXPIRED);
      } else if (this.admit(candidate, victim)) {
        this.admittedCount++;
        this.removeSlot(victim, SIZE);
      } else {
        this.rejectedCount++;
        this.removeSlot(candidate, SIZE);
      }
      candidate = NO_SLOT;
    }
  }

  /** TinyLFU admission: the candidate must be more frequent than the victim. */
  private admit(candidate: number, victim: number): boolean {
    const cf = this.sketch.frequency(this.meta[candidate * STRIDE + HASH]!);
    const vf = this.sketch.frequency(this.meta[victim * STRIDE + HASH]!);
    if (cf > vf) return true;
    if (cf < WARM_FREQUENCY) return false;
    return Math.floor(this.random() * JITTER_ONE_IN) === 0;
  }

  private expired(slot: number, nowMs: number): boolean {
    if (this.timed === 0) return false;
    const exp = this.expires[slot]!;
    return exp !== 0 && exp <= nowMs;
  }

  private removeSlot(slot: number, cause: number): void {
    this.unlink(slot);
    if (this.timed > 0) this.setExpiry(slot, 0);
    this.index.delete(this.keys[slot]!);
    this.keys[slot] = undefined;
    this.vals[slot] = undefined;
    this.free[this.freeTop++] = slot;
    this.removedBy[cause]!++;
  }

  // ---- expiry timer wheel -----------------------------------------------------------------

  private setExpiry(slot: number, exp: number): void {
    const old = this.expires[slot]!;
    if (old !== 0) {
      this.unbucket(slot, this.bucketOf(old));
      this.timed--;
    }
    this.expires[slot] = exp;
    if (exp === 0) return;
    this.timed++;
    const b = this.bucketOf(exp);
    const head = this.buckets.get(b);
    this.timerPrev[slot] = NO_SLOT;
    this.timerNext[slot] = head ?? NO_SLOT;
    if (head !== undefined) this.timerPrev[head] = slot;
    this.buckets.set(b, slot);
  }

  /** The bucket of an expiry; never below the swept mark, so every bucket is swept in time. */
  private bucketOf(exp: number): number {
    return Math.max(Math.floor(exp / this.resolutionMs), this.sweptBelow);
  }

  private unbucket(slot: number, b: number): void {
    const p = this.timerPrev[slot]!;
    const n = this.timerNext[slot]!;
    if (p !== NO_SLOT) this.timerNext[p] = n;
    else if (n !== NO_SLOT) this.buckets.set(b, n);
    else this.buckets.delete(b);
    if (n !== NO_SLOT) this.timerPrev[n] = p;
    this.timerPrev[slot] = NO_SLOT;
    this.timerNext[slot] = NO_SLOT;
  }

  private expireUntil(nowMs: number): void {
    // Buckets b with (b + 1) · resolution ≤ now hold only expired entries.
    const limit = Math.floor(nowMs / this.resolutionMs);
    if (limit <= this.sweptBelow) return;
    if (this.buckets.size > 0) {
      if (limit - this.sweptBelow <= this.buckets.size) {
        for (let b = this.sweptBelow; b < limit; b++) this.drainBucket(b);
      } else {
        for (const b of [...this.buckets.keys()]) if (b < limit) this.drainBucket(b);
      }
    }
    this.sweptBelow = limit;
  }

  private drainBucket(b: number): void {
    let slot = this.buckets.get(b);
    while (slot !== undefined && slot !== NO_SLOT) {
      const n = this.timerNext[slot]!;
      this.removeSlot(slot, EXPIRED); // also unlinks it from this bucket
      slot = n;
    }
  }
}
