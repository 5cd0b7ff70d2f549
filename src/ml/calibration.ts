/**
 * Fitting the calibration maps of src/core/scoring/calibration.ts on validation predictions.
 */
import { logit, type Calibrator } from '../core/scoring/calibration.js';

/**
 * Platt scaling by Newton's method on the log loss of σ(a·logit(p) + b), with Platt's smoothed
 * targets (N+ + 1)/(N+ + 2) and 1/(N− + 2) so that separable data cannot push a to infinity.
 */
export function fitPlatt(
  p: ArrayLike<number>,
  labels: ArrayLike<number>,
  iterations = 50,
): Calibrator {
  const n = p.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i]!;
  const tPos = (pos + 1) / (pos + 2);
  const tNeg = 1 / (n - pos + 2);
  const f = Float64Array.from({ length: n }, (_, i) => logit(p[i]!));
  let a = 1;
  let b = 0;
  for (let it = 0; it < iterations; it++) {
    // Gradient and Hessian of the mean log loss in (a, b).
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < n; i++) {
      const q = 1 / (1 + Math.exp(-(a * f[i]! + b)));
      const t = labels[i] === 1 ? tPos : tNeg;
      const d = q - t;
      const w = Math.max(q * (1 - q), 1e-12);
      ga += d * f[i]!;
      gb += d;
      haa += w * f[i]! * f[i]!;
      hab += w * f[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-300)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-10 && Math.abs(db) < 1e-10) break;
  }
  return { kind: 'platt', a, b };
}

/** Isotonic regression by pool adjacent violators over predictions sorted ascending. */
export function fitIsotonic(p: ArrayLike<number>, labels: ArrayLike<number>): Calibrator {
  const n = p.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => p[i]! - p[j]!);
  // Blocks: sum of labels, count, and the predictions' range.
  const sum: number[] = [];
  const cnt: number[] = [];
  const xlo: number[] = [];
  const xhi: number[] = [];
  for (const i of order) {
    sum.push(labels[i]!);
    cnt.push(1);
    xlo.push(p[i]!);
    xhi.push(p[i]!);
    // Merge while the last block's mean is not above the previous one's, and always merge equal
    // predictions (one x must map to one y).
    while (sum.length > 1) {
      const k = sum.length - 1;
      const tie = xlo[k] === xhi[k - 1];
      if (!tie && sum[k - 1]! / cnt[k - 1]! < sum[k]! / cnt[k]!) break;
      sum[k - 1]! += sum[k]!;
      cnt[k - 1]! += cnt[k]!;
      xhi[k - 1] = xhi[k]!;
      sum.pop();
      cnt.pop();
      xlo.pop();
      xhi.pop();
    }
  }
  // Each block contributes its two ends, so predictions inside a block map to its mean.
  const x: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < sum.length; k++) {
    const m = sum[k]! / cnt[k]!;
    x.push(xlo[k]!);
    y.push(m);
    if (xhi[k]! > xlo[k]!) {
      x.push(xhi[k]!);
      y.push(m);
    }
  }
  return { kind: 'isotonic', x, y };
}
