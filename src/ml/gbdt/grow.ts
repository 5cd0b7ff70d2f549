/**
 * Grows one regression tree on gradients, leaf-wise (best-first), as LightGBM does (Ke et al.,
 * NIPS 2017; Shi, "Best-first decision tree learning", 2007): the leaf whose best split gains the
 * most is split next, until `numLeaves` leaves exist, no split gains more than
 * `minGainToSplit`, or every splittable leaf is at `maxDepth`.
 *
 * Implementation notes
 * - Rows of each leaf are a contiguous segment of `idx`; a split partitions the segment in place
 *   (stable, so rows stay in ascending order and the column gathers stay monotone).
 * - Histogram subtraction (LightGBM §2; also XGBoost `hist`): only the smaller child's histogram
 *   is built from rows; the larger child's is parent − smaller, computed in the parent's slot.
 * - Leaf outputs are Newton steps −G / (H + λ), times the learning rate.
 */
import type { Tree } from '../../core/scoring/model.js';
import { MISSING_BIN } from './binning.js';
import { findBestSplit, type SplitCandidate, type SplitParams } from './split.js';

export interface GrowParams extends SplitParams {
  numLeaves: number;
  maxDepth: number;
  learningRate: number;
}

/** Builds histograms; the parallel engine spreads features over worker threads. */
export interface HistogramEngine {
  /**
   * Histograms of the tree's features over idx[begin..end) into slot `slot`; the leaf's totals
   * (g, h, count) let bundled features be unbundled.
   */
  build(slot: number, begin: number, end: number, g: number, h: number, c: number): Promise<void>;
  /** slot big −= slot small, for the tree's features. */
  subtract(big: number, small: number): void;
  readonly hist: Float64Array;
  readonly slotSize: number;
}

export interface GrowContext {
  bins: Uint8Array;
  numRows: number;
  /** Bagged rows in idx[0..count), ascending. Partitioned in place. */
  idx: Int32Array;
  count: number;
  tmp: Int32Array;
  grad: Float64Array;
  hess: Float64Array;
  feats: Int32Array;
  numFeats: number;
  valueBins: Int32Array;
  cuts: readonly Float64Array[];
  engine: HistogramEngine;
}

/** A grown tree: the model's `Tree` plus the bin thresholds, to update margins on bins. */
export interface GrownTree {
  tree: Tree;
  thresholdBin: number[];
  /** Each leaf's rows as idx[begin..end) and its output: in-bag margins need no tree walk. */
  leaves: Array<{ begin: number; end: number; value: number }>;
}

interface Leaf {
  node: number;
  begin: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  c: number;
  slot: number;
  split: SplitCandidate | null;
}

export async function growTree(ctx: GrowContext, p: GrowParams): Promise<GrownTree> {
  const feature: number[] = [-1];
  const threshold: number[] = [0];
  const thresholdBin: number[] = [0];
  const left: number[] = [0];
  const right: number[] = [0];
  const missingLeft: boolean[] = [false];
  const value: number[] = [0];
  const gain: number[] = [0];

  let g = 0;
  let h = 0;
  for (let k = 0; k < ctx.count; k++) {
    const r = ctx.idx[k]!;
    g += ctx.grad[r]!;
    h += ctx.hess[r]!;
  }
  const freeSlots: number[] = [];
  for (let s = p.numLeaves - 1; s >= 1; s--) freeSlots.push(s);
  const root: Leaf = {
    node: 0,
    begin: 0,
    end: ctx.count,
    depth: 0,
    g,
    h,
    c: ctx.count,
    slot: 0,
    split: null,
  };
  const leaves: Leaf[] = [root];
  const canSplit = (l: Leaf): boolean => l.depth < p.maxDepth && l.c >= 2 * p.minDataInLeaf;
  const { engine } = ctx;
  const findSplit = (l: Leaf): SplitCandidate | null =>
    findBestSplit(
      engine.hist,
      l.slot * engine.slotSize,
      ctx.feats,
      ctx.numFeats,
      ctx.valueBins,
      l.g,
      l.h,
      l.c,
      p,
    );

  if (canSplit(root) && p.numLeaves > 1) {
    await engine.build(0, 0, ctx.count, root.g, root.h, root.c);
    root.split = findSplit(root);
  }

  while (leaves.length < p.numLeaves) {
    let best: Leaf | null = null;
    for (const l of leaves)
      if (l.split !== null && (best === null || l.split.gain > best.split!.gain)) best = l;
    if (best === null) break;
    const s = best.split!;
    const mid = partition(ctx, best.begin, best.end, s);
    const a = feature.length;
    const b = a + 1;
    feature[best.node] = s.feature;
    thresholdBin[best.node] = s.bin;
    threshold[best.node] = ctx.cuts[s.feature]![s.bin]!;
    left[best.node] = a;
    right[best.node] = b;
    missingLeft[best.node] = s.missingLeft;
    gain[best.node] = s.gain;
    for (let k = 0; k < 2; k++) {
      feature.push(-1);
      threshold.push(0);
      thresholdBin.push(0);
      left.push(0);
      right.push(0);
      missingLeft.push(false);
      value.push(0);
      gain.push(0);
    }
    const L: Leaf = {
      node: a,
      begin: best.begin,
      end: mid,
      depth: best.depth + 1,
      g: s.leftG,
      h: s.leftH,
      c: s.leftC,
      slot: -1,
      split: null,
    };
    const R: Leaf = {
      node: b,
      begin: mid,
      end: best.end,
      depth: best.depth + 1,
      g: best.g - s.leftG,
      h: best.h - s.leftH,
      c: best.c - s.leftC,
      slot: -1,
      split: null,
    };
    leaves.splice(leaves.indexOf(best), 1, L, R);
    if (leaves.length < p.numLeaves && (canSplit(L) || canSplit(R))) {
      const [small, big] = L.end - L.begin <= R.end - R.begin ? [L, R] : [R, L];
      big.slot = best.slot;
      small.slot = freeSlots.pop()!;
      await engine.build(small.slot, small.begin, small.end, small.g, small.h, small.c);
      engine.subtract(big.slot, small.slot);
      for (const child of [L, R]) {
        if (canSplit(child)) child.split = findSplit(child);
        // A leaf that will never split returns its histogram slot.
        if (child.split === null) freeSlots.push(child.slot);
      }
    } else freeSlots.push(best.slot);
  }

  for (const l of leaves) value[l.node] = (-l.g / (l.h + p.lambdaL2)) * p.learningRate;
  return {
    tree: { feature, threshold, left, right, missingLeft, value, gain },
    thresholdBin,
    leaves: leaves.map((l) => ({ begin: l.begin, end: l.end, value: value[l.node]! })),
  };
}

/** Stable in-place partition of idx[begin..end) by the split; returns the first right index. */
function partition(ctx: GrowContext, begin: number, end: number, s: SplitCandidate): number {
  const { idx, tmp, bins } = ctx;
  const col = s.feature * ctx.numRows;
  const tb = s.bin;
  const ml = s.missingLeft;
  let l = begin;
  let r = 0;
  for (let k = begin; k < end; k++) {
    const row = idx[k]!;
    const bin = bins[col + row]!;
    if (bin === MISSING_BIN ? ml : bin <= tb) idx[l++] = row;
    else tmp[r++] = row;
  }
  idx.set(tmp.subarray(0, r), l);
  return l;
}
