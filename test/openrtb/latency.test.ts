import { describe, expect, it } from 'vitest';
import { LatencyTracker } from '../../src/exchange/rtb/latency.js';

describe('LatencyTracker', () => {
  it('estimates p50/p95 within 1 %, and follows a change after one window', () => {
    const t = new LatencyTracker(3000, 0, 20);
    expect(t.estimate('d', 0)).toBeNull();
    for (let i = 1; i <= 100; i++) t.record('d', i, 10); // 1..100 ms
    const e = t.estimate('d', 20);
    expect(e?.samples).toBe(100);
    expect(e?.p50Ms).toBeCloseTo(50, -0.3);
    expect(e?.p95Ms).toBeCloseTo(95, -0.3);
    // Next window: too few fresh samples yet → the last window's estimate.
    t.record('d', 500, 3100);
    expect(t.estimate('d', 3100)?.p50Ms).toBeCloseTo(50, -0.3);
    // Enough fresh samples → the new latency.
    for (let i = 0; i < 30; i++) t.record('d', 200, 3200);
    expect(t.estimate('d', 3200)?.p50Ms).toBeCloseTo(200, -0.5);
  });

  it('caches an estimate for refreshMs', () => {
    const t = new LatencyTracker(3000, 100, 1);
    t.record('d', 10, 0);
    expect(t.estimate('d', 0)?.p50Ms).toBeCloseTo(10, 0);
    t.record('d', 90, 1);
    t.record('d', 90, 2);
    expect(t.estimate('d', 50)?.p50Ms).toBeCloseTo(10, 0); // cached
    expect(t.estimate('d', 150)?.p50Ms).toBeCloseTo(90, -0.5);
  });
});
