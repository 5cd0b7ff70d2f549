/**
 * Reserve-price learning (issue 3, item 4; seed Part 6, "Reserve Prices and Floor Prices"):
 * from a placement's historical bid samples (eCPM micros), estimate Myerson's optimal reserve
 *
 *   r* = argmax_r  r × (1 − F(r))
 *
 * Implementation notes
 * - exponential: F(v) = 1 − e^{−λv}, MLE λ = 1/mean, so r* = 1/λ = the sample mean (the
 *   seed's ComputeOptimalReservePrice).
 * - uniform: F uniform on [a, b], MLE a = min, b = max. r(1 − (r − a)/(b − a)) peaks at b/2,
 *   so r* = max(a, b/2); with a = 0 this is the seed's r* = v_max / 2.
 * - empirical: r* maximises r × (share of samples ≥ r) over the sample values themselves (the
 *   revenue curve of the empirical distribution only changes at samples). Ties go to the lower
 *   r, which sells more impressions for the same revenue.
 * - quantile: the seed's QuantileBasedReserve, sorted[floor(n × q)] (default q = 0.5).
 * - auto: the parametric fit that the Kolmogorov–Smirnov distance D = sup|F_n − F| accepts
 *   (D below 1.36/√n, the 5 % critical value; with fitted parameters this test is lenient,
 *   Lilliefors 1967), the better-fitting one if both do; otherwise empirical. A parametric fit
 *   smooths noise when it fits; when it does not, its r* can be far off (an exponential fit puts
 *   r* at the mean whatever the data), so the empirical revenue maximum is the safe default.
 * - The result is clamped to [floor, cap], and rounded half-up to micros. Fewer than
 *   `min_samples` valid samples returns the floor with estimator 'insufficient_data'.
 *   Negative or non-finite samples are ignored and counted.
 * - Pure: callers pass the samples (e.g. a bounded window per placement) and get the numbers
 *   of every estimator back, so the choice can be logged and compared offline.
 */
import { roundMicros } from './ecpm.js';

export type ReserveEstimator = 'exponential' | 'uniform' | 'empirical' | 'quantile';

export interface ReserveLearningOptions {
  estimator: ReserveEstimator | 'auto';
  floor_cpm_micros: number;
  cap_cpm_micros: number;
  /** For 'quantile'; in [0, 1). Default 0.5 (the median, as in the seed's example). */
  quantile?: number;
  /** Below this many valid samples the floor is returned. Default 30. */
  min_samples?: number;
}

export interface ReserveEstimate {
  reserve_cpm_micros: number; // clamped and rounded: the value to use
  estimator: ReserveEstimator | 'insufficient_data';
  unclamped_cpm_micros: number;
  clamped: 'floor' | 'cap' | null;
  sample_count: number;
  ignored_samples: number;
  /** r* under every estimator (unclamped, real micros), and how well each fit matched. */
  estimates: Record<ReserveEstimator, number>;
  ks_distance: { exponential: number; uniform: number };
}

/** Expected revenue per auction of reserve r on the sample: r × (share of samples ≥ r). */
export function empiricalRevenue(sortedAsc: readonly number[], r: number): number {
  let lo = 0;
  let hi = sortedAsc.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sortedAsc[mid] as number) < r) lo = mid + 1;
    else hi = mid;
  }
  return sortedAsc.length === 0 ? 0 : (r * (sortedAsc.length - lo)) / sortedAsc.length;
}

function empiricalArgmax(sortedAsc: readonly number[]): number {
  const n = sortedAsc.length;
  let best = 0;
  let bestRevenue = -1;
  for (let i = 0; i < n; i++) {
    const v = sortedAsc[i] as number;
    if (i > 0 && v === sortedAsc[i - 1]) continue; // same r as before: its count is n − first index
    const revenue = v * (n - i);
    if (revenue > bestRevenue) {
      bestRevenue = revenue;
      best = v;
    }
  }
  return best;
}

/** sup |F_n(x) − F(x)| over the sample, checking both sides of each step of F_n. */
function ksDistance(sortedAsc: readonly number[], cdf: (x: number) => number): number {
  const n = sortedAsc.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(sortedAsc[i] as number);
    d = Math.max(d, Math.abs((i + 1) / n - f), Math.abs(f - i / n));
  }
  return d;
}

export function learnReserve(
  samplesMicros: readonly number[],
  opts: ReserveLearningOptions,
): ReserveEstimate {
  const sorted = samplesMicros.filter((s) => Number.isFinite(s) && s >= 0).sort((a, b) => a - b);
  const n = sorted.length;
  const ignored = samplesMicros.length - n;
  const q = opts.quantile ?? 0.5;
  if (!(q >= 0 && q < 1)) throw new RangeError('quantile must be in [0, 1)');
  if (!(opts.floor_cpm_micros >= 0 && opts.cap_cpm_micros >= opts.floor_cpm_micros)) {
    throw new RangeError('need 0 ≤ floor_cpm_micros ≤ cap_cpm_micros');
  }

  const min = sorted[0] ?? 0;
  const max = sorted[n - 1] ?? 0;
  const mean = n === 0 ? 0 : sorted.reduce((s, x) => s + x, 0) / n;
  const estimates: Record<ReserveEstimator, number> = {
    exponential: mean,
    uniform: Math.max(min, max / 2),
    empirical: empiricalArgmax(sorted),
    quantile: sorted[Math.min(n - 1, Math.floor(n * q))] ?? 0,
  };
  const ks = {
    exponential: mean > 0 ? ksDistance(sorted, (x) => 1 - Math.exp(-x / mean)) : 1,
    uniform:
      max > min ? ksDistance(sorted, (x) => Math.min(1, Math.max(0, (x - min) / (max - min)))) : 1,
  };

  const minSamples = opts.min_samples ?? 30;
  let estimator: ReserveEstimate['estimator'];
  if (n === 0 || n < minSamples) {
    estimator = 'insufficient_data';
  } else if (opts.estimator !== 'auto') {
    estimator = opts.estimator;
  } else {
    const critical = 1.36 / Math.sqrt(n);
    const best = ks.exponential <= ks.uniform ? 'exponential' : 'uniform';
    estimator = ks[best] < critical ? best : 'empirical';
  }

  const unclamped =
    estimator === 'insufficient_data' ? opts.floor_cpm_micros : estimates[estimator];
  const clamped =
    unclamped < opts.floor_cpm_micros ? 'floor' : unclamped > opts.cap_cpm_micros ? 'cap' : null;
  const value =
    clamped === 'floor'
      ? opts.floor_cpm_micros
      : clamped === 'cap'
        ? opts.cap_cpm_micros
        : unclamped;
  return {
    reserve_cpm_micros: roundMicros(value),
    estimator,
    unclamped_cpm_micros: unclamped,
    clamped,
    sample_count: n,
    ignored_samples: ignored,
    estimates,
    ks_distance: ks,
  };
}
