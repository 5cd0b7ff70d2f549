/**
 * One interface for every click model the server can score with: the compiled GBDT (ours or
 * imported), the hashed logistic-regression fallback and the factorization-machine fallback,
 * each optionally followed by a calibration map. The decision path holds one (through the model slot in
 * src/exchange/prediction.ts) and calls `predictBatch` once per request with all candidates'
 * feature rows.
 */
import { calibrate, type Calibrator } from './calibration.js';
import { compileForest, type CompileOptions, type CompiledForest } from './compile.js';
import { predictBatch } from './evaluate.js';
import { fmPredictBatch, type FactorizationMachine } from './fm.js';
import { linearPredictBatch, type HashedLinearModel } from './linear.js';
import type { TreeEnsemble } from './model.js';

export interface Scorer {
  readonly kind: 'gbdt' | 'linear' | 'fm';
  readonly numFeatures: number;
  /** Probabilities of rows [0, n) of a row-major matrix into out[0..n). Allocates nothing. */
  predictBatch(rows: Float64Array, n: number, out: Float64Array): void;
}

function withCalibration(
  calibrator: Calibrator | undefined,
  inner: (rows: Float64Array, n: number, out: Float64Array) => void,
): (rows: Float64Array, n: number, out: Float64Array) => void {
  if (calibrator === undefined || calibrator.kind === 'none') return inner;
  return (rows, n, out) => {
    inner(rows, n, out);
    for (let r = 0; r < n; r++) out[r] = calibrate(calibrator, out[r]!);
  };
}

export function gbdtScorer(
  model: TreeEnsemble,
  opts: CompileOptions & { calibrator?: Calibrator } = {},
): Scorer & { forest: CompiledForest } {
  const forest = compileForest(model, opts);
  return {
    kind: 'gbdt',
    numFeatures: model.numFeatures,
    forest,
    predictBatch: withCalibration(opts.calibrator, (rows, n, out) =>
      predictBatch(forest, rows, n, out),
    ),
  };
}

export function linearScorer(model: HashedLinearModel, calibrator?: Calibrator): Scorer {
  return {
    kind: 'linear',
    numFeatures: model.numFeatures,
    predictBatch: withCalibration(calibrator, (rows, n, out) =>
      linearPredictBatch(model, rows, n, out),
    ),
  };
}

/** One scratch array per scorer: decide() is synchronous, so calls never overlap. */
export function fmScorer(model: FactorizationMachine, calibrator?: Calibrator): Scorer {
  const scratch = new Float64Array(2 * model.numFactors);
  return {
    kind: 'fm',
    numFeatures: model.numFeatures,
    predictBatch: withCalibration(calibrator, (rows, n, out) =>
      fmPredictBatch(model, rows, n, out, scratch),
    ),
  };
}
