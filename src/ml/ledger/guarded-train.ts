/**
 * Train a GBDT on logged rows and accept it only if the quarantine checks pass
 * (quarantine.ts). Used by `adstack train-from-ledger` (CTR: impressions → clicks) and by the
 * CVR training (clicks → conversions); the caller writes and signs the file only when accepted.
 *
 * Rows arrive oldest first and are split by position, never shuffled across the split:
 *   [ fit … | valid (early stopping, calibration) | holdout (quarantine checks only) ]
 * The holdout is the most recent slice, so the checks ask "does the new model rank tomorrow's
 * traffic at least as well as the current one", and the calibration check is not in-sample for
 * the calibrator.
 */
import type { Calibrator } from '../../core/scoring/calibration.js';
import { gbdtScorer, type Scorer } from '../../core/scoring/scorer.js';
import { fitIsotonic, fitPlatt } from '../calibration.js';
import {
  DEFAULT_GBDT_PARAMS,
  trainGbdt,
  type GbdtParams,
  type IterationInfo,
  type TrainingData,
} from '../gbdt/train.js';
import { evaluate, type Metrics } from '../metrics.js';
import {
  gbdtModelFile,
  type AdstackModelFile,
  type LoadedModel,
  type ModelManifest,
} from '../model-file.js';
import {
  dataChecks,
  modelChecks,
  verdict,
  type QuarantineThresholds,
  type QuarantineVerdict,
} from './quarantine.js';

export interface GuardedTrainOptions {
  /** Rows oldest first. */
  data: TrainingData & { featureNames: readonly string[] };
  /** Schema hash the rows were built with (compared with the current model's). */
  schemaHash: string;
  holdoutFraction: number;
  /** Fraction of the non-holdout rows used for early stopping and calibration. */
  validFraction: number;
  gbdt: Partial<GbdtParams>;
  calibrate: 'none' | 'platt' | 'isotonic';
  thresholds: QuarantineThresholds;
  /** The model in service, to compare against on the holdout (null: none). */
  current: LoadedModel | null;
  /** Everything in the manifest except the metrics, which are filled here. */
  manifest: Omit<ModelManifest, 'metrics'>;
  onIteration?: (info: IterationInfo) => void;
}

export interface GuardedTrainResult {
  verdict: QuarantineVerdict;
  /** The model file, when the checks passed (null otherwise, or when training never ran). */
  file: AdstackModelFile | null;
  trained: boolean;
  split: { fit: number; valid: number; holdout: number };
  holdout: Metrics | null;
  currentHoldout: Metrics | null;
}

function slice(d: TrainingData, start: number, end: number): TrainingData {
  const nf = d.numFeatures;
  return {
    numRows: end - start,
    numFeatures: nf,
    features: d.features.subarray(start * nf, end * nf),
    labels: d.labels.subarray(start, end),
    featureNames: d.featureNames,
  };
}

/** Probabilities of float32 rows, scored in chunks (the scorers take float64 rows). */
export function scoreRows(scorer: Scorer, d: TrainingData): Float64Array {
  const p = new Float64Array(d.numRows);
  const chunk = 4096;
  const rows = new Float64Array(chunk * d.numFeatures);
  const buf = new Float64Array(chunk);
  for (let r0 = 0; r0 < d.numRows; r0 += chunk) {
    const n = Math.min(chunk, d.numRows - r0);
    rows.set(d.features.subarray(r0 * d.numFeatures, (r0 + n) * d.numFeatures));
    scorer.predictBatch(rows, n, buf);
    p.set(buf.subarray(0, n), r0);
  }
  return p;
}

function currentScores(
  current: LoadedModel | null,
  schemaHash: string,
  holdout: TrainingData,
): { p: Float64Array | null; note?: string } {
  if (current === null) return { p: null, note: 'no current model' };
  if (current.numFeatures !== holdout.numFeatures)
    return {
      p: null,
      note: `current model takes ${current.numFeatures} features, the rows have ${holdout.numFeatures}`,
    };
  const hash = current.manifest?.featureSchema?.hash;
  if (current.source === 'adstack' && hash !== schemaHash)
    return { p: null, note: `current model was trained on feature schema ${String(hash)}` };
  return { p: scoreRows(current.scorer, holdout) };
}

export async function guardedTrain(o: GuardedTrainOptions): Promise<GuardedTrainResult> {
  const d = o.data;
  if (!(o.holdoutFraction > 0 && o.holdoutFraction < 1))
    throw new RangeError('holdoutFraction must be in (0, 1)');
  if (!(o.validFraction > 0 && o.validFraction < 1))
    throw new RangeError('validFraction must be in (0, 1)');
  const nHoldout = Math.floor(d.numRows * o.holdoutFraction);
  const nRest = d.numRows - nHoldout;
  const nValid = Math.floor(nRest * o.validFraction);
  const nFit = nRest - nValid;
  const split = { fit: nFit, valid: nValid, holdout: nHoldout };
  const fit = slice(d, 0, nFit);
  const valid = slice(d, nFit, nRest);
  const holdout = slice(d, nRest, d.numRows);

  const before = dataChecks({ ...fit, featureNames: d.featureNames }, o.thresholds);
  if (before.some((c) => !c.passed))
    return {
      verdict: verdict(before),
      file: null,
      trained: false,
      split,
      holdout: null,
      currentHoldout: null,
    };

  const res = await trainGbdt(fit, o.gbdt, {
    valid: nValid > 0 ? valid : undefined,
    onIteration: o.onIteration,
  });
  const raw = gbdtScorer(res.model);
  let calibrator: Calibrator | undefined;
  if (o.calibrate !== 'none' && nValid > 0) {
    const pv = scoreRows(raw, valid);
    calibrator =
      o.calibrate === 'platt' ? fitPlatt(pv, valid.labels) : fitIsotonic(pv, valid.labels);
  }
  const scorer = gbdtScorer(res.model, { calibrator });
  const pNew = scoreRows(scorer, holdout);
  const cur = currentScores(o.current, o.schemaHash, holdout);
  const after = modelChecks(
    { labels: holdout.labels, pNew, pCurrent: cur.p, currentNote: cur.note },
    o.thresholds,
  );
  const v = verdict([...before, ...after]);
  const holdoutMetrics = evaluate(pNew, holdout.labels);
  const currentHoldout = cur.p === null ? null : evaluate(cur.p, holdout.labels);
  const file = v.accepted
    ? gbdtModelFile(
        res.model,
        {
          ...o.manifest,
          params: { ...DEFAULT_GBDT_PARAMS, ...o.gbdt, calibrate: o.calibrate },
          metrics: {
            holdout: holdoutMetrics,
            currentModelHoldout: currentHoldout,
            split,
            bestIteration: res.bestIteration,
            trees: res.model.trees.length,
            quarantine: v.checks,
          },
        },
        calibrator,
      )
    : null;
  return { verdict: v, file, trained: true, split, holdout: holdoutMetrics, currentHoldout };
}
