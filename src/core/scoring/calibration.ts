/**
 * Calibration maps applied after the model (fitted on a validation set by src/ml/calibration.ts).
 *
 * - Platt scaling (Platt 1999; Niculescu-Mizil & Caruana, ICML 2005): p' = σ(a · logit(p) + b).
 *   Two parameters, smooth, cannot overfit a small validation set.
 * - Isotonic regression (Zadrozny & Elkan, KDD 2002): a non-decreasing map learned by pool
 *   adjacent violators, stored as breakpoints and interpolated linearly between them (as
 *   scikit-learn's IsotonicRegression does), clamped outside the fitted range.
 *
 * Calibration matters here because eCPM = bid × pCTR × 1000: a model whose probabilities are 10 %
 * high overbids by 10 % in every auction it enters.
 */
export type Calibrator =
  | { readonly kind: 'none' }
  | { readonly kind: 'platt'; readonly a: number; readonly b: number }
  | { readonly kind: 'isotonic'; readonly x: readonly number[]; readonly y: readonly number[] };

const EPS = 1e-15;

export function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

export function calibrate(c: Calibrator, p: number): number {
  switch (c.kind) {
    case 'none':
      return p;
    case 'platt':
      return 1 / (1 + Math.exp(-(c.a * logit(p) + c.b)));
    case 'isotonic': {
      const { x, y } = c;
      const n = x.length;
      if (n === 0) return p;
      if (p <= x[0]!) return y[0]!;
      if (p >= x[n - 1]!) return y[n - 1]!;
      let lo = 0;
      let hi = n - 1;
      while (hi - lo > 1) {
        const m = (lo + hi) >> 1;
        if (x[m]! <= p) lo = m;
        else hi = m;
      }
      const t = (p - x[lo]!) / (x[hi]! - x[lo]!);
      return y[lo]! + t * (y[hi]! - y[lo]!);
    }
  }
}
