/**
 * LightGBM import parity with categorical splits, against predictions made by the real LightGBM
 * library: a 100-tree Poisson model (5 categorical features, 32 leaves) and its predictions for
 * 1,000 test rows, from the MIT-licensed dmitryikh/leaves test data (provenance, what was trimmed
 * and why: test/fixtures/ml/lightgbm-leaves/README.md). The library's predictions are exp(raw
 * score), stored with 19 significant digits (`np.savetxt` default `%.18e`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileForest } from '../../src/core/scoring/compile.js';
import { predictBatch, predictMargins, predictRow } from '../../src/core/scoring/evaluate.js';
import { referenceMargin, type Tree } from '../../src/core/scoring/model.js';
import { importLightgbmText } from '../../src/ml/import/lightgbm.js';
import { loadModelText } from '../../src/ml/model-file.js';
import { predictLines } from '../../src/ml/predict-stream.js';

const dir = new URL('../fixtures/ml/lightgbm-leaves/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

const modelText = read('genlin_fmtp_poisson_Frequency.trimmed.model');
const rows = read('genlin_fmtp_poisson_Frequency_features.tsv')
  .trim()
  .split('\n')
  .map((line) => line.split('\t').map(Number));
const libraryPrediction = read('genlin_fmtp_poisson_Frequency_true_predictions.txt')
  .trim()
  .split('\n')
  .map(Number);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('LightGBM import vs the LightGBM library (Poisson model with categorical splits)', () => {
  const model = importLightgbmText(modelText);
  const flat = new Float64Array(rows.flat());
  const categoricalNodes = model.trees.reduce(
    (n, t) => n + (t.categories?.filter((c) => c !== null).length ?? 0),
    0,
  );

  it('reads the fixture whole', () => {
    expect(rows.length).toBe(1000);
    expect(libraryPrediction.length).toBe(1000);
    expect(rows.every((r) => r.length === 9 && r.every(Number.isInteger))).toBe(true);
    expect(model.trees.length).toBe(100);
    expect(model.link).toBe('exp');
    expect(categoricalNodes).toBeGreaterThan(900);
  });

  it('gives the library predictions to within 1e-12 on all 1,000 rows (batch, single row, reference)', () => {
    const forest = compileForest(model);
    expect(forest.layout).toBe('walk');
    const out = new Float64Array(rows.length);
    predictBatch(forest, flat, rows.length, out);
    expect(maxAbsDiff(out, libraryPrediction)).toBeLessThanOrEqual(1e-12);
    const single = rows.map((r) => predictRow(forest, new Float64Array(r)));
    expect(maxAbsDiff(single, libraryPrediction)).toBeLessThanOrEqual(1e-12);
    const ref = rows.map((r) => Math.exp(referenceMargin(model, r)));
    expect(maxAbsDiff(ref, libraryPrediction)).toBeLessThanOrEqual(1e-12);
    // Raw scores: log of the library's output.
    const margins = new Float64Array(rows.length);
    predictMargins(forest, flat, rows.length, margins);
    expect(maxAbsDiff(margins, libraryPrediction.map(Math.log))).toBeLessThanOrEqual(1e-9);
    // The predictions vary (0.03 to 0.48), so a constant scorer could not pass.
    expect(Math.max(...libraryPrediction) / Math.min(...libraryPrediction)).toBeGreaterThan(10);
  });

  it('gives the same predictions through the `adstack predict` contract (format detected)', async () => {
    const loaded = loadModelText(modelText);
    expect(loaded.source).toBe('lightgbm');
    let out = '';
    const lines = rows.map((r) => JSON.stringify(r));
    expect(await predictLines(loaded.scorer, lines, (c) => (out += c))).toBe(rows.length);
    const got = out.trim().split('\n').map(Number);
    expect(maxAbsDiff(got, libraryPrediction)).toBeLessThanOrEqual(1e-12);
  });

  it('fails when the categorical rule is broken (the comparison has teeth)', () => {
    // Read each categorical split as "category index <= threshold" (the bug a numeric-only
    // importer would have): predictions must then miss the library's.
    const numericOnly = {
      ...model,
      trees: model.trees.map((t): Tree => ({ ...t, categories: undefined })),
    };
    const out = new Float64Array(rows.length);
    predictBatch(compileForest(numericOnly), flat, rows.length, out);
    expect(maxAbsDiff(out, libraryPrediction)).toBeGreaterThan(1e-3);
    // And negating every set (right instead of left) misses too.
    const flipped = {
      ...model,
      trees: model.trees.map((t): Tree => ({
        ...t,
        left: t.left.map((l, i) => (t.categories?.[i] ? t.right[i]! : l)),
        right: t.right.map((r, i) => (t.categories?.[i] ? t.left[i]! : r)),
      })),
    };
    predictBatch(compileForest(flipped), flat, rows.length, out);
    expect(maxAbsDiff(out, libraryPrediction)).toBeGreaterThan(1e-3);
  });
});
