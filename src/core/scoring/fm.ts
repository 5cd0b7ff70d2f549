/**
 * Second-order factorization machine over hashed, binned features (Rendle, "Factorization
 * Machines", ICDM 2010) — the second fallback scorer beside the hashed logistic regression
 * (issue 5, "a factorization machine"). Trained by src/ml/baselines/fm.ts.
 *
 * Inputs are encoded exactly as in linear.ts: feature j's value is bucketed by its training cut
 * points (NaN has its own bucket) and the pair (j, bucket) is hashed to one of 2^hashBits slots.
 * Every row thus has numFeatures active slots s_1..s_m, each with value 1, and
 *
 *   z = bias + Σ_j w[s_j] + ½ Σ_f ((Σ_j v[s_j, f])² − Σ_j v[s_j, f]²)
 *
 * which is Rendle's O(m·k) form of Σ_{i<j} ⟨v_i, v_j⟩. The pairwise term is what a linear model
 * cannot express (interest × category, video × device) without hand-made crosses.
 *
 * Storage is dense: `weights` has 2^hashBits entries and `factors` 2^hashBits × k, slot-major
 * (v[s, f] = factors[s·k + f]). Scoring allocates nothing when the caller passes the k-long
 * scratch array (the Scorer in scorer.ts owns one).
 */
import { bucketOf, slotOf } from './linear.js';

export interface FactorizationMachine {
  readonly numFeatures: number;
  readonly hashBits: number;
  /** k, the number of latent factors per slot. */
  readonly numFactors: number;
  /** cuts[j]: increasing bucket boundaries of feature j (as in HashedLinearModel). */
  readonly cuts: readonly Float64Array[];
  readonly bias: number;
  /** First-order weights, length 2^hashBits. */
  readonly weights: Float32Array;
  /** Latent factors, length 2^hashBits × numFactors, slot-major. */
  readonly factors: Float32Array;
}

/** z of the row at rows[offset ..]; `sums` is scratch of length ≥ 2·numFactors. */
export function fmMargin(
  m: FactorizationMachine,
  row: Float64Array,
  offset: number,
  sums: Float64Array,
): number {
  const k = m.numFactors;
  const mask = (1 << m.hashBits) - 1;
  sums.fill(0, 0, 2 * k);
  let z = m.bias;
  for (let j = 0; j < m.numFeatures; j++) {
    const s = slotOf(j, bucketOf(m.cuts[j]!, row[offset + j]!), mask);
    z += m.weights[s]!;
    const base = s * k;
    for (let f = 0; f < k; f++) {
      const v = m.factors[base + f]!;
      sums[f] = sums[f]! + v;
      sums[k + f] = sums[k + f]! + v * v;
    }
  }
  let pair = 0;
  for (let f = 0; f < k; f++) pair += sums[f]! * sums[f]! - sums[k + f]!;
  return z + 0.5 * pair;
}

/** Probabilities of rows [0, n) into out; pass `scratch` (length ≥ 2k) to allocate nothing. */
export function fmPredictBatch(
  m: FactorizationMachine,
  rows: Float64Array,
  n: number,
  out: Float64Array,
  scratch: Float64Array = new Float64Array(2 * m.numFactors),
): void {
  if (rows.length < n * m.numFeatures || out.length < n)
    throw new RangeError('rows or out too short');
  if (scratch.length < 2 * m.numFactors) throw new RangeError('scratch too short');
  for (let r = 0; r < n; r++)
    out[r] = 1 / (1 + Math.exp(-fmMargin(m, rows, r * m.numFeatures, scratch)));
}
