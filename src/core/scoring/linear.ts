/**
 * Logistic regression over hashed, binned features — the cheap fallback scorer (issue 5:
 * used when the GBDT model is missing or load shedding asks for cheaper scoring).
 *
 * Each feature value is bucketed by the cut points learned at training (NaN gets its own
 * bucket), and the pair (feature, bucket) is hashed into a table of 2^hashBits weights (the
 * hashing trick, Weinberger et al. ICML 2009). A prediction is σ(bias + Σ_j w[h(j, bucket_j)]).
 * Binning first lets a linear model express non-monotone effects (hour of day, CTR plateaus),
 * which is how such models are used for CTR in practice (McMahan et al., KDD 2013, §4).
 */
import { hashPair } from '../features/hash.js';

export interface HashedLinearModel {
  readonly numFeatures: number;
  readonly hashBits: number;
  /** cuts[j]: increasing bucket boundaries of feature j; bucket = number of cuts <= x. */
  readonly cuts: readonly Float64Array[];
  readonly bias: number;
  /** Dense weight table of length 2^hashBits. */
  readonly weights: Float32Array;
}

/** Bucket of x for feature j: number of cuts <= x, or −1 for NaN (its own bucket). */
export function bucketOf(cuts: Float64Array, x: number): number {
  if (x !== x) return -1;
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (cuts[m]! <= x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Index in the weight table of (feature j, bucket b). */
export function slotOf(j: number, bucket: number, mask: number): number {
  return hashPair(j, bucket + 1) & mask;
}

export function linearMargin(m: HashedLinearModel, row: Float64Array, offset: number): number {
  const mask = (1 << m.hashBits) - 1;
  let z = m.bias;
  for (let j = 0; j < m.numFeatures; j++)
    z += m.weights[slotOf(j, bucketOf(m.cuts[j]!, row[offset + j]!), mask)]!;
  return z;
}

export function linearPredictBatch(
  m: HashedLinearModel,
  rows: Float64Array,
  n: number,
  out: Float64Array,
): void {
  if (rows.length < n * m.numFeatures || out.length < n)
    throw new RangeError('rows or out too short');
  for (let r = 0; r < n; r++)
    out[r] = 1 / (1 + Math.exp(-linearMargin(m, rows, r * m.numFeatures)));
}
