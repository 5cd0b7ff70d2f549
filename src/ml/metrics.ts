/**
 * Evaluation metrics for click models: ROC AUC, log loss, expected calibration error (ECE) and a
 * calibration table by decile of predicted probability.
 *
 * - AUC is the Mann–Whitney statistic: the probability that a random positive is scored above a
 *   random negative, ties counting one half (Fawcett, "An introduction to ROC analysis", 2006).
 *   Computed by sorting, O(n log n), exact with ties.
 * - Log loss clips predictions to [1e-15, 1 - 1e-15] (as scikit-learn's log_loss did) so one
 *   confident mistake is large but finite.
 * - ECE uses equal-mass bins (deciles of the prediction): Σ_b (n_b / n) · |mean(p) − mean(y)|
 *   (Naeini et al., AAAI 2015; Guo et al., ICML 2017). Equal-mass bins suit CTR, where most
 *   predictions sit in a narrow band near the base rate and equal-width bins would leave all but
 *   one bin nearly empty.
 */

export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    // A run of tied scores shares the average rank of its positions (1-based).
    let j = i;
    const s = scores[order[i]!]!;
    while (j + 1 < n && scores[order[j + 1]!] === s) j++;
    const avgRank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function logLoss(p: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - 1e-15, Math.max(1e-15, p[i]!));
    s -= labels[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / p.length;
}

export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}

export interface CalibrationBin {
  /** Range of predictions in the bin. */
  lo: number;
  hi: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/** Equal-mass bins of the predictions (deciles by default). */
export function calibrationTable(
  p: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): CalibrationBin[] {
  const n = p.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => p[a]! - p[b]!);
  const table: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const start = Math.floor((b * n) / bins);
    const end = Math.floor(((b + 1) * n) / bins);
    if (end <= start) continue;
    let sp = 0;
    let sy = 0;
    for (let k = start; k < end; k++) {
      sp += p[order[k]!]!;
      sy += labels[order[k]!]!;
    }
    table.push({
      lo: p[order[start]!]!,
      hi: p[order[end - 1]!]!,
      count: end - start,
      meanPredicted: sp / (end - start),
      observedRate: sy / (end - start),
    });
  }
  return table;
}

export function expectedCalibrationError(
  p: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): number {
  const table = calibrationTable(p, labels, bins);
  let e = 0;
  for (const b of table) e += (b.count / p.length) * Math.abs(b.meanPredicted - b.observedRate);
  return e;
}

export interface Metrics {
  rows: number;
  auc: number;
  logLoss: number;
  ece: number;
  meanPredicted: number;
  observedRate: number;
}

export function evaluate(p: ArrayLike<number>, labels: ArrayLike<number>): Metrics {
  return {
    rows: p.length,
    auc: auc(p, labels),
    logLoss: logLoss(p, labels),
    ece: expectedCalibrationError(p, labels),
    meanPredicted: mean(p),
    observedRate: mean(labels),
  };
}
