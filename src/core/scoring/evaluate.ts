/**
 * Scoring loops over a `CompiledForest`. Rows are row-major in one Float64Array (row r's feature
 * f at `rows[r * numFeatures + f]`, NaN = missing); results go into a caller-owned buffer, so a
 * call allocates nothing (the decision path reuses its buffers across requests).
 *
 * Implementation notes
 * - Parity: each row's margin starts at the base margin and adds tree outputs in model order;
 *   for float32 models every partial sum is rounded to float32 (`Math.fround`), which is what
 *   XGBoost's predictor does with its float output buffer. Tree-major and row-major orders give
 *   identical results because each row keeps its own accumulator.
 * - `perfect` batches go tree-major (one tree's nodes stay hot in L1 while all candidates pass
 *   through it) and push eight rows through a tree together: the eight walks are independent
 *   chains of loads, so the CPU overlaps their latency (measured on 150 rows × 100 depth-7
 *   trees: 0.185 ms with eight, 0.202 ms with four, about 0.5 ms one row at a time).
 * - The per-step "go right" is arithmetic on the comparison results rather than a branch,
 *   because split outcomes are unpredictable (QuickScorer, Lucchese et al. SIGIR 2015, §2 on
 *   branch mispredictions).
 *   Measured by `npm run bench -- ml`; see bench/README.md.
 */
import type { CompiledForest, PerfectForest, WalkForest } from './compile.js';
import { MAX_CATEGORY, sigmoid } from './model.js';

/**
 * Rows per tree-major block. 256 rows × 150 features × 8 bytes ≈ 300 KB, about an L2 cache; a
 * whole request's candidates (~150) fit in one block. Without blocking, scoring 40,000 rows
 * tree-major re-read 45 MB of features once per tree.
 */
const ROW_BLOCK = 256;

/** Writes each row's raw margin (before the link function) into out[0..n). */
export function predictMargins(
  forest: CompiledForest,
  rows: Float64Array,
  n: number,
  out: Float64Array,
): void {
  checkShapes(forest, rows, n, out);
  out.fill(forest.baseMargin, 0, n);
  if (forest.layout === 'perfect') {
    // Blocks of rows: a block's feature values stay in cache while every tree passes over it.
    for (let r0 = 0; r0 < n; r0 += ROW_BLOCK)
      perfectTreeMajor(forest, rows, r0, Math.min(n, r0 + ROW_BLOCK), out);
  } else walkRows(forest, rows, n, out);
}

/** Writes each row's prediction (probability for logistic models) into out[0..n). */
export function predictBatch(
  forest: CompiledForest,
  rows: Float64Array,
  n: number,
  out: Float64Array,
): void {
  predictMargins(forest, rows, n, out);
  if (forest.link === 'logistic') for (let r = 0; r < n; r++) out[r] = sigmoid(out[r]!);
  else if (forest.link === 'exp') for (let r = 0; r < n; r++) out[r] = Math.exp(out[r]!);
}

/** One row starting at `offset` in `row`; the prediction after the link function. */
export function predictRow(forest: CompiledForest, row: Float64Array, offset = 0): number {
  if (offset < 0 || offset + forest.numFeatures > row.length)
    throw new RangeError('row is shorter than the model has features');
  const m =
    forest.layout === 'perfect'
      ? perfectOneRow(forest, row, offset)
      : walkOneRow(forest, row, offset);
  return forest.link === 'logistic' ? sigmoid(m) : forest.link === 'exp' ? Math.exp(m) : m;
}

function checkShapes(
  forest: CompiledForest,
  rows: Float64Array,
  n: number,
  out: Float64Array,
): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bad row count ${n}`);
  if (rows.length < n * forest.numFeatures)
    throw new RangeError(
      `rows holds ${rows.length} values, ${n} rows need ${n * forest.numFeatures}`,
    );
  if (out.length < n) throw new RangeError(`out holds ${out.length} values for ${n} rows`);
}

function walkOneRow(f: WalkForest, row: Float64Array, off: number): number {
  if (f.catOffset !== undefined) return walkOneRowCategorical(f, row, off);
  const { root, feature, threshold, left, right, missingLeft, leafValue } = f;
  const f32 = f.accumulation === 'float32';
  let sum = f.baseMargin;
  for (let t = 0; t < f.numTrees; t++) {
    let i = root[t]!;
    while (i >= 0) {
      const x = row[off + feature[i]!]!;
      // NaN fails `x < threshold`; it goes left only where the model says so.
      i = x < threshold[i]! || (x !== x && missingLeft[i] === 1) ? left[i]! : right[i]!;
    }
    sum = f32 ? Math.fround(sum + leafValue[~i]!) : sum + leafValue[~i]!;
  }
  return sum;
}

/**
 * The walk with categorical nodes (LightGBM's rule, `categoryGoesLeft` in model.ts): NaN, a
 * negative category or one beyond `int` goes right; otherwise left iff its bit is set.
 */
function walkOneRowCategorical(f: WalkForest, row: Float64Array, off: number): number {
  const { root, feature, threshold, left, right, missingLeft, leafValue } = f;
  const catOffset = f.catOffset!;
  const catLength = f.catLength!;
  const catWords = f.catWords!;
  const f32 = f.accumulation === 'float32';
  let sum = f.baseMargin;
  for (let t = 0; t < f.numTrees; t++) {
    let i = root[t]!;
    while (i >= 0) {
      const x = row[off + feature[i]!]!;
      const co = catOffset[i]!;
      let goLeft: boolean;
      if (co < 0) goLeft = x < threshold[i]! || (x !== x && missingLeft[i] === 1);
      else {
        const c = Math.trunc(x);
        const w = c >> 5;
        goLeft =
          c >= 0 &&
          c <= MAX_CATEGORY &&
          w < catLength[i]! &&
          ((catWords[co + w]! >>> (c & 31)) & 1) === 1;
      }
      i = goLeft ? left[i]! : right[i]!;
    }
    sum = f32 ? Math.fround(sum + leafValue[~i]!) : sum + leafValue[~i]!;
  }
  return sum;
}

function walkRows(f: WalkForest, rows: Float64Array, n: number, out: Float64Array): void {
  const nf = f.numFeatures;
  for (let r = 0; r < n; r++) out[r] = walkOneRow(f, rows, r * nf);
}

function perfectOneRow(f: PerfectForest, row: Float64Array, off: number): number {
  const { feature, threshold, missingRight, leafValue, depth } = f;
  const internal = (1 << depth) - 1;
  const f32 = f.accumulation === 'float32';
  let sum = f.baseMargin;
  for (let t = 0, nodeBase = 0, leafBase = 0; t < f.numTrees; t++) {
    let i = 0;
    for (let d = 0; d < depth; d++) {
      const k = nodeBase + i;
      const x = row[off + feature[k]!]!;
      i = 2 * i + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
    }
    const v = leafValue[leafBase + i - internal]!;
    sum = f32 ? Math.fround(sum + v) : sum + v;
    nodeBase += internal;
    leafBase += internal + 1;
  }
  return sum;
}

function perfectTreeMajor(
  f: PerfectForest,
  rows: Float64Array,
  start: number,
  end: number,
  out: Float64Array,
): void {
  const { feature, threshold, missingRight, leafValue, depth } = f;
  const nf = f.numFeatures;
  const internal = (1 << depth) - 1;
  const f32 = f.accumulation === 'float32';
  const n8 = end - ((end - start) % 8);
  for (let t = 0, nodeBase = 0, leafBase = -internal; t < f.numTrees; t++) {
    let r = start;
    for (; r < n8; r += 8) {
      const o = r * nf;
      let i0 = 0,
        i1 = 0,
        i2 = 0,
        i3 = 0,
        i4 = 0,
        i5 = 0,
        i6 = 0,
        i7 = 0;
      for (let d = 0; d < depth; d++) {
        let k = nodeBase + i0;
        let x = rows[o + feature[k]!]!;
        i0 = 2 * i0 + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
        k = nodeBase + i1;
        x = rows[o + nf + feature[k]!]!;
        i1 = 2 * i1 + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
        k = nodeBase + i2;
        x = rows[o + 2 * nf + feature[k]!]!;
        i2 = 2 * i2 + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
        k = nodeBase + i3;
        x = rows[o + 3 * nf + feature[k]!]!;
        i3 = 2 * i3 + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
        k = nodeBase + i4;
        x = rows[o + 4 * nf + feature[k]!]!;
        i4 = 2 * i4 + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
        k = nodeBase + i5;
        x = rows[o + 5 * nf + feature[k]!]!;
        i5 = 2 * i5 + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
        k = nodeBase + i6;
        x = rows[o + 6 * nf + feature[k]!]!;
        i6 = 2 * i6 + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
        k = nodeBase + i7;
        x = rows[o + 7 * nf + feature[k]!]!;
        i7 = 2 * i7 + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
      }
      if (f32) {
        out[r] = Math.fround(out[r]! + leafValue[leafBase + i0]!);
        out[r + 1] = Math.fround(out[r + 1]! + leafValue[leafBase + i1]!);
        out[r + 2] = Math.fround(out[r + 2]! + leafValue[leafBase + i2]!);
        out[r + 3] = Math.fround(out[r + 3]! + leafValue[leafBase + i3]!);
        out[r + 4] = Math.fround(out[r + 4]! + leafValue[leafBase + i4]!);
        out[r + 5] = Math.fround(out[r + 5]! + leafValue[leafBase + i5]!);
        out[r + 6] = Math.fround(out[r + 6]! + leafValue[leafBase + i6]!);
        out[r + 7] = Math.fround(out[r + 7]! + leafValue[leafBase + i7]!);
      } else {
        out[r] = out[r]! + leafValue[leafBase + i0]!;
        out[r + 1] = out[r + 1]! + leafValue[leafBase + i1]!;
        out[r + 2] = out[r + 2]! + leafValue[leafBase + i2]!;
        out[r + 3] = out[r + 3]! + leafValue[leafBase + i3]!;
        out[r + 4] = out[r + 4]! + leafValue[leafBase + i4]!;
        out[r + 5] = out[r + 5]! + leafValue[leafBase + i5]!;
        out[r + 6] = out[r + 6]! + leafValue[leafBase + i6]!;
        out[r + 7] = out[r + 7]! + leafValue[leafBase + i7]!;
      }
    }
    for (; r < end; r++) {
      const o = r * nf;
      let i = 0;
      for (let d = 0; d < depth; d++) {
        const k = nodeBase + i;
        const x = rows[o + feature[k]!]!;
        i = 2 * i + 1 + (+(x >= threshold[k]!) | (+(x !== x) & missingRight[k]!));
      }
      const v = leafValue[leafBase + i]!;
      out[r] = f32 ? Math.fround(out[r]! + v) : out[r]! + v;
    }
    nodeBase += internal;
    leafBase += internal + 1;
  }
}
