/**
 * Compiles a `TreeEnsemble` into flat typed arrays for the scoring loops in `evaluate.ts`.
 *
 * Implementation notes
 * - Two layouts. `walk` keeps every real node once (any depth); `perfect` pads every tree to a
 *   complete binary tree of the ensemble's maximum depth D, stored in heap order (children of i
 *   at 2i+1, 2i+2), so that scoring a tree is exactly D steps of "i = 2i + 1 + goRight" with no
 *   data-dependent branch — the same idea as the complete-tree layouts of treelite's and
 *   QuickScorer's evaluations (Lucchese et al., SIGIR 2015): branch mispredictions, not
 *   arithmetic, dominate a plain tree walk. A leaf at depth d < D is copied into all 2^(D-d)
 *   padded leaves below it, so the padded nodes' split never matters.
 * - `perfect` costs 2^D leaves and 2^D - 1 nodes per tree, so it is used only up to
 *   `PERFECT_MAX_DEPTH`; deeper models use `walk`.
 * - Leaf values are stored as float64; for float32 models they are float32 values exactly.
 * - Categorical splits (imported LightGBM models) exist only in `walk`: the node keeps a bitset
 *   of the categories that go left (`catOffset`/`catWords`), and `auto` picks `walk` for such a
 *   model, so numeric models keep the branch-free `perfect` loop untouched.
 */
import {
  treeDepth,
  validateEnsemble,
  type Accumulation,
  type Link,
  type TreeEnsemble,
} from './model.js';

export const PERFECT_MAX_DEPTH = 10;

export type Layout = 'walk' | 'perfect';

interface ForestBase {
  readonly numFeatures: number;
  readonly numTrees: number;
  readonly baseMargin: number;
  readonly accumulation: Accumulation;
  readonly link: Link;
}

/**
 * `walk` layout. Node arrays are global over all trees. A child index c >= 0 is a node; c < 0 is
 * the leaf ~c in `leafValue`. A tree whose root is a leaf has `root[t] < 0`.
 */
export interface WalkForest extends ForestBase {
  readonly layout: 'walk';
  readonly root: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly missingLeft: Uint8Array;
  readonly leafValue: Float64Array;
  /** Present iff some node is categorical: per node, -1 (numeric) or its first word in catWords. */
  readonly catOffset?: Int32Array;
  /** Per node, the number of 32-bit words of its bitset (0 for numeric nodes). */
  readonly catLength?: Int32Array;
  /** Bitsets: category c goes left iff bit c % 32 of word c >> 5 is set. */
  readonly catWords?: Uint32Array;
}

/**
 * `perfect` layout: tree t's internal node j is at t * (2^depth - 1) + j, its leaf k at
 * t * 2^depth + k. `missingRight[j]` is 1 when NaN goes right.
 */
export interface PerfectForest extends ForestBase {
  readonly layout: 'perfect';
  readonly depth: number;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly missingRight: Uint8Array;
  readonly leafValue: Float64Array;
}

export type CompiledForest = WalkForest | PerfectForest;

export interface CompileOptions {
  /** Default `auto`: `perfect` when the deepest tree is at most PERFECT_MAX_DEPTH. */
  layout?: Layout | 'auto';
}

export function compileForest(model: TreeEnsemble, opts: CompileOptions = {}): CompiledForest {
  validateEnsemble(model);
  const depth = model.trees.reduce((d, t) => Math.max(d, treeDepth(t)), 0);
  const layout = opts.layout ?? 'auto';
  const categorical = model.trees.some((t) => t.categories?.some((c) => c !== null) === true);
  if (layout === 'perfect' && categorical)
    throw new RangeError('perfect layout has no categorical splits; use walk');
  if (layout === 'perfect' || (layout === 'auto' && !categorical && depth <= PERFECT_MAX_DEPTH)) {
    if (depth > PERFECT_MAX_DEPTH)
      throw new RangeError(
        `perfect layout needs depth <= ${PERFECT_MAX_DEPTH}, model has ${depth}`,
      );
    return compilePerfect(model, depth);
  }
  return compileWalk(model);
}

function base(model: TreeEnsemble): ForestBase {
  return {
    numFeatures: model.numFeatures,
    numTrees: model.trees.length,
    // The float32 predictor starts from a float32 base margin (XGBoost keeps it in a float buffer).
    baseMargin: model.accumulation === 'float32' ? Math.fround(model.baseMargin) : model.baseMargin,
    accumulation: model.accumulation,
    link: model.link,
  };
}

function compileWalk(model: TreeEnsemble): WalkForest {
  let nodes = 0;
  let leaves = 0;
  for (const t of model.trees)
    for (const f of t.feature) {
      if (f < 0) leaves++;
      else nodes++;
    }
  const root = new Int32Array(model.trees.length);
  const feature = new Int32Array(nodes);
  const threshold = new Float64Array(nodes);
  const left = new Int32Array(nodes);
  const right = new Int32Array(nodes);
  const missingLeft = new Uint8Array(nodes);
  const leafValue = new Float64Array(leaves);
  const catOffset = new Int32Array(nodes).fill(-1);
  const catLength = new Int32Array(nodes);
  const words: number[] = [];
  let nodeAt = 0;
  let leafAt = 0;
  model.trees.forEach((tree, t) => {
    // Assign global slots in the tree's own node order, then translate child references.
    const slot = tree.feature.map((f) => (f < 0 ? ~leafAt++ : nodeAt++));
    tree.feature.forEach((f, i) => {
      const s = slot[i]!;
      if (f < 0) {
        leafValue[~s] = tree.value[i]!;
        return;
      }
      feature[s] = f;
      threshold[s] = tree.threshold[i]!;
      left[s] = slot[tree.left[i]!]!;
      right[s] = slot[tree.right[i]!]!;
      missingLeft[s] = tree.missingLeft[i]! ? 1 : 0;
      const cats = tree.categories?.[i];
      if (cats !== undefined && cats !== null) {
        const len = cats.length === 0 ? 0 : (Math.max(...cats) >> 5) + 1;
        catOffset[s] = words.length;
        catLength[s] = len;
        const at = words.length;
        for (let w = 0; w < len; w++) words.push(0);
        for (const c of cats)
          words[at + (c >> 5)] = (words[at + (c >> 5)]! | (1 << (c & 31))) >>> 0;
      }
    });
    root[t] = slot[0]!;
  });
  const hasCategorical = catOffset.some((o) => o >= 0);
  return {
    ...base(model),
    layout: 'walk',
    root,
    feature,
    threshold,
    left,
    right,
    missingLeft,
    leafValue,
    ...(hasCategorical ? { catOffset, catLength, catWords: Uint32Array.from(words) } : {}),
  };
}

function compilePerfect(model: TreeEnsemble, depth: number): PerfectForest {
  const internal = (1 << depth) - 1;
  const width = 1 << depth;
  const nTrees = model.trees.length;
  const feature = new Int32Array(nTrees * internal);
  // Padded nodes compare feature 0 against +Infinity; their two subtrees hold the same leaf copies,
  // so the outcome never matters, but a fixed value keeps the loop's memory access regular.
  const threshold = new Float64Array(nTrees * internal).fill(Infinity);
  const missingRight = new Uint8Array(nTrees * internal);
  const leafValue = new Float64Array(nTrees * width);
  model.trees.forEach((tree, t) => {
    // (node in the source tree, heap position, level)
    const stack: Array<[number, number, number]> = [[0, 0, 0]];
    while (stack.length > 0) {
      const [i, pos, level] = stack.pop()!;
      if (tree.feature[i]! < 0) {
        // Heap position pos at this level covers leaves [first, first + span) of the last level.
        const span = 1 << (depth - level);
        const first = (pos + 1) * span - width;
        leafValue.fill(tree.value[i]!, t * width + first, t * width + first + span);
        continue;
      }
      const k = t * internal + pos;
      feature[k] = tree.feature[i]!;
      threshold[k] = tree.threshold[i]!;
      missingRight[k] = tree.missingLeft[i]! ? 0 : 1;
      stack.push([tree.left[i]!, 2 * pos + 1, level + 1], [tree.right[i]!, 2 * pos + 2, level + 1]);
    }
  });
  return { ...base(model), layout: 'perfect', depth, feature, threshold, missingRight, leafValue };
}
