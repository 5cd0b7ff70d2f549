/**
 * Imports a LightGBM text model (`Booster.save_model("m.txt")`, `lightgbm task=train
 * output_model=…`) into our `TreeEnsemble`.
 *
 * Semantics reproduced (LightGBM `include/LightGBM/tree.h`, `Tree::NumericalDecision`, and
 * `GBDT::PredictRaw`, as documented in LightGBM's "Advanced Topics / Missing Value Handle"):
 * - a row goes left iff `x <= threshold` in double; we store nextUp(threshold) and use `<`;
 * - `decision_type` bit 1 is default-left, bits 2–3 the missing type: None (NaN is replaced by
 *   0.0 and compared), NaN (NaN follows default-left), Zero (|x| <= 1e-35 or NaN follows
 *   default-left; refused, see below);
 * - tree outputs are doubles summed in model order; `binary sigmoid:s` applies
 *   1 / (1 + exp(-s * raw)). The boost-from-average init score is already inside tree 0.
 *
 * - categorical splits (`decision_type` bit 0): `threshold` is an index k into `cat_boundaries`;
 *   words cat_threshold[cat_boundaries[k] .. cat_boundaries[k+1]) are a 32-bit bitset of the
 *   categories that go left. Per LightGBM's documented rule (Advanced Topics, "Categorical
 *   Feature Support"; parameters `categorical_feature`): the value is cast to int, negative
 *   values and NaN are missing and go right, a category beyond the bitset goes right. We store
 *   the left set as a list (`Tree.categories`, rule in `categoryGoesLeft`);
 * - log-link objectives (poisson, gamma, tweedie) predict exp(raw score) (`Link` 'exp').
 *
 * Refused with a reason: linear trees, multi-class models, random-forest averaging
 * (average_output), the Zero missing type on numeric splits (zero_as_missing=true), and other
 * objectives than binary / cross_entropy / regression / poisson / gamma / tweedie.
 *
 * Tests: test/ml/import-lightgbm-library.test.ts compares with raw scores made by the LightGBM
 * library itself (fixture data from dmitryikh/leaves: a 10-tree DART binary model on 57 rows,
 * and a 100-tree Poisson model with categorical splits on 1,000 rows); test/ml/import-lightgbm.test.ts covers the decision rules (NaN,
 * missing types, `<=` at the threshold) on a hand-written model with hand-derived predictions.
 */
import { nextUp64 } from '../../core/scoring/float.js';
import {
  ModelFormatError,
  type Link,
  type Tree,
  type TreeEnsemble,
} from '../../core/scoring/model.js';

const CATEGORICAL = 1;
const DEFAULT_LEFT = 2;
const MISSING_NONE = 0;
const MISSING_ZERO = 1;
const MISSING_NAN = 2;

export function isLightgbmText(text: string): boolean {
  return /^tree\r?\n/.test(text) && /\nTree=\d+/.test(text);
}

function fail(msg: string): never {
  throw new ModelFormatError(`LightGBM text: ${msg}`);
}

/** key=value lines; a line with no '=' (like `average_output`) maps to ''. */
function parseBlock(lines: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of lines) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) m.set(line.trim(), '');
    else m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return m;
}

function numbers(block: Map<string, string>, key: string, count: number, where: string): number[] {
  const raw = block.get(key);
  if (raw === undefined) fail(`${where}: ${key} is missing`);
  const parts = raw.trim() === '' ? [] : raw.trim().split(/\s+/);
  if (parts.length !== count)
    fail(`${where}: ${key} has ${parts.length} values, expected ${count}`);
  return parts.map((p) => {
    const v = Number(p);
    // LightGBM writes infinite thresholds as "inf"/"-inf" in some versions.
    if (Number.isNaN(v)) {
      if (/^\+?inf(inity)?$/i.test(p)) return Infinity;
      if (/^-inf(inity)?$/i.test(p)) return -Infinity;
      fail(`${where}: ${key} has a non-number "${p}"`);
    }
    return v;
  });
}

function objectiveLink(objective: string): { link: Link; scale: number } {
  const [name, ...opts] = objective.trim().split(/\s+/);
  if (name === 'binary') {
    const s = opts.find((o) => o.startsWith('sigmoid:'));
    const scale = s === undefined ? 1 : Number(s.slice('sigmoid:'.length));
    if (!Number.isFinite(scale) || scale <= 0) fail(`bad sigmoid parameter in "${objective}"`);
    return { link: 'logistic', scale };
  }
  if (name === 'cross_entropy' || name === 'xentropy') return { link: 'logistic', scale: 1 };
  if (name === 'regression' || name === 'regression_l2') return { link: 'identity', scale: 1 };
  if (name === 'poisson' || name === 'gamma' || name === 'tweedie')
    return { link: 'exp', scale: 1 };
  return fail(
    `objective "${objective}" is not supported (binary, cross_entropy, regression, poisson, gamma, tweedie)`,
  );
}

export function importLightgbmText(text: string): TreeEnsemble {
  if (!isLightgbmText(text)) fail('the file does not start with "tree" and has no Tree= section');
  const lines = text.split(/\r?\n/);
  const end = lines.indexOf('end of trees');
  const body = end < 0 ? lines : lines.slice(0, end);
  // Sections: the header, then one block per "Tree=i" line.
  const starts: number[] = [];
  body.forEach((l, i) => {
    if (/^Tree=\d+$/.test(l)) starts.push(i);
  });
  const header = parseBlock(body.slice(1, starts[0]));
  const numClass = Number(header.get('num_class') ?? '1');
  const perIter = Number(header.get('num_tree_per_iteration') ?? '1');
  if (numClass !== 1 || perIter !== 1) fail('multi-class models are not supported');
  if (header.has('average_output')) fail('random-forest models (average_output) are not supported');
  const maxFeatureIdx = Number(header.get('max_feature_idx'));
  if (!Number.isInteger(maxFeatureIdx) || maxFeatureIdx < 0)
    fail('max_feature_idx is missing or bad');
  const numFeatures = maxFeatureIdx + 1;
  const { link, scale } = objectiveLink(header.get('objective') ?? fail('objective is missing'));

  const trees = starts.map((s, k) => {
    const block = parseBlock(body.slice(s + 1, starts[k + 1] ?? body.length));
    return importTree(block, `Tree=${k}`, numFeatures, scale);
  });
  const names = header.get('feature_names')?.trim().split(/\s+/);
  return {
    numFeatures,
    featureNames: names?.length === numFeatures ? names : undefined,
    baseMargin: 0,
    trees,
    accumulation: 'float64',
    link,
  };
}

function importTree(
  b: Map<string, string>,
  where: string,
  numFeatures: number,
  scale: number,
): Tree {
  const numLeaves = Number(b.get('num_leaves'));
  if (!Number.isInteger(numLeaves) || numLeaves < 1) fail(`${where}: num_leaves is missing or bad`);
  const numCat = Number(b.get('num_cat') ?? '0');
  if (!Number.isInteger(numCat) || numCat < 0) fail(`${where}: num_cat is bad`);
  if (Number(b.get('is_linear') ?? '0') !== 0) fail(`${where}: linear trees are not supported`);
  // A sigmoid scale s is folded into the leaves: 1/(1+exp(-s·Σv)) = 1/(1+exp(-Σ(s·v))).
  const leafValue = numbers(b, 'leaf_value', numLeaves, where).map((v) =>
    scale === 1 ? v : v * scale,
  );
  if (numLeaves === 1)
    return {
      feature: [-1],
      threshold: [0],
      left: [0],
      right: [0],
      missingLeft: [false],
      value: [leafValue[0]!],
    };

  const nInternal = numLeaves - 1;
  const splitFeature = numbers(b, 'split_feature', nInternal, where);
  const thresholdRaw = numbers(b, 'threshold', nInternal, where);
  const decisionType = numbers(b, 'decision_type', nInternal, where);
  const leftChild = numbers(b, 'left_child', nInternal, where);
  const rightChild = numbers(b, 'right_child', nInternal, where);
  const gain = b.has('split_gain') ? numbers(b, 'split_gain', nInternal, where) : undefined;
  // Our node ids: internal node i stays i, leaf j becomes nInternal + j (LightGBM writes leaf j
  // as the child reference ~j = -j - 1).
  const child = (c: number): number => (c >= 0 ? c : nInternal + ~c);

  const catSets = numCat > 0 ? categorySets(b, numCat, where) : [];
  const n = nInternal + numLeaves;
  const tree = {
    feature: new Array<number>(n).fill(-1),
    threshold: new Array<number>(n).fill(0),
    left: new Array<number>(n).fill(0),
    right: new Array<number>(n).fill(0),
    missingLeft: new Array<boolean>(n).fill(false),
    value: new Array<number>(n).fill(0),
    gain: new Array<number>(n).fill(0),
    categories: new Array<number[] | null>(n).fill(null),
  };
  for (let i = 0; i < nInternal; i++) {
    const dt = decisionType[i]!;
    const missing = (dt >> 2) & 3;
    const t = thresholdRaw[i]!;
    const f = splitFeature[i]!;
    if (!Number.isInteger(f) || f < 0 || f >= numFeatures)
      fail(`${where}: node ${i} splits on feature ${f}`);
    tree.feature[i] = f;
    tree.left[i] = child(leftChild[i]!);
    tree.right[i] = child(rightChild[i]!);
    tree.gain[i] = gain?.[i] ?? 0;
    if ((dt & CATEGORICAL) !== 0) {
      // NaN and negative values go right whatever the missing type (LightGBM's documented rule).
      const set = catSets[t];
      if (!Number.isInteger(t) || set === undefined)
        fail(`${where}: node ${i} is a categorical split on set ${t} of ${catSets.length}`);
      tree.categories[i] = set;
      continue;
    }
    let missingLeft: boolean;
    if (missing === MISSING_NAN) missingLeft = (dt & DEFAULT_LEFT) !== 0;
    else if (missing === MISSING_NONE)
      missingLeft = 0 <= t; // NaN is compared as 0.0
    else if (missing === MISSING_ZERO)
      fail(
        `${where}: node ${i} treats zero as missing (zero_as_missing=true), which is not supported`,
      );
    else fail(`${where}: node ${i} has an unknown missing type in decision_type ${dt}`);
    tree.threshold[i] = nextUp64(t);
    tree.missingLeft[i] = missingLeft;
  }
  leafValue.forEach((v, j) => (tree.value[nInternal + j] = v));
  return numCat > 0 ? tree : { ...tree, categories: undefined };
}

/** Decodes `cat_boundaries` / `cat_threshold` into one sorted list of left categories per set. */
function categorySets(b: Map<string, string>, numCat: number, where: string): number[][] {
  const bounds = numbers(b, 'cat_boundaries', numCat + 1, where);
  const total = bounds[numCat]!;
  const words = numbers(b, 'cat_threshold', total, where);
  const sets: number[][] = [];
  for (let k = 0; k < numCat; k++) {
    const lo = bounds[k]!;
    const hi = bounds[k + 1]!;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < lo || hi > total)
      fail(`${where}: cat_boundaries are not increasing`);
    const set: number[] = [];
    for (let w = lo; w < hi; w++) {
      const word = words[w]!;
      if (!Number.isInteger(word) || word < 0 || word > 0xffffffff)
        fail(`${where}: cat_threshold word ${word} is not a 32-bit unsigned integer`);
      for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) set.push((w - lo) * 32 + bit);
    }
    sets.push(set);
  }
  return sets;
}
