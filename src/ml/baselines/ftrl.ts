/**
 * FTRL-Proximal logistic regression (McMahan et al., "Ad Click Prediction: a View from the
 * Trenches", KDD 2013, Algorithm 1) on hashed, binned features (`HashedLinearModel`).
 *
 * Per-coordinate learning rates η_i = α / (β + √n_i); L1 gives exact zeros, L2 shrinks. It learns
 * online, one row at a time, so it can keep learning from the event stream; here it also serves
 * as the baseline any GBDT must beat (issue 5: "worse than logistic regression means the trainer
 * is broken").
 */
import type { HashedLinearModel } from '../../core/scoring/linear.js';
import { bucketOf, slotOf } from '../../core/scoring/linear.js';
import { buildBinMapper } from '../gbdt/binning.js';
import { Rng } from '../random.js';
import type { TrainingData } from '../gbdt/train.js';

export interface FtrlParams {
  alpha: number;
  beta: number;
  l1: number;
  l2: number;
  hashBits: number;
  /** Buckets per numeric feature (quantiles of the training data). */
  buckets: number;
  epochs: number;
  seed: number;
}

export const DEFAULT_FTRL_PARAMS: FtrlParams = {
  alpha: 0.05,
  beta: 1,
  l1: 0.5,
  l2: 1,
  hashBits: 20,
  buckets: 16,
  epochs: 1,
  seed: 1,
};

export function trainFtrl(data: TrainingData, params: Partial<FtrlParams> = {}): HashedLinearModel {
  const p = { ...DEFAULT_FTRL_PARAMS, ...params };
  const nf = data.numFeatures;
  const size = 1 << p.hashBits;
  const mask = size - 1;
  const { cuts } = buildBinMapper(data.features, data.numRows, nf, {
    maxBins: p.buckets,
    seed: p.seed,
  });
  // Slot 0 of z/n is not special; the bias has its own pair of accumulators.
  const z = new Float64Array(size);
  const nsq = new Float64Array(size);
  let zb = 0;
  let nb = 0;
  const slots = new Int32Array(nf);
  const weight = (zi: number, ni: number): number =>
    Math.abs(zi) <= p.l1
      ? 0
      : -(zi - Math.sign(zi) * p.l1) / ((p.beta + Math.sqrt(ni)) / p.alpha + p.l2);
  const order = Int32Array.from({ length: data.numRows }, (_, i) => i);
  const rng = new Rng(p.seed);
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    // The first epoch keeps the data's order (as online learning would see it); later ones shuffle.
    if (epoch > 0) rng.shuffle(order);
    for (let k = 0; k < data.numRows; k++) {
      const r = order[k]!;
      let margin = weight(zb, nb);
      for (let j = 0; j < nf; j++) {
        const s = slotOf(j, bucketOf(cuts[j]!, data.features[r * nf + j]!), mask);
        slots[j] = s;
        margin += weight(z[s]!, nsq[s]!);
      }
      const q = 1 / (1 + Math.exp(-Math.max(-35, Math.min(35, margin))));
      const g = q - data.labels[r]!;
      const g2 = g * g;
      // Bias, then each active coordinate (value 1): σ = (√(n + g²) − √n) / α; z += g − σ·w.
      {
        const sigma = (Math.sqrt(nb + g2) - Math.sqrt(nb)) / p.alpha;
        zb += g - sigma * weight(zb, nb);
        nb += g2;
      }
      for (let j = 0; j < nf; j++) {
        const s = slots[j]!;
        const ni = nsq[s]!;
        const sigma = (Math.sqrt(ni + g2) - Math.sqrt(ni)) / p.alpha;
        z[s] = z[s]! + g - sigma * weight(z[s]!, ni);
        nsq[s] = ni + g2;
      }
    }
  }
  const weights = new Float32Array(size);
  for (let i = 0; i < size; i++) weights[i] = weight(z[i]!, nsq[i]!);
  return { numFeatures: nf, hashBits: p.hashBits, cuts, bias: weight(zb, nb), weights };
}
