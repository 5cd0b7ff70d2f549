/**
 * Imports an XGBoost model saved as JSON (`Booster.save_model("m.json")`, schema of XGBoost 1.x:
 * doc/model.schema in the XGBoost repository) into our `TreeEnsemble`.
 *
 * Parity with XGBoost's own predictor (tested against fixture predictions made with XGBoost
 * 1.7.4, test/fixtures/ml/):
 * - Features are float32 inside XGBoost and a row goes left iff `float32(x) < split_condition`.
 *   The importer turns each float32 split condition into the float64 cut with the same outcome
 *   for every float64 input (`float32LessThanCut`), so callers keep passing float64 rows.
 * - Missing values (NaN) follow the node's `default_left`.
 * - Leaf values are float32 (stored in `split_conditions` of leaf nodes, learning rate applied)
 *   and are summed into a float32 accumulator starting from the base margin, trees in order.
 * - `base_score` is a probability for binary:logistic and reg:logistic; the base margin is its
 *   logit computed in float32 like XGBoost's `ProbToMargin` (`-logf(1/p - 1)`). For
 *   binary:logitraw and reg:squarederror it is the margin itself (found by the logitraw fixture).
 *
 * Supported: gbtree boosters with objectives binary:logistic, reg:logistic (logistic link),
 * binary:logitraw (margin output) and reg:squarederror (identity). Refused with a message:
 * categorical splits, multi-class/multi-target models and DART boosters.
 */
import { float32LessThanCut } from '../../core/scoring/float.js';
import {
  ModelFormatError,
  type Link,
  type Tree,
  type TreeEnsemble,
} from '../../core/scoring/model.js';

type Json = Record<string, unknown>;

function obj(v: unknown, where: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ModelFormatError(`XGBoost JSON: ${where} is not an object`);
  return v as Json;
}

function numArray(v: unknown, where: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number'))
    throw new ModelFormatError(`XGBoost JSON: ${where} is not an array of numbers`);
  return v as number[];
}

/** XGBoost writes its parameters as strings ("5E-1"); numbers are accepted too. */
function numParam(v: unknown, where: string): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new ModelFormatError(`XGBoost JSON: ${where} is not a number`);
  return n;
}

const OBJECTIVES: Record<string, { link: Link; baseIsProbability: boolean }> = {
  'binary:logistic': { link: 'logistic', baseIsProbability: true },
  'reg:logistic': { link: 'logistic', baseIsProbability: true },
  // XGBoost's LogisticRaw keeps base_score as a margin (its ProbToMargin is the identity).
  'binary:logitraw': { link: 'identity', baseIsProbability: false },
  'reg:squarederror': { link: 'identity', baseIsProbability: false },
};

/** XGBoost's `LogisticRegression::ProbToMargin`, in float32 arithmetic. */
function logitFloat32(p: number): number {
  if (!(p > 0 && p < 1))
    throw new ModelFormatError(
      `XGBoost JSON: base_score ${p} must be in (0, 1) for a logistic objective`,
    );
  const f = Math.fround;
  return f(-Math.log(f(f(1 / f(p)) - 1)));
}

export function isXgboostJson(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && 'learner' in doc && 'version' in doc;
}

export function importXgboostJson(doc: unknown): TreeEnsemble {
  const root = obj(doc, 'the document');
  const learner = obj(root.learner, 'learner');
  const param = obj(learner.learner_model_param, 'learner.learner_model_param');
  const numFeatures = numParam(param.num_feature, 'num_feature');
  const numClass = numParam(param.num_class ?? '0', 'num_class');
  const numTarget = numParam(param.num_target ?? '1', 'num_target');
  if (numClass > 1 || numTarget > 1)
    throw new ModelFormatError(
      'XGBoost JSON: multi-class and multi-target models are not supported',
    );

  const objective = obj(learner.objective, 'learner.objective');
  const objName = String(objective.name);
  const spec = OBJECTIVES[objName];
  if (spec === undefined)
    throw new ModelFormatError(
      `XGBoost JSON: objective ${objName} is not supported (${Object.keys(OBJECTIVES).join(', ')})`,
    );
  const baseScore = numParam(param.base_score, 'base_score');
  const baseMargin = spec.baseIsProbability ? logitFloat32(baseScore) : Math.fround(baseScore);

  const booster = obj(learner.gradient_booster, 'learner.gradient_booster');
  if (booster.name !== 'gbtree')
    throw new ModelFormatError(
      `XGBoost JSON: booster ${String(booster.name)} is not supported (gbtree only)`,
    );
  const model = obj(booster.model, 'gradient_booster.model');
  if (!Array.isArray(model.trees))
    throw new ModelFormatError('XGBoost JSON: model.trees is missing');
  const trees = model.trees.map((t: unknown, i: number) =>
    importTree(obj(t, `tree ${i}`), i, numFeatures),
  );

  const names = learner.feature_names;
  const featureNames =
    Array.isArray(names) &&
    names.length === numFeatures &&
    names.every((n) => typeof n === 'string')
      ? (names as string[])
      : undefined;
  return { numFeatures, featureNames, baseMargin, trees, accumulation: 'float32', link: spec.link };
}

function importTree(t: Json, index: number, numFeatures: number): Tree {
  const where = `tree ${index}`;
  const left = numArray(t.left_children, `${where}.left_children`);
  const right = numArray(t.right_children, `${where}.right_children`);
  const splitIndex = numArray(t.split_indices, `${where}.split_indices`);
  const cond = numArray(t.split_conditions, `${where}.split_conditions`);
  const defaultLeft = numArray(t.default_left, `${where}.default_left`);
  const gain = Array.isArray(t.loss_changes)
    ? numArray(t.loss_changes, `${where}.loss_changes`)
    : undefined;
  const splitType = Array.isArray(t.split_type)
    ? numArray(t.split_type, `${where}.split_type`)
    : [];
  const n = left.length;
  for (const [name, a] of [
    ['right_children', right],
    ['split_indices', splitIndex],
    ['split_conditions', cond],
    ['default_left', defaultLeft],
  ] as const)
    if (a.length !== n)
      throw new ModelFormatError(
        `XGBoost JSON: ${where}.${name} has ${a.length} entries, expected ${n}`,
      );
  if (splitType.some((s) => s !== 0))
    throw new ModelFormatError(
      `XGBoost JSON: ${where} has categorical splits, which are not supported`,
    );

  const feature: number[] = [];
  const threshold: number[] = [];
  const missingLeft: boolean[] = [];
  const value: number[] = [];
  for (let i = 0; i < n; i++) {
    const isLeaf = left[i] === -1;
    const c = Math.fround(cond[i]!);
    if (isLeaf) {
      feature.push(-1);
      threshold.push(0);
      missingLeft.push(false);
      value.push(c);
    } else {
      if (splitIndex[i]! >= numFeatures)
        throw new ModelFormatError(
          `XGBoost JSON: ${where} node ${i} splits on feature ${splitIndex[i]}`,
        );
      feature.push(splitIndex[i]!);
      threshold.push(float32LessThanCut(c));
      missingLeft.push(defaultLeft[i] === 1);
      value.push(0);
    }
  }
  return {
    feature,
    threshold,
    left: left.map((c) => (c === -1 ? 0 : c)),
    right: right.map((c) => (c === -1 ? 0 : c)),
    missingLeft,
    value,
    gain: gain?.map((g, i) => (left[i] === -1 ? 0 : g)),
  };
}
