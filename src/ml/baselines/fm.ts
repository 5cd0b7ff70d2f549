/**
 * Factorization-machine baseline (`FactorizationMachine` in src/core/scoring/fm.ts), trained by
 * stochastic gradient descent with AdaGrad per-coordinate step sizes (Duchi, Hazan & Singer,
 * JMLR 2011) — the same "η_i = α / (β + √Σg²)" schedule FTRL-proximal uses, so rarely seen
 * slots keep large steps and frequent ones settle. L2 on the weights and, separately, on the
 * factors; no L1 (factors are dense by nature).
 *
 * Implementation notes
 * - Features are bucketed with the same quantile cut points as the FTRL baseline
 *   (`buildBinMapper`, `buckets` per feature) and hashed with the same `slotOf`, so both
 *   baselines see identical sparse inputs; only the model differs.
 * - Deterministic for a given seed: the factors start as N(0, initStd²) draws from `Rng(seed)`
 *   over the whole table, the first epoch keeps the data's order (as online learning would see
 *   it) and later epochs shuffle with the same generator. Slots no training row touched are set
 *   to 0 at the end, so the saved model (sparse) and the trained one score identically.
 * - The bias starts at the training set's log-odds (at a 2 % base rate a 0 start wastes the first
 *   thousands of rows on the intercept).
 * - Two features of one row hashed to the same slot are treated as two occurrences; the gradient
 *   is then approximate for that slot (it is exact when slots are distinct). With 2^16 slots and
 *   a few thousand (feature, bucket) pairs this is rare.
 */
import type { FactorizationMachine } from '../../core/scoring/fm.js';
import { bucketOf, slotOf } from '../../core/scoring/linear.js';
import { buildBinMapper } from '../gbdt/binning.js';
import type { TrainingData } from '../gbdt/train.js';
import { Rng } from '../random.js';

export interface FmParams {
  /** Latent factors per slot (k). */
  numFactors: number;
  hashBits: number;
  /** Buckets per numeric feature (quantiles of the training data). */
  buckets: number;
  /** AdaGrad α (base step) and β (step damping) for weights and factors. */
  alpha: number;
  beta: number;
  /** L2 on first-order weights and on factors. */
  l2Weights: number;
  l2Factors: number;
  initStd: number;
  epochs: number;
  seed: number;
}

/**
 * Chosen on 100k synthetic rows (80k train / 20k test, seed 2): test AUC 0.712 and log loss
 * 0.0985 against FTRL's 0.706 / 0.0993 with its defaults (Bayes-optimal AUC 0.769). Larger steps
 * (α = 0.05) or weaker L2 overfit the pairwise term on this data: AUC 0.69 and half the true mean.
 */
export const DEFAULT_FM_PARAMS: FmParams = {
  numFactors: 4,
  hashBits: 16,
  buckets: 16,
  alpha: 0.005,
  beta: 1,
  l2Weights: 0.01,
  l2Factors: 0.05,
  initStd: 0.01,
  epochs: 3,
  seed: 1,
};

function checkParams(p: FmParams): void {
  const bad = (msg: string): never => {
    throw new RangeError(`FM parameter ${msg}`);
  };
  if (!(Number.isInteger(p.numFactors) && p.numFactors >= 1 && p.numFactors <= 64))
    bad('numFactors must be an integer in [1, 64]');
  if (!(Number.isInteger(p.hashBits) && p.hashBits >= 1 && p.hashBits <= 22))
    bad('hashBits must be an integer in [1, 22]');
  if (!(p.alpha > 0 && p.beta >= 0)) bad('alpha must be > 0 and beta >= 0');
  if (!(p.l2Weights >= 0 && p.l2Factors >= 0)) bad('l2 must be >= 0');
  if (!(p.initStd >= 0)) bad('initStd must be >= 0');
  if (!(Number.isInteger(p.epochs) && p.epochs >= 1)) bad('epochs must be an integer >= 1');
}

export function trainFm(data: TrainingData, params: Partial<FmParams> = {}): FactorizationMachine {
  const p = { ...DEFAULT_FM_PARAMS, ...params };
  checkParams(p);
  const nf = data.numFeatures;
  const k = p.numFactors;
  const size = 1 << p.hashBits;
  const mask = size - 1;
  const { cuts } = buildBinMapper(data.features, data.numRows, nf, {
    maxBins: p.buckets,
    seed: p.seed,
  });
  const rng = new Rng(p.seed);
  const w = new Float64Array(size);
  const nw = new Float64Array(size);
  const v = new Float64Array(size * k);
  const nv = new Float64Array(size * k);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal() * p.initStd;
  const touched = new Uint8Array(size);

  let positives = 0;
  for (let r = 0; r < data.numRows; r++) positives += data.labels[r]!;
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / Math.max(1, data.numRows)));
  let bias = Math.log(rate / (1 - rate));
  let nb = 0;

  const slots = new Int32Array(nf);
  const sums = new Float64Array(k);
  const order = Int32Array.from({ length: data.numRows }, (_, i) => i);
  const step = (n: number): number => p.alpha / (p.beta + Math.sqrt(n));
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    if (epoch > 0) rng.shuffle(order);
    for (let t = 0; t < data.numRows; t++) {
      const r = order[t]!;
      sums.fill(0);
      let z = bias;
      let sq = 0;
      for (let j = 0; j < nf; j++) {
        const s = slotOf(j, bucketOf(cuts[j]!, data.features[r * nf + j]!), mask);
        slots[j] = s;
        z += w[s]!;
        const base = s * k;
        for (let f = 0; f < k; f++) {
          const x = v[base + f]!;
          sums[f] = sums[f]! + x;
          sq += x * x;
        }
      }
      let pair = 0;
      for (let f = 0; f < k; f++) pair += sums[f]! * sums[f]!;
      z += 0.5 * (pair - sq);
      const q = 1 / (1 + Math.exp(-Math.max(-35, Math.min(35, z))));
      const g = q - data.labels[r]!;
      nb += g * g;
      bias -= step(nb) * g;
      for (let j = 0; j < nf; j++) {
        const s = slots[j]!;
        touched[s] = 1;
        const gw = g + p.l2Weights * w[s]!;
        nw[s] = nw[s]! + gw * gw;
        w[s] = w[s]! - step(nw[s]!) * gw;
        const base = s * k;
        for (let f = 0; f < k; f++) {
          const x = v[base + f]!;
          // ∂z/∂v[s,f] = Σ_j v[s_j,f] − v[s,f] (value 1 for every active slot).
          const gv = g * (sums[f]! - x) + p.l2Factors * x;
          const acc = nv[base + f]! + gv * gv;
          nv[base + f] = acc;
          v[base + f] = x - step(acc) * gv;
        }
      }
    }
  }
  const weights = new Float32Array(size);
  const factors = new Float32Array(size * k);
  for (let s = 0; s < size; s++) {
    if (touched[s] === 0) continue;
    weights[s] = w[s]!;
    for (let f = 0; f < k; f++) factors[s * k + f] = v[s * k + f]!;
  }
  return { numFeatures: nf, hashBits: p.hashBits, numFactors: k, cuts, bias, weights, factors };
}
