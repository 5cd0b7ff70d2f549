/**
 * Reserve-price learning (issue 3 item 4; seed Part 6 "Optimal Reserve Price (Myerson 1981)").
 * Samples are drawn deterministically at evenly spaced quantiles of a known distribution
 * (x_i = F⁻¹((i + ½) / n)), so the tests need no random numbers and the answers are known.
 */
import { describe, expect, it } from 'vitest';
import { empiricalRevenue, learnReserve } from '../../src/core/auction/index.js';

const quantileSamples = (n: number, inverseCdf: (u: number) => number): number[] =>
  Array.from({ length: n }, (_, i) => inverseCdf((i + 0.5) / n));

const MEAN = 2_000_000; // $2.00 CPM
const exponential = quantileSamples(1000, (u) => -MEAN * Math.log(1 - u));
const VMAX = 4_000_000;
// Evenly spaced from 0 to v_max inclusive, so the MLE of the upper end is v_max itself.
const uniform = Array.from({ length: 1001 }, (_, i) => (i * VMAX) / 1000);
// Two clusters, fitted by neither model: 70 % of bids near $1, 30 % near $5.
const bimodal = [
  ...quantileSamples(700, (u) => 900_000 + u * 200_000),
  ...quantileSamples(300, (u) => 4_800_000 + u * 400_000),
];
const wide = { floor_cpm_micros: 0, cap_cpm_micros: 100_000_000 };

describe('reserve estimators', () => {
  it('exponential fit: λ = 1/mean, r* = 1/λ = the mean (the seed’s algorithm)', () => {
    const r = learnReserve(exponential, { estimator: 'exponential', ...wide });
    expect(r.estimator).toBe('exponential');
    expect(r.reserve_cpm_micros / MEAN).toBeCloseTo(1, 2);
  });

  it('uniform fit: r* = v_max / 2 (the seed’s derivation)', () => {
    const r = learnReserve(uniform, { estimator: 'uniform', ...wide });
    expect(r.reserve_cpm_micros).toBe(2_000_000);
  });

  it('uniform fit on [a, b] with a > b/2: r* = a (every bid clears, the revenue curve falls)', () => {
    const r = learnReserve(
      quantileSamples(100, (u) => 3_000_000 + u * 1_000_000),
      { estimator: 'uniform', ...wide },
    );
    expect(r.reserve_cpm_micros).toBe(3_005_000); // the smallest sample: a = min
  });

  it('empirical: the sample value that maximises r × share of bids ≥ r, lower r on ties', () => {
    // Revenue of r = 1..5 on [1, 2, 3, 4, 5]: 5, 8, 9, 8, 5 (÷ 5) → r = 3.
    expect(
      learnReserve([5, 1, 4, 2, 3], { estimator: 'empirical', ...wide, min_samples: 1 }),
    ).toMatchObject({ estimator: 'empirical', reserve_cpm_micros: 3 });
    // [2, 4]: r = 2 → 2 × 2 = 4, r = 4 → 4 × 1 = 4: tie → the lower reserve sells more.
    expect(
      learnReserve([4, 2], { estimator: 'empirical', ...wide, min_samples: 1 }).reserve_cpm_micros,
    ).toBe(2);
    // Duplicates count once per value: [3, 3, 3, 10] → 3 × 4 = 12 > 10 × 1.
    expect(
      learnReserve([3, 10, 3, 3], { estimator: 'empirical', ...wide, min_samples: 1 })
        .reserve_cpm_micros,
    ).toBe(3);
  });

  it('quantile: sorted[floor(n × q)], the seed’s QuantileBasedReserve', () => {
    const tenBids = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((x) => x * 1_000_000);
    const q = (quantile: number) =>
      learnReserve(tenBids, { estimator: 'quantile', quantile, ...wide, min_samples: 1 })
        .reserve_cpm_micros;
    expect([q(0), q(0.5), q(0.95)]).toEqual([1_000_000, 6_000_000, 10_000_000]);
  });

  it('empirical maximises sample revenue: no other estimator beats it on its own samples', () => {
    const sorted = [...bimodal].sort((a, b) => a - b);
    const r = learnReserve(bimodal, { estimator: 'empirical', ...wide });
    for (const x of Object.values(r.estimates)) {
      expect(empiricalRevenue(sorted, r.unclamped_cpm_micros)).toBeGreaterThanOrEqual(
        empiricalRevenue(sorted, x),
      );
    }
    // 30 % of bids at ~$4.8+ beats 100 % at ~$0.9: r* sits at the start of the upper cluster.
    expect(r.reserve_cpm_micros).toBe(Math.round(bimodal[700] as number));
  });
});

describe('auto: the estimator the data supports', () => {
  it.each([
    ['exponential samples → exponential fit', exponential, 'exponential'],
    ['uniform samples → uniform fit', uniform, 'uniform'],
    ['two clusters (neither fits) → empirical', bimodal, 'empirical'],
  ])('%s', (_name, samples, expected) => {
    const r = learnReserve(samples, { estimator: 'auto', ...wide });
    expect(r.estimator).toBe(expected);
    expect(r.reserve_cpm_micros).toBe(Math.floor(r.estimates[r.estimator as 'empirical'] + 0.5));
  });

  it('reports every estimator’s r* and both fit distances for logging', () => {
    const r = learnReserve(exponential, { estimator: 'auto', ...wide });
    expect(Object.keys(r.estimates).sort()).toEqual([
      'empirical',
      'exponential',
      'quantile',
      'uniform',
    ]);
    expect(r.ks_distance.exponential).toBeLessThan(0.01);
    expect(r.ks_distance.uniform).toBeGreaterThan(0.1);
  });
});

describe('clamping and thin data', () => {
  it('clamps to the configured floor and cap, and says so', () => {
    const low = learnReserve(exponential, {
      estimator: 'exponential',
      floor_cpm_micros: 3_000_000,
      cap_cpm_micros: 9_000_000,
    });
    expect(low).toMatchObject({ reserve_cpm_micros: 3_000_000, clamped: 'floor' });
    const high = learnReserve(exponential, {
      estimator: 'exponential',
      floor_cpm_micros: 0,
      cap_cpm_micros: 1_500_000,
    });
    expect(high).toMatchObject({ reserve_cpm_micros: 1_500_000, clamped: 'cap' });
    expect(high.unclamped_cpm_micros / MEAN).toBeCloseTo(1, 2);
  });

  it('returns the floor with estimator insufficient_data below min_samples', () => {
    const r = learnReserve([1_000_000, 2_000_000], {
      estimator: 'auto',
      floor_cpm_micros: 250_000,
      cap_cpm_micros: 9_000_000,
    });
    expect(r).toMatchObject({
      estimator: 'insufficient_data',
      reserve_cpm_micros: 250_000,
      sample_count: 2,
    });
    expect(learnReserve([], { estimator: 'auto', ...wide }).estimator).toBe('insufficient_data');
  });

  it('ignores negative and non-finite samples and counts them', () => {
    const r = learnReserve([...uniform, -5, Number.NaN, Number.POSITIVE_INFINITY], {
      estimator: 'uniform',
      ...wide,
    });
    expect(r).toMatchObject({
      sample_count: 1001,
      ignored_samples: 3,
      reserve_cpm_micros: 2_000_000,
    });
  });

  it('rejects an impossible configuration', () => {
    expect(() =>
      learnReserve(uniform, { estimator: 'auto', floor_cpm_micros: 5, cap_cpm_micros: 1 }),
    ).toThrow(RangeError);
    expect(() => learnReserve(uniform, { estimator: 'quantile', quantile: 1, ...wide })).toThrow(
      RangeError,
    );
  });
});
