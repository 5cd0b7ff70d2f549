import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WTinyLfuCache, xorshift32 } from '../../src/core/cache/w-tinylfu.js';

/** Seeded Zipf(α) sampler over ranks 0..n-1 by inverse CDF (test-only, small n). */
function zipf(n: number, alpha: number, seed: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.pow(i + 1, alpha);
    cdf[i] = sum;
  }
  const rnd = xorshift32(seed);
  return () => {
    const u = rnd() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** The textbook LRU on a Map (insertion order = recency), the baseline policy. */
class MapLru {
  private readonly m = new Map<number, true>();
  constructor(private readonly max: number) {}
  access(k: number): boolean {
    if (this.m.delete(k)) {
      this.m.set(k, true);
      return true;
    }
    this.m.set(k, true);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value!);
    return false;
  }
}

function hitRate(cache: WTinyLfuCache<number, number>, trace: number[]): number {
  let hits = 0;
  for (const k of trace) {
    if (cache.get(k, 0) !== undefined) hits++;
    else cache.set(k, k, 0);
  }
  return hits / trace.length;
}

describe('WTinyLfuCache basics', () => {
  it('returns what was set, replaces on set, forgets on delete', () => {
    const c = new WTinyLfuCache<string, number>({ maxEntries: 10 });
    expect(c.get('a', 0)).toBeUndefined();
    c.set('a', 1, 0);
    expect(c.get('a', 0)).toBe(1);
    c.set('a', 2, 0);
    expect(c.get('a', 0)).toBe(2);
    expect(c.delete('a')).toBe(true);
    expect(c.delete('a')).toBe(false);
    expect(c.get('a', 0)).toBeUndefined();
    expect(c.stats()).toMatchObject({ hits: 2, misses: 2, removals: { explicit: 1 } });
  });

  it('refuses a non-positive or fractional bound', () => {
    expect(() => new WTinyLfuCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new WTinyLfuCache({ maxEntries: 2.5 })).toThrow(RangeError);
  });

  it('moves entries window → probation → protected, and demotes protected overflow', () => {
    // 100 entries: window 1; protected 2% of the main 99 = 1 entry, so a second promotion
    // overflows it. Few keys, so nothing is evicted for size here.
    const c = new WTinyLfuCache<number, number>({ maxEntries: 100, protectedFraction: 0.02 });
    c.set(1, 1, 0);
    expect(c.queueOf(1)).toBe('window');
    c.set(2, 2, 0); // the window holds 1 entry: key 1 moves to probation
    expect(c.queueOf(1)).toBe('probation');
    expect(c.queueOf(2)).toBe('window');
    c.get(1, 0);
    expect(c.queueOf(1)).toBe('protected');
    c.get(2, 0);
    expect(c.queueOf(2)).toBe('window'); // a window hit stays in the window
    c.set(3, 3, 0); // key 2 → probation
    c.get(2, 0); // key 2 → protected, which now holds 2 > 1: its LRU (key 1) is demoted
    expect(c.queueOf(2)).toBe('protected');
    expect(c.queueOf(1)).toBe('probation');
  });

  it('keeps frequent keys through a scan of one-hit keys far larger than the cache', () => {
    const c = new WTinyLfuCache<number, number>({ maxEntries: 100 });
    const lru = new MapLru(100);
    const hot = Array.from({ length: 50 }, (_, i) => i);
    for (let round = 0; round < 5; round++) {
      for (const k of hot) {
        if (c.get(k, 0) === undefined) c.set(k, k, 0);
        lru.access(k);
      }
    }
    // A scan of 10,000 keys seen once, with the hot keys still read between every 100 of them.
    let hotReads = 0;
    let oursHit = 0;
    let lruHit = 0;
    for (let k = 1_000_000; k < 1_010_000; k++) {
      if (c.get(k, 0) === undefined) c.set(k, k, 0);
      lru.access(k);
      if (k % 100 === 99) {
        for (const h of hot) {
          hotReads++;
          if (c.get(h, 0) !== undefined) oursHit++;
          else c.set(h, h, 0);
          if (lru.access(h)) lruHit++;
        }
      }
    }
    expect(hot.filter((k) => c.peek(k, 0) !== undefined).length).toBe(50);
    expect(oursHit / hotReads).toBeGreaterThan(0.99);
    // Most scan keys died as rejected candidates instead of displacing residents.
    expect(c.stats().rejected).toBeGreaterThan(5_000);
    // The LRU: 100 scan keys + 50 hot keys between two reads of a hot key exceed its 100 slots.
    expect(lruHit).toBe(0);
  });

  it('beats LRU on a skewed (Zipf 0.9) trace', () => {
    const next = zipf(20_000, 0.9, 7);
    const trace = Array.from({ length: 200_000 }, next);
    const ours = hitRate(new WTinyLfuCache({ maxEntries: 200 }), trace);
    const lru = new MapLru(200);
    const lruRate = trace.filter((k) => lru.access(k)).length / trace.length;
    expect(ours).toBeGreaterThan(lruRate + 0.03);
  });

  it('admits a warm candidate that lost the comparison only by the injected jitter', () => {
    // 50 entries: the sketch halves after 500 additions; the set-up stays below that.
    // Each resident counts 9 (the first miss and its set, then 7 hits).
    const run = (random: () => number) => {
      const c = new WTinyLfuCache<number, number>({ maxEntries: 50, random });
      for (let k = 0; k < 50; k++)
        for (let i = 0; i < 8; i++) if (c.get(k, 0) === undefined) c.set(k, k, 0);
      for (let i = 0; i < 6; i++) c.get(99, 0);
      c.set(99, 99, 0); // key 99 is warm (7) but colder than every resident (9)
      expect(c.frequency(99)).toBe(7);
      expect(c.frequency(0)).toBe(9);
      c.set(100, 100, 0); // pushes 99 out of the window as the candidate
      return c;
    };
    const lucky = run(() => 0);
    expect(lucky.peek(99, 0)).toBe(99);
    expect(lucky.stats().admitted).toBeGreaterThanOrEqual(1);
    const unlucky = run(() => 0.5);
    expect(unlucky.peek(99, 0)).toBeUndefined();
    expect(unlucky.stats().admitted).toBe(0);
  });

  it('never admits a cold candidate by jitter, however lucky', () => {
    const c = new WTinyLfuCache<number, number>({ maxEntries: 50, random: () => 0 });
    for (let k = 0; k < 50; k++)
      for (let i = 0; i < 8; i++) if (c.get(k, 0) === undefined) c.set(k, k, 0);
    // A key no resident collides with in the sketch, so its estimate is its true count.
    let cold = 1_000;
    while (c.frequency(cold) !== 0) cold++;
    c.set(cold, cold, 0); // seen once
    expect(c.frequency(cold)).toBe(1);
    c.set(-1, -1, 0); // pushes it out of the window
    expect(c.peek(cold, 0)).toBeUndefined();
  });
});

describe('WTinyLfuCache TTL', () => {
  it('never returns an expired entry and treats it as a miss', () => {
    const c = new WTinyLfuCache<string, string>({ maxEntries: 10 });
    c.set('k', 'v', 1_000, 500);
    expect(c.get('k', 1_499)).toBe('v');
    expect(c.peek('k', 1_500)).toBeUndefined();
    expect(c.get('k', 1_500)).toBeUndefined();
    expect(c.size).toBe(0);
    expect(c.stats().removals.expired).toBe(1);
  });

  it('a TTL of zero or less removes the key', () => {
    const c = new WTinyLfuCache<string, string>({ maxEntries: 10 });
    c.set('k', 'v', 0);
    c.set('k', 'w', 0, 0);
    expect(c.get('k', 0)).toBeUndefined();
  });

  it('rewriting a key moves its expiry', () => {
    const c = new WTinyLfuCache<string, string>({ maxEntries: 10, timerResolutionMs: 100 });
    c.set('k', 'v', 0, 1_000);
    c.set('k', 'w', 900, 1_000);
    expect(c.cleanUp(1_500)).toBe(0);
    expect(c.get('k', 1_500)).toBe('w');
    expect(c.cleanUp(2_000)).toBe(1);
  });

  it('frees expired entries eagerly (timer wheel) so they stop taking room', () => {
    const c = new WTinyLfuCache<number, number>({ maxEntries: 1_000, timerResolutionMs: 100 });
    for (let k = 0; k < 1_000; k++) c.set(k, k, 0, 1_000 + k);
    expect(c.size).toBe(1_000);
    expect(c.cleanUp(1_000)).toBe(0); // nothing has expired yet
    // At 1,600 ms the buckets below 1,600 are wholly expired: keys 0..499 (expiry < 1,500).
    const freed = c.cleanUp(1_600);
    expect(freed).toBeGreaterThanOrEqual(500);
    expect(freed).toBeLessThanOrEqual(600);
    // A later write sweeps too; after everything expired the cache is empty.
    c.set(5_000, 1, 10_000, 1_000);
    expect(c.size).toBe(1);
  });

  it('expires a pinned entry too, but never evicts it for size', () => {
    const c = new WTinyLfuCache<number, string>({ maxEntries: 5, maxPinned: 1 });
    c.set(1, 'hot', 0, 10_000);
    expect(c.pin(1)).toBe(true);
    expect(c.pin(1)).toBe(true);
    c.set(2, 'x', 0);
    expect(c.pin(2)).toBe(false); // pinned area full
    for (let k = 100; k < 1_000; k++) c.set(k, 'cold', 0);
    expect(c.get(1, 5_000)).toBe('hot');
    expect(c.queueOf(1)).toBe('pinned');
    expect(c.size).toBe(6); // 5 unpinned + 1 pinned
    expect(c.get(1, 10_000)).toBeUndefined();
  });

  it('unpin returns the key to the main area and keeps the bound', () => {
    const c = new WTinyLfuCache<number, string>({ maxEntries: 5, maxPinned: 1 });
    for (let k = 0; k < 6; k++) c.set(k, 'v', 0);
    c.set(9, 'p', 0);
    expect(c.pin(9)).toBe(true);
    expect(c.unpin(9, 0)).toBe(true);
    expect(c.unpin(9, 0)).toBe(false);
    expect(c.size).toBe(5);
  });
});

describe('WTinyLfuCache against a model (property)', () => {
  type Op =
    | { op: 'get'; k: number; dt: number }
    | { op: 'set'; k: number; v: number; ttl: number; dt: number }
    | { op: 'del'; k: number; dt: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      op: fc.constant('get' as const),
      k: fc.integer({ min: 0, max: 40 }),
      dt: fc.integer({ min: 0, max: 300 }),
    }),
    fc.record({
      op: fc.constant('set' as const),
      k: fc.integer({ min: 0, max: 40 }),
      v: fc.integer(),
      ttl: fc.oneof(fc.constant(Infinity), fc.integer({ min: -5, max: 2_000 })),
      dt: fc.integer({ min: 0, max: 300 }),
    }),
    fc.record({
      op: fc.constant('del' as const),
      k: fc.integer({ min: 0, max: 40 }),
      dt: fc.integer({ min: 0, max: 300 }),
    }),
  );

  it('never exceeds its bound and never returns a stale, deleted or expired value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 300 }), (max, ops) => {
        const c = new WTinyLfuCache<number, number>({ maxEntries: max, timerResolutionMs: 50 });
        // The model knows the last value and expiry of every key; the cache may have dropped
        // any key (eviction), but what it returns must be the model's live value.
        const model = new Map<number, { v: number; exp: number }>();
        let now = 0;
        for (const o of ops) {
          now += o.dt;
          if (o.op === 'set') {
            c.set(o.k, o.v, now, o.ttl);
            if (o.ttl <= 0) model.delete(o.k);
            else model.set(o.k, { v: o.v, exp: now + o.ttl });
          } else if (o.op === 'del') {
            c.delete(o.k);
            model.delete(o.k);
          } else {
            const got = c.get(o.k, now);
            const m = model.get(o.k);
            if (got !== undefined) {
              expect(m).toBeDefined();
              expect(got).toBe(m!.v);
              expect(now).toBeLessThan(m!.exp);
            }
          }
          expect(c.size).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 300 },
    );
  });
});
