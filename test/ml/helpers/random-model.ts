/** Random tree ensembles for evaluator tests: leaf-wise shapes like a num_leaves/max_depth model. */
import type { Accumulation, Tree, TreeEnsemble } from '../../../src/core/scoring/model.js';

export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function randomTree(
  rnd: () => number,
  numFeatures: number,
  maxLeaves: number,
  maxDepth: number,
): Tree {
  const feature = [-1];
  const threshold = [0];
  const left = [0];
  const right = [0];
  const missingLeft = [false];
  const value = [rnd() - 0.5];
  const depth = [0];
  let leaves = [0];
  while (leaves.length < maxLeaves) {
    const open = leaves.filter((l) => depth[l]! < maxDepth);
    if (open.length === 0) break;
    const l = open[Math.floor(rnd() * open.length)]!;
    const a = feature.length;
    const b = a + 1;
    feature[l] = Math.floor(rnd() * numFeatures);
    // Thresholds on a coarse grid so that test rows hit them exactly now and then.
    threshold[l] = Math.round((rnd() * 2 - 1) * 8) / 8;
    left[l] = a;
    right[l] = b;
    missingLeft[l] = rnd() < 0.5;
    for (const c of [a, b]) {
      feature[c] = -1;
      threshold[c] = 0;
      left[c] = 0;
      right[c] = 0;
      missingLeft[c] = false;
      value[c] = Math.fround(rnd() - 0.5);
      depth[c] = depth[l]! + 1;
    }
    leaves = leaves.filter((x) => x !== l).concat([a, b]);
  }
  return { feature, threshold, left, right, missingLeft, value };
}

export function randomEnsemble(opts: {
  seed: number;
  numFeatures: number;
  numTrees: number;
  maxLeaves: number;
  maxDepth: number;
  accumulation: Accumulation;
}): TreeEnsemble {
  const rnd = lcg(opts.seed);
  return {
    numFeatures: opts.numFeatures,
    baseMargin: -3.2,
    trees: Array.from({ length: opts.numTrees }, () =>
      randomTree(rnd, opts.numFeatures, opts.maxLeaves, opts.maxDepth),
    ),
    accumulation: opts.accumulation,
    link: 'logistic',
  };
}

/** Rows with values on the threshold grid (exact ties), between it, and NaN (missing). */
export function randomRows(
  seed: number,
  n: number,
  numFeatures: number,
  missingRate = 0.1,
): Float64Array {
  const rnd = lcg(seed);
  return new Float64Array(n * numFeatures).map(() => {
    const u = rnd();
    if (u < missingRate) return NaN;
    if (u < 0.4) return Math.round((rnd() * 2 - 1) * 8) / 8;
    return rnd() * 2.2 - 1.1;
  });
}
