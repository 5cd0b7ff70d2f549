/**
 * The tree-ensemble model every source is converted into: our own trainer's output, an imported
 * XGBoost JSON model, an imported LightGBM text model. It is plain data (JSON-serialisable) and
 * is compiled into typed arrays by `compileForest` before scoring.
 *
 * One split rule for all sources: at an internal node, a feature value x goes LEFT iff
 * `x < threshold` (float64 comparison), and a missing value (NaN) goes left iff `missingLeft`.
 * Importers translate each library's own rule into this one (see `float.ts`), so the evaluator has
 * a single hot loop and no per-format branches.
 *
 * Accumulation: `float32` reproduces XGBoost's predictor, which adds tree outputs into a float32
 * buffer starting from the base margin (XGBoost `CPUPredictor::PredictDMatrix`); `float64`
 * reproduces LightGBM (`GBDT::PredictRaw` sums doubles) and is what our trainer uses. Trees are
 * always added in model order, base margin first, so float32 rounding matches the library.
 */

export interface Tree {
  /** Node i is a leaf iff feature[i] < 0. Node 0 is the root. */
  readonly feature: readonly number[];
  readonly threshold: readonly number[];
  readonly left: readonly number[];
  readonly right: readonly number[];
  readonly missingLeft: readonly boolean[];
  /** Leaf output (margin units, learning rate already applied); ignored on internal nodes. */
  readonly value: readonly number[];
  /** Split gain per internal node (0 when unknown); used for gain importance. */
  readonly gain?: readonly number[];
  /**
   * Categorical splits (LightGBM). When `categories[i]` is an array, node i ignores `threshold`
   * and `missingLeft`: x goes LEFT iff x is not NaN, c = trunc(x) satisfies 0 <= c < 2^31, and c
   * is in the list (see `categoryGoesLeft`). Absent or null entries are numeric splits.
   */
  readonly categories?: readonly (readonly number[] | null)[];
}

export type Accumulation = 'float32' | 'float64';
/** `exp`: log-link objectives (LightGBM poisson, gamma, tweedie) predict exp(margin). */
export type Link = 'logistic' | 'identity' | 'exp';

export interface TreeEnsemble {
  readonly numFeatures: number;
  readonly featureNames?: readonly string[];
  /** Margin every prediction starts from (XGBoost base_score after its link; our log-odds prior). */
  readonly baseMargin: number;
  readonly trees: readonly Tree[];
  readonly accumulation: Accumulation;
  readonly link: Link;
}

export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

/**
 * Checks the structural invariants the compiled evaluators rely on (indices in range, every node
 * reachable exactly once from the root, no cycles), so a corrupt or hostile model file fails here
 * with a message instead of looping or reading out of bounds while scoring.
 */
export function validateEnsemble(model: TreeEnsemble): void {
  if (!Number.isInteger(model.numFeatures) || model.numFeatures <= 0)
    throw new ModelFormatError(`numFeatures must be a positive integer, got ${model.numFeatures}`);
  if (!Number.isFinite(model.baseMargin))
    throw new ModelFormatError('baseMargin must be a finite number');
  if (model.featureNames !== undefined && model.featureNames.length !== model.numFeatures)
    throw new ModelFormatError(
      `featureNames has ${model.featureNames.length} names for ${model.numFeatures} features`,
    );
  model.trees.forEach((tree, t) => validateTree(tree, t, model.numFeatures));
}

function validateTree(tree: Tree, t: number, numFeatures: number): void {
  const n = tree.feature.length;
  const where = `tree ${t}`;
  if (n === 0) throw new ModelFormatError(`${where} has no nodes`);
  if (tree.categories !== undefined && tree.categories.length !== n)
    throw new ModelFormatError(`${where}: categories has ${tree.categories.length} entries`);
  for (const [name, arr] of [
    ['threshold', tree.threshold],
    ['left', tree.left],
    ['right', tree.right],
    ['missingLeft', tree.missingLeft],
    ['value', tree.value],
  ] as const) {
    if (arr.length !== n)
      throw new ModelFormatError(`${where}: ${name} has ${arr.length} entries, expected ${n}`);
  }
  const seen = new Uint8Array(n);
  const stack = [0];
  seen[0] = 1;
  while (stack.length > 0) {
    const i = stack.pop()!;
    const f = tree.feature[i]!;
    if (f < 0) {
      if (!Number.isFinite(tree.value[i]))
        throw new ModelFormatError(`${where}: leaf ${i} has a non-finite value`);
      continue;
    }
    if (!Number.isInteger(f) || f >= numFeatures)
      throw new ModelFormatError(`${where}: node ${i} splits on feature ${f} of ${numFeatures}`);
    const cats = tree.categories?.[i];
    if (cats !== undefined && cats !== null) {
      for (const c of cats)
        if (!Number.isInteger(c) || c < 0 || c > MAX_CATEGORY)
          throw new ModelFormatError(`${where}: node ${i} has a bad category ${c}`);
    } else if (Number.isNaN(tree.threshold[i]))
      throw new ModelFormatError(`${where}: node ${i} has a NaN threshold`);
    for (const c of [tree.left[i]!, tree.right[i]!]) {
      if (!Number.isInteger(c) || c <= 0 || c >= n)
        throw new ModelFormatError(`${where}: node ${i} has child ${c} out of range`);
      if (seen[c] === 1) throw new ModelFormatError(`${where}: node ${c} is reached twice`);
      seen[c] = 1;
      stack.push(c);
    }
  }
}

/** Depth of a tree (a single leaf has depth 0). */
export function treeDepth(tree: Tree): number {
  let max = 0;
  const stack: Array<[number, number]> = [[0, 0]];
  while (stack.length > 0) {
    const [i, d] = stack.pop()!;
    if (tree.feature[i]! < 0) {
      if (d > max) max = d;
      continue;
    }
    stack.push([tree.left[i]!, d + 1], [tree.right[i]!, d + 1]);
  }
  return max;
}

/**
 * Reference evaluator: walks the plain model for one row, with no compilation. It is the
 * specification the compiled layouts are tested against, and is not meant for the hot path.
 */
export function referenceMargin(model: TreeEnsemble, row: ArrayLike<number>): number {
  const f32 = model.accumulation === 'float32';
  let sum = f32 ? Math.fround(model.baseMargin) : model.baseMargin;
  for (const tree of model.trees) {
    let i = 0;
    while (tree.feature[i]! >= 0) {
      const x = row[tree.feature[i]!]!;
      const cats = tree.categories?.[i];
      const goLeft =
        cats !== undefined && cats !== null
          ? categoryGoesLeft(x, cats)
          : Number.isNaN(x)
            ? tree.missingLeft[i]!
            : x < tree.threshold[i]!;
      i = goLeft ? tree.left[i]! : tree.right[i]!;
    }
    sum = f32 ? Math.fround(sum + tree.value[i]!) : sum + tree.value[i]!;
  }
  return sum;
}

/** Largest category a categorical split can hold (LightGBM casts the value to a C `int`). */
export const MAX_CATEGORY = 2 ** 31 - 1;

/**
 * The categorical rule, as LightGBM documents it ("Advanced Topics": categorical features must
 * be non-negative integers; negative values and NaN are treated as missing, and missing values
 * of a categorical split go to the right child): the value is truncated toward zero like a C
 * cast to `int`; NaN, a negative result, or one past `int` range goes right; otherwise the row
 * goes left iff the category is in the split's set (values above the bitset's length are not).
 */
export function categoryGoesLeft(x: number, leftSet: readonly number[]): boolean {
  if (Number.isNaN(x)) return false;
  const c = Math.trunc(x);
  if (c < 0 || c > MAX_CATEGORY) return false;
  return leftSet.includes(c);
}

export function applyLink(link: Link, margin: number): number {
  return link === 'logistic' ? sigmoid(margin) : link === 'exp' ? Math.exp(margin) : margin;
}

export function sigmoid(margin: number): number {
  return 1 / (1 + Math.exp(-margin));
}
