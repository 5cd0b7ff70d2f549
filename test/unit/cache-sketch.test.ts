import { describe, expect, it } from 'vitest';
import { FrequencySketch } from '../../src/core/cache/frequency-sketch.js';
import { fmix32, hashKey, hashNumber, hashString } from '../../src/core/cache/hash.js';

describe('key hashing', () => {
  it('is deterministic and spreads consecutive integers across the 32-bit range', () => {
    expect(hashNumber(42)).toBe(hashNumber(42));
    expect(hashString('user:42')).toBe(hashKey('user:42'));
    const highBits = new Set<number>();
    for (let i = 0; i < 1000; i++) highBits.add(hashNumber(i) >>> 24);
    // 1000 keys into 256 top-byte buckets: a poor mixer (identity) would fill only 1.
    expect(highBits.size).toBeGreaterThan(200);
  });

  it('distinguishes numbers that are not 32-bit integers', () => {
    expect(hashNumber(2 ** 40)).not.toBe(hashNumber(2 ** 40 + 1));
    expect(hashNumber(0.5)).not.toBe(hashNumber(0.25));
    expect(fmix32(1)).not.toBe(fmix32(2));
  });
});

describe('FrequencySketch (count-min with halving)', () => {
  it('never under-counts before a reset and saturates at 15', () => {
    const s = new FrequencySketch(1000);
    const truth = new Map<number, number>();
    for (let i = 0; i < 3000; i++) {
      const k = (i * 7919) % 500;
      s.increment(hashNumber(k));
      truth.set(k, (truth.get(k) ?? 0) + 1);
    }
    expect(s.resets).toBe(0);
    for (const [k, n] of truth)
      expect(s.frequency(hashNumber(k))).toBeGreaterThanOrEqual(Math.min(n, 15));
    for (let i = 0; i < 100; i++) s.increment(hashNumber(1));
    expect(s.frequency(hashNumber(1))).toBe(15);
  });

  it('halves every counter after sampleSize additions, so old popularity fades', () => {
    const s = new FrequencySketch(64, { sampleSize: 100 });
    for (let i = 0; i < 12; i++) s.increment(hashNumber(7));
    expect(s.frequency(hashNumber(7))).toBe(12);
    // 88 more additions of other keys reach the sample size of 100.
    for (let i = 0; i < 88; i++) s.increment(hashNumber(10_000 + i));
    expect(s.resets).toBe(1);
    expect(s.frequency(hashNumber(7))).toBe(6);
  });

  it('keeps a rarely seen key low among many distinct keys (few collisions)', () => {
    const s = new FrequencySketch(10_000);
    for (let i = 0; i < 10_000; i++) s.increment(hashNumber(i));
    let over = 0;
    for (let i = 0; i < 10_000; i++) if (s.frequency(hashNumber(i)) > 1) over++;
    // Four rows of 16,384 counters for 10k keys: collisions in all four rows are rare.
    expect(over / 10_000).toBeLessThan(0.05);
  });
});
