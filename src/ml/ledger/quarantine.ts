/**
 * Quarantine checks a model trained from logged data must pass before it is written and signed
 * (the seed's data-poisoning defence, applied to the whole training set and the resulting model
 * rather than to single rows).
 *
 * Data checks, before training:
 * - `min_rows`: enough training rows for the metrics to mean something;
 * - `label_rate`: the click (or conversion) rate within bounds — a rate far outside what ads
 *   see means broken joins, duplicated clicks or injected traffic;
 * - `feature_all_missing`: every feature the data source is supposed to fill has at least one
 *   value (a join that silently failed leaves a column entirely missing).
 * Model checks, on the held-out rows (never used for fitting or calibration):
 * - `holdout_auc`: the new model's AUC is at least the current model's AUC on the same rows
 *   minus a margin (no current model, or one that cannot score these rows: reported, passes);
 * - `calibration`: expected calibration error at most a bound plus the ECE sampling noise alone
 *   would give on a holdout of this size (eCPM = bid × pCTR, so a miscalibrated model
 *   misprices every auction).
 * Each check reports its value and limit; a refusal names every failed check.
 */
import { auc, calibrationTable, expectedCalibrationError } from '../metrics.js';

export type QuarantineCheckName =
  'min_rows' | 'label_rate' | 'feature_all_missing' | 'holdout_auc' | 'calibration';

export interface QuarantineThresholds {
  minRows: number;
  minLabelRate: number;
  maxLabelRate: number;
  /** Names of features that must not be missing in every row. */
  requiredFeatures: readonly string[];
  /** The new holdout AUC may be at most this much below the current model's. */
  aucMargin: number;
  /** Maximum expected calibration error (`expectedCalibrationError`: 10 decile bins) on the holdout. */
  maxEce: number;
}

export const DEFAULT_CTR_THRESHOLDS: Omit<QuarantineThresholds, 'requiredFeatures'> = {
  minRows: 1000,
  minLabelRate: 0.0005,
  maxLabelRate: 0.2,
  aucMargin: 0.01,
  maxEce: 0.01,
};

export interface CheckResult {
  check: QuarantineCheckName;
  passed: boolean;
  detail: string;
}

export interface QuarantineVerdict {
  accepted: boolean;
  checks: CheckResult[];
  /** One line per failed check. */
  reasons: string[];
}

export function verdict(checks: CheckResult[]): QuarantineVerdict {
  const failed = checks.filter((c) => !c.passed);
  return {
    accepted: failed.length === 0,
    checks,
    reasons: failed.map((c) => `${c.check}: ${c.detail}`),
  };
}

export interface DataForChecks {
  numRows: number;
  numFeatures: number;
  /** Row-major, NaN = missing. */
  features: Float32Array;
  labels: Uint8Array;
  featureNames: readonly string[];
}

export function dataChecks(d: DataForChecks, t: QuarantineThresholds): CheckResult[] {
  const checks: CheckResult[] = [];
  checks.push({
    check: 'min_rows',
    passed: d.numRows >= t.minRows,
    detail: `${d.numRows} training rows (minimum ${t.minRows})`,
  });
  let positives = 0;
  for (let r = 0; r < d.numRows; r++) positives += d.labels[r]!;
  const rate = d.numRows > 0 ? positives / d.numRows : NaN;
  checks.push({
    check: 'label_rate',
    passed: rate >= t.minLabelRate && rate <= t.maxLabelRate,
    detail: `label rate ${rate.toFixed(5)} (${positives}/${d.numRows}), allowed [${t.minLabelRate}, ${t.maxLabelRate}]`,
  });
  const allMissing: string[] = [];
  for (const name of t.requiredFeatures) {
    const j = d.featureNames.indexOf(name);
    if (j < 0) {
      allMissing.push(`${name} (not in the data)`);
      continue;
    }
    let seen = false;
    for (let r = 0; r < d.numRows && !seen; r++)
      seen = !Number.isNaN(d.features[r * d.numFeatures + j]!);
    if (!seen) allMissing.push(name);
  }
  checks.push({
    check: 'feature_all_missing',
    passed: allMissing.length === 0,
    detail:
      allMissing.length === 0
        ? `all ${t.requiredFeatures.length} required features have values`
        : `missing in every row: ${allMissing.join(', ')}`,
  });
  return checks;
}

export interface HoldoutScores {
  labels: Uint8Array;
  /** The new model's probabilities on the holdout rows. */
  pNew: Float64Array;
  /** The current model's, or null (none, or it cannot score these rows: `currentNote` says why). */
  pCurrent: Float64Array | null;
  currentNote?: string;
}

export function modelChecks(h: HoldoutScores, t: QuarantineThresholds): CheckResult[] {
  const checks: CheckResult[] = [];
  const aucNew = auc(h.pNew, h.labels);
  if (Number.isNaN(aucNew)) {
    checks.push({
      check: 'holdout_auc',
      passed: false,
      detail: `holdout of ${h.labels.length} rows has only one label value: AUC undefined`,
    });
  } else if (h.pCurrent === null) {
    checks.push({
      check: 'holdout_auc',
      passed: true,
      detail: `AUC ${aucNew.toFixed(4)}; no comparison: ${h.currentNote ?? 'no current model'}`,
    });
  } else {
    const aucCur = auc(h.pCurrent, h.labels);
    checks.push({
      check: 'holdout_auc',
      passed: aucNew >= aucCur - t.aucMargin,
      detail: `AUC ${aucNew.toFixed(4)} vs current model ${aucCur.toFixed(4)} on the same ${h.labels.length} holdout rows (margin ${t.aucMargin})`,
    });
  }
  const ece = expectedCalibrationError(h.pNew, h.labels);
  const noise = calibrationNoise(h.pNew, h.labels);
  checks.push({
    check: 'calibration',
    passed: ece <= t.maxEce + noise,
    detail: `expected calibration error ${ece.toFixed(5)} (maximum ${t.maxEce} + sampling noise ${noise.toFixed(5)} of ${h.labels.length} rows)`,
  });
  return checks;
}

/**
 * The ECE a perfectly calibrated model would show on these rows by chance: per decile bin, the
 * expected |observed − predicted| of n_b Bernoulli draws at the bin's mean p is about
 * √(2/π) · √(p(1 − p) / n_b), weighted by the bin's share. On 1,000 rows at a 4 % CTR that is
 * about 0.015, more than a useful bound; on 200,000 rows about 0.001. Adding it keeps the
 * bound meaningful at any holdout size.
 */
export function calibrationNoise(p: ArrayLike<number>, labels: ArrayLike<number>): number {
  let e = 0;
  for (const b of calibrationTable(p, labels)) {
    if (b.count === 0) continue;
    const q = b.meanPredicted;
    e += (b.count / p.length) * Math.sqrt(((2 / Math.PI) * q * (1 - q)) / b.count);
  }
  return e;
}
