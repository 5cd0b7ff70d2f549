import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideShed,
  quantile,
  shedProbability,
  zoneOf,
} from '../../src/core/resilience/load-shed.js';

describe('load-shed policy', () => {
  it('has the three zones of the seed', () => {
    expect([zoneOf(0.5), zoneOf(0.7), zoneOf(0.89), zoneOf(0.9), zoneOf(1.2)]).toEqual([
      'normal',
      'elevated',
      'elevated',
      'critical',
      'critical',
    ]);
  });

  it('never sheds below 90% utilisation, and always past the hard limit', () => {
    expect(shedProbability(0.89, 0, 100)).toBe(0);
    expect(decideShed(0.89, 0, 100, 0)).toBeNull();
    expect(decideShed(1.5, 1e9, 100, 0.99)).toBe('hard_limit');
  });

  it('keeps requests worth at least the P95, sheds low-value ones first', () => {
    expect(shedProbability(0.99, 100, 100)).toBe(0);
    expect(shedProbability(0.99, 150, 100)).toBe(0);
    expect(shedProbability(1.0, 0, 100)).toBe(1);
    expect(shedProbability(0.95, 0, 100)).toBeCloseTo(0.5);
    expect(shedProbability(0.95, 50, 100)).toBeCloseTo(0.25);
  });

  it('is monotone: more load or less value never lowers the shed probability', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (u1, u2, v1, v2, p95) => {
          const [ul, uh] = u1 <= u2 ? [u1, u2] : [u2, u1];
          const [vl, vh] = v1 <= v2 ? [v1, v2] : [v2, v1];
          expect(shedProbability(uh, vl, p95)).toBeGreaterThanOrEqual(
            shedProbability(ul, vl, p95) - 1e-12,
          );
          expect(shedProbability(uh, vl, p95)).toBeGreaterThanOrEqual(
            shedProbability(uh, vh, p95) - 1e-12,
          );
        },
      ),
      { seed: 11 },
    );
  });

  it('computes quantiles', () => {
    expect(quantile([], 0.95)).toBe(0);
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(
      quantile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.95,
      ),
    ).toBe(95);
  });
});
