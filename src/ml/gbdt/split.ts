/**
 * Best split of one leaf from its histograms, for the second-order objective of XGBoost
 * (Chen & Guestrin, KDD 2016, eq. 7; the same score LightGBM uses with lambda_l2):
 *
 *   gain = G_L² / (H_L + λ) + G_R² / (H_R + λ) − G² / (H + λ)
 *
 * Missing values are learned, not imputed (XGBoost's sparsity-aware split finding, KDD 2016
 * §3.4): every threshold is tried with the missing bin on the left and on the right and the
 * better one is kept. If the leaf has no missing values for the feature, missing values at
 * serving time follow the larger child — the side most training rows took.
 *
 * Ties are broken by the first feature, then the first bin, in ascending order, so the chosen
 * split never depends on thread timing.
 */
import { HIST_STRIDE } from './histogram.js';
import { MISSING_BIN } from './binning.js';

export interface SplitParams {
  lambdaL2: number;
  minDataInLeaf: number;
  minSumHessianInLeaf: number;
  minGainToSplit: number;
}

export interface SplitCandidate {
  gain: number;
  feature: number;
  /** Bins 0..bin go left. */
  bin: number;
  missingLeft: boolean;
  leftG: number;
  leftH: number;
  leftC: number;
}

export function leafScore(g: number, h: number, lambda: number): number {
  return (g * g) / (h + lambda);
}

/**
 * Best split over features feats[0..numFeats) given the leaf's totals, or null when no split
 * satisfies the constraints and beats `minGainToSplit`.
 */
export function findBestSplit(
  hist: Float64Array,
  base: number,
  feats: Int32Array,
  numFeats: number,
  valueBins: Int32Array,
  G: number,
  H: number,
  C: number,
  p: SplitParams,
): SplitCandidate | null {
  const lambda = p.lambdaL2;
  const parent = leafScore(G, H, lambda);
  let best: SplitCandidate | null = null;
  let bestGain = p.minGainToSplit;
  for (let j = 0; j < numFeats; j++) {
    const f = feats[j]!;
    const nb = valueBins[f]!;
    if (nb < 2) continue;
    const hb = base + f * HIST_STRIDE;
    const mo = hb + MISSING_BIN * 3;
    const mg = hist[mo]!;
    const mh = hist[mo + 1]!;
    const mc = hist[mo + 2]!;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      const o = hb + b * 3;
      gl += hist[o]!;
      hl += hist[o + 1]!;
      cl += hist[o + 2]!;
      // Missing goes right: left = bins 0..b.
      const gr = G - gl;
      const hr = H - hl;
      const cr = C - cl;
      if (
        cl >= p.minDataInLeaf &&
        cr >= p.minDataInLeaf &&
        hl >= p.minSumHessianInLeaf &&
        hr >= p.minSumHessianInLeaf
      ) {
        const gain = leafScore(gl, hl, lambda) + leafScore(gr, hr, lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          const missingLeft = mc === 0 ? cl + mc > cr : false;
          best = { gain, feature: f, bin: b, missingLeft, leftG: gl, leftH: hl, leftC: cl };
        }
      }
      if (mc === 0) continue;
      // Missing goes left: left = bins 0..b plus the missing bin.
      const gl2 = gl + mg;
      const hl2 = hl + mh;
      const cl2 = cl + mc;
      const gr2 = G - gl2;
      const hr2 = H - hl2;
      const cr2 = C - cl2;
      if (
        cl2 >= p.minDataInLeaf &&
        cr2 >= p.minDataInLeaf &&
        hl2 >= p.minSumHessianInLeaf &&
        hr2 >= p.minSumHessianInLeaf
      ) {
        const gain = leafScore(gl2, hl2, lambda) + leafScore(gr2, hr2, lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          best = {
            gain,
            feature: f,
            bin: b,
            missingLeft: true,
            leftG: gl2,
            leftH: hl2,
            leftC: cl2,
          };
        }
      }
    }
  }
  return best;
}
