/**
 * ml-scoring: an experiment, QuickScorer-style bit-vector evaluation (Lucchese et al., SIGIR 2015)
 * against the evaluator in src/core/scoring (`perfect` layout), same model, same rows, same run.
 *
 * QuickScorer numbers each tree's leaves left to right (≤ 32 here, one int32 per tree) and gives
 * every split node a mask that clears the leaves of its left subtree. Per row it walks each
 * feature's split nodes in ascending threshold order while `x >= threshold` (the nodes that send
 * the row right, "false nodes") and ANDs their masks into their trees' bit vectors; the exit leaf
 * of each tree is then its lowest set bit. NaN sends a row right where the model says so: those
 * nodes are in a separate per-feature list. The prototype lives here, not in src/: it is kept in
 * src/core/scoring only if this benchmark shows it faster (bench/README.md has the outcome).
 *
 * Steps: synthetic rows (dist/), our GBDT trained with the `ml` bench's shape (100 trees, 31
 * leaves, depth 7), parity of the two evaluators' margins on 2,000 test rows, then batches of 150
 * candidate rows timed in alternating rounds (medians per round, median over rounds).
 *
 * Env: BENCH_MLS_ROWS (30000 training rows), BENCH_MLS_TREES (100), BENCH_MLS_CALLS (1000),
 * BENCH_MLS_ROUNDS (4).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envNumber, median, round } from './lib/util.mjs';

export const name = 'ml-scoring';
export const description =
  'CTR evaluator experiment: QuickScorer bit vectors vs our perfect-tree layout, same model and rows';
export const timeoutMs = 5 * 60_000;

const ROWS = envNumber('BENCH_MLS_ROWS', 30_000, { integer: true });
const TREES = envNumber('BENCH_MLS_TREES', 100, { integer: true });
const CALLS = envNumber('BENCH_MLS_CALLS', 1000, { integer: true });
const ROUNDS = envNumber('BENCH_MLS_ROUNDS', 4, { integer: true });
const CANDIDATES = 150;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;

/** QuickScorer tables for a TreeEnsemble whose trees have at most 32 leaves. */
function compileQuickScorer(model) {
  const nf = model.numFeatures;
  const T = model.trees.length;
  const perFeature = Array.from({ length: nf }, () => []);
  const nanPerFeature = Array.from({ length: nf }, () => []);
  const leafValue = new Float64Array(T * 32);
  model.trees.forEach((tree, t) => {
    let leaves = 0;
    const dfs = (i) => {
      if (tree.feature[i] < 0) {
        leafValue[t * 32 + leaves] = tree.value[i];
        leaves++;
        if (leaves > 32) throw new RangeError('QuickScorer prototype: more than 32 leaves');
        return [leaves - 1, leaves];
      }
      const [l0, l1] = dfs(tree.left[i]);
      const [, r1] = dfs(tree.right[i]);
      // Clears the left subtree's leaves [l0, l1).
      const mask = ~((((1 << (l1 - l0)) >>> 0) - 1) << l0) | 0;
      const f = tree.feature[i];
      perFeature[f].push({ thr: tree.threshold[i], t, mask });
      if (!tree.missingLeft[i]) nanPerFeature[f].push({ t, mask });
      return [l0, r1];
    };
    dfs(0);
  });
  const flatten = (lists, withThr) => {
    const start = new Int32Array(nf + 1);
    let total = 0;
    lists.forEach((l, f) => {
      if (withThr) l.sort((a, b) => a.thr - b.thr);
      start[f] = total;
      total += l.length;
    });
    start[nf] = total;
    const thr = new Float64Array(total);
    const tree = new Int32Array(total);
    const mask = new Int32Array(total);
    let k = 0;
    for (const l of lists)
      for (const e of l) {
        if (withThr) thr[k] = e.thr;
        tree[k] = e.t;
        mask[k] = e.mask;
        k++;
      }
    return { start, thr, tree, mask };
  };
  return {
    numFeatures: nf,
    numTrees: T,
    baseMargin: model.accumulation === 'float32' ? Math.fround(model.baseMargin) : model.baseMargin,
    f32: model.accumulation === 'float32',
    nodes: flatten(perFeature, true),
    nan: flatten(nanPerFeature, false),
    leafValue,
    leafIdx: new Int32Array(T),
  };
}

function qsMargins(qs, rows, n, out) {
  for (let r = 0; r < n; r++) out[r] = qsRowMargin(qs, rows, r * qs.numFeatures);
}

function qsRowMargin(qs, rows, o) {
  const { numFeatures: nf, numTrees: T, nodes, nan, leafValue, leafIdx, f32 } = qs;
  const { start, thr, tree, mask } = nodes;
  {
    leafIdx.fill(-1);
    for (let f = 0; f < nf; f++) {
      const x = rows[o + f];
      if (x !== x) {
        for (let k = nan.start[f], e = nan.start[f + 1]; k < e; k++)
          leafIdx[nan.tree[k]] &= nan.mask[k];
        continue;
      }
      for (let k = start[f], e = start[f + 1]; k < e && thr[k] <= x; k++)
        leafIdx[tree[k]] &= mask[k];
    }
    let sum = qs.baseMargin;
    for (let t = 0; t < T; t++) {
      const v = leafIdx[t];
      const v2 = leafValue[t * 32 + 31 - Math.clz32(v & -v)];
      sum = f32 ? Math.fround(sum + v2) : sum + v2;
    }
    return sum;
  }
}

function timeBatch(fn, calls) {
  for (let i = 0; i < 100; i++) fn();
  const ms = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    fn();
    ms[i] = performance.now() - t0;
  }
  return median(Array.from(ms));
}

export async function run({ signal, log }) {
  for (const f of ['ml/data/synthetic.js', 'core/scoring/evaluate.js'])
    if (!existsSync(path.join(root, 'dist', f)))
      throw new Error(`dist/${f} is missing: run npm run build`);
  const { generateCtrData } = await import(dist('ml/data/synthetic.js'));
  const { sliceDataset } = await import(dist('ml/data/dataset-file.js'));
  const { trainGbdt } = await import(dist('ml/gbdt/train.js'));
  const { compileForest } = await import(dist('core/scoring/compile.js'));
  const { predictMargins } = await import(dist('core/scoring/evaluate.js'));

  log(`generating ${ROWS + 2000} rows, training ${TREES} trees…`);
  const ds = generateCtrData({ rows: ROWS + 2000, seed: 1 });
  const tr = sliceDataset(ds, 0, ROWS);
  const te = sliceDataset(ds, ROWS, ROWS + 2000);
  const { model } = await trainGbdt(
    tr,
    {
      numTrees: TREES,
      learningRate: 0.05,
      numLeaves: 31,
      maxDepth: 7,
      featureFraction: 0.8,
      baggingFraction: 0.8,
      minDataInLeaf: 20,
      threads: 2,
      seed: 1,
    },
    { signal },
  );
  const forest = compileForest(model);
  const qs = compileQuickScorer(model);
  const nf = ds.numFeatures;

  // Parity on the test rows.
  const testRows = Float64Array.from(te.features);
  const a = new Float64Array(te.numRows);
  const b = new Float64Array(te.numRows);
  predictMargins(forest, testRows, te.numRows, a);
  qsMargins(qs, testRows, te.numRows, b);
  let maxAbsDiff = 0;
  for (let i = 0; i < a.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
  log(`parity on ${te.numRows} rows: max |Δmargin| ${maxAbsDiff}`);
  if (maxAbsDiff > 1e-12) throw new Error(`QuickScorer prototype disagrees: ${maxAbsDiff}`);

  const cand = testRows.subarray(0, CANDIDATES * nf);
  const out = new Float64Array(CANDIDATES);
  const perfectRounds = [];
  const qsRounds = [];
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    signal.throwIfAborted();
    const order = round_ % 2 === 0 ? ['perfect', 'qs'] : ['qs', 'perfect'];
    for (const side of order) {
      if (side === 'perfect')
        perfectRounds.push(timeBatch(() => predictMargins(forest, cand, CANDIDATES, out), CALLS));
      else qsRounds.push(timeBatch(() => qsMargins(qs, cand, CANDIDATES, out), CALLS));
    }
    log(
      `round ${round_ + 1}: perfect ${round(perfectRounds.at(-1), 4)} ms, QuickScorer ${round(qsRounds.at(-1), 4)} ms`,
    );
  }
  const nodes = qs.nodes.start[nf];
  const perfect = {
    batch150MedianMs: round(median(perfectRounds), 4),
    perRound: perfectRounds.map((x) => round(x, 4)),
  };
  const quickScorer = {
    batch150MedianMs: round(median(qsRounds), 4),
    perRound: qsRounds.map((x) => round(x, 4)),
  };
  return {
    trainRows: ROWS,
    trees: model.trees.length,
    splitNodes: nodes,
    parityMaxAbsDiff: maxAbsDiff,
    perfect,
    quickScorer,
    speedupQsOverPerfect: round(perfect.batch150MedianMs / quickScorer.batch150MedianMs, 3),
  };
}

export function table(r) {
  return {
    rows: [
      { what: 'trees / split nodes', value: `${r.trees} / ${r.splitNodes}` },
      {
        what: 'perfect layout: 150 rows median ms (per round)',
        value: `${r.perfect.batch150MedianMs} (${r.perfect.perRound.join(' ')})`,
      },
      {
        what: 'QuickScorer: 150 rows median ms (per round)',
        value: `${r.quickScorer.batch150MedianMs} (${r.quickScorer.perRound.join(' ')})`,
      },
      { what: 'speed-up QuickScorer over perfect (batch)', value: r.speedupQsOverPerfect },
    ],
    notes: [`parity max |Δmargin| ${r.parityMaxAbsDiff}`],
  };
}
