/**
 * Model files: our own JSON format, plus detection and loading of XGBoost JSON and LightGBM text
 * models, so `adstack predict --model FILE` and the server accept any of the three.
 *
 * Our format (`format: "adstack-model"`) is a manifest plus the model:
 *   { format, formatVersion: 1, kind: "gbdt" | "linear" | "fm", manifest: {...},
 *     gbdt | linear | fm, calibrator }
 * The manifest carries what the registry and the server check before loading: the model
 * version, the feature schema (name, version, hash) it was trained on, its metrics and the
 * training-data range. Signatures are kept beside the file (registry.ts), not inside it, so the
 * signed bytes are exactly the file's bytes.
 */
import type { Calibrator } from '../core/scoring/calibration.js';
import type { FactorizationMachine } from '../core/scoring/fm.js';
import type { HashedLinearModel } from '../core/scoring/linear.js';
import { ModelFormatError, validateEnsemble, type TreeEnsemble } from '../core/scoring/model.js';
import { fmScorer, gbdtScorer, linearScorer, type Scorer } from '../core/scoring/scorer.js';
import { importLightgbmText, isLightgbmText } from './import/lightgbm.js';
import { importXgboostJson, isXgboostJson } from './import/xgboost.js';

export const MODEL_FORMAT = 'adstack-model';
export const MODEL_FORMAT_VERSION = 1;

/** What a model predicts: clicks per impression (default) or conversions per click. */
export type ModelTarget = 'ctr' | 'cvr';

export interface ModelManifest {
  version: string;
  /** Absent in files written before CVR models existed: those are CTR models. */
  target?: ModelTarget;
  createdAt?: string;
  featureSchema?: { name: string; version: number; hash: string };
  featureNames?: readonly string[];
  metrics?: Record<string, unknown>;
  trainingData?: Record<string, unknown>;
  params?: Record<string, unknown>;
}

interface LinearJson {
  numFeatures: number;
  hashBits: number;
  cuts: number[][];
  bias: number;
  /** Sparse weights: [slot, weight] pairs (L1 leaves most slots at 0). */
  weights: Array<[number, number]>;
}

interface FmJson {
  numFeatures: number;
  hashBits: number;
  numFactors: number;
  cuts: number[][];
  bias: number;
  /** Sparse slots: [slot, weight, v_0 .. v_{k-1}] for every slot training touched. */
  slots: number[][];
}

export type ModelKind = 'gbdt' | 'linear' | 'fm';

export interface AdstackModelFile {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  kind: ModelKind;
  manifest: ModelManifest;
  gbdt?: TreeEnsemble;
  linear?: LinearJson;
  fm?: FmJson;
  calibrator?: Calibrator;
}

export type ModelSource = 'adstack' | 'xgboost' | 'lightgbm';

export interface LoadedModel {
  source: ModelSource;
  scorer: Scorer;
  numFeatures: number;
  featureNames?: readonly string[];
  manifest?: ModelManifest;
  /** The tree model, when there is one (for inspection and importance). */
  ensemble?: TreeEnsemble;
}

export function gbdtModelFile(
  model: TreeEnsemble,
  manifest: ModelManifest,
  calibrator?: Calibrator,
): AdstackModelFile {
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    kind: 'gbdt',
    manifest,
    gbdt: model,
    calibrator,
  };
}

export function linearModelFile(
  model: HashedLinearModel,
  manifest: ModelManifest,
  calibrator?: Calibrator,
): AdstackModelFile {
  const weights: Array<[number, number]> = [];
  model.weights.forEach((w, i) => {
    if (w !== 0) weights.push([i, w]);
  });
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    kind: 'linear',
    manifest,
    linear: {
      numFeatures: model.numFeatures,
      hashBits: model.hashBits,
      cuts: model.cuts.map((c) => Array.from(c)),
      bias: model.bias,
      weights,
    },
    calibrator,
  };
}

export function fmModelFile(
  model: FactorizationMachine,
  manifest: ModelManifest,
  calibrator?: Calibrator,
): AdstackModelFile {
  const k = model.numFactors;
  const slots: number[][] = [];
  for (let s = 0; s < model.weights.length; s++) {
    const v = model.factors.subarray(s * k, (s + 1) * k);
    if (model.weights[s] !== 0 || v.some((x) => x !== 0)) slots.push([s, model.weights[s]!, ...v]);
  }
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    kind: 'fm',
    manifest,
    fm: {
      numFeatures: model.numFeatures,
      hashBits: model.hashBits,
      numFactors: k,
      cuts: model.cuts.map((c) => Array.from(c)),
      bias: model.bias,
      slots,
    },
    calibrator,
  };
}

export function detectFormat(text: string): ModelSource {
  if (isLightgbmText(text)) return 'lightgbm';
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ModelFormatError('unrecognised model file: neither JSON nor LightGBM text');
  }
  if (
    typeof doc === 'object' &&
    doc !== null &&
    (doc as { format?: unknown }).format === MODEL_FORMAT
  )
    return 'adstack';
  if (isXgboostJson(doc)) return 'xgboost';
  throw new ModelFormatError('unrecognised JSON model: not an adstack model and not XGBoost JSON');
}

function linearFromJson(j: LinearJson): HashedLinearModel {
  if (!(Number.isInteger(j.hashBits) && j.hashBits >= 1 && j.hashBits <= 26))
    throw new ModelFormatError('linear model: hashBits must be an integer in [1, 26]');
  if (!Array.isArray(j.cuts) || j.cuts.length !== j.numFeatures)
    throw new ModelFormatError('linear model: one cut list per feature is required');
  const weights = new Float32Array(1 << j.hashBits);
  for (const [i, w] of j.weights) {
    if (!Number.isInteger(i) || i < 0 || i >= weights.length || !Number.isFinite(w))
      throw new ModelFormatError(`linear model: bad weight entry [${i}, ${w}]`);
    weights[i] = w;
  }
  return {
    numFeatures: j.numFeatures,
    hashBits: j.hashBits,
    cuts: j.cuts.map((c) => Float64Array.from(c)),
    bias: j.bias,
    weights,
  };
}

function fmFromJson(j: FmJson): FactorizationMachine {
  if (!(Number.isInteger(j.hashBits) && j.hashBits >= 1 && j.hashBits <= 22))
    throw new ModelFormatError('fm model: hashBits must be an integer in [1, 22]');
  if (!(Number.isInteger(j.numFactors) && j.numFactors >= 1 && j.numFactors <= 64))
    throw new ModelFormatError('fm model: numFactors must be an integer in [1, 64]');
  if (!Array.isArray(j.cuts) || j.cuts.length !== j.numFeatures)
    throw new ModelFormatError('fm model: one cut list per feature is required');
  if (!Number.isFinite(j.bias)) throw new ModelFormatError('fm model: bias must be finite');
  const k = j.numFactors;
  const size = 1 << j.hashBits;
  const weights = new Float32Array(size);
  const factors = new Float32Array(size * k);
  if (!Array.isArray(j.slots)) throw new ModelFormatError('fm model: slots must be a list');
  for (const e of j.slots) {
    const s = e[0];
    if (
      !Array.isArray(e) ||
      e.length !== k + 2 ||
      s === undefined ||
      !Number.isInteger(s) ||
      s < 0 ||
      s >= size ||
      !e.every(Number.isFinite)
    )
      throw new ModelFormatError(`fm model: bad slot entry starting ${String(s)}`);
    weights[s] = e[1]!;
    for (let f = 0; f < k; f++) factors[s * k + f] = e[2 + f]!;
  }
  return {
    numFeatures: j.numFeatures,
    hashBits: j.hashBits,
    numFactors: k,
    cuts: j.cuts.map((c) => Float64Array.from(c)),
    bias: j.bias,
    weights,
    factors,
  };
}

/** Parses and validates a model file of any supported format; throws ModelFormatError. */
export function loadModelText(text: string): LoadedModel {
  const source = detectFormat(text);
  if (source === 'xgboost' || source === 'lightgbm') {
    const ensemble =
      source === 'xgboost' ? importXgboostJson(JSON.parse(text)) : importLightgbmText(text);
    return {
      source,
      scorer: gbdtScorer(ensemble),
      numFeatures: ensemble.numFeatures,
      featureNames: ensemble.featureNames,
      ensemble,
    };
  }
  const file = JSON.parse(text) as AdstackModelFile;
  if (file.formatVersion !== MODEL_FORMAT_VERSION)
    throw new ModelFormatError(
      `adstack model formatVersion ${String(file.formatVersion)} is not supported`,
    );
  const calibrator = file.calibrator;
  if (file.kind === 'gbdt' && file.gbdt !== undefined) {
    validateEnsemble(file.gbdt);
    return {
      source,
      scorer: gbdtScorer(file.gbdt, { calibrator }),
      numFeatures: file.gbdt.numFeatures,
      featureNames: file.gbdt.featureNames ?? file.manifest.featureNames,
      manifest: file.manifest,
      ensemble: file.gbdt,
    };
  }
  if (file.kind === 'linear' && file.linear !== undefined) {
    const m = linearFromJson(file.linear);
    return {
      source,
      scorer: linearScorer(m, calibrator),
      numFeatures: m.numFeatures,
      featureNames: file.manifest.featureNames,
      manifest: file.manifest,
    };
  }
  if (file.kind === 'fm' && file.fm !== undefined) {
    const m = fmFromJson(file.fm);
    return {
      source,
      scorer: fmScorer(m, calibrator),
      numFeatures: m.numFeatures,
      featureNames: file.manifest.featureNames,
      manifest: file.manifest,
    };
  }
  throw new ModelFormatError(`adstack model of kind ${String(file.kind)} has no model body`);
}
