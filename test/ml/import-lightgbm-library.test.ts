/**
 * LightGBM import parity against predictions made by the real LightGBM library (fixture data from
 * the MIT-licensed dmitryikh/leaves test data; provenance and limits in
 * test/fixtures/ml/lightgbm-leaves/README.md). 57 rows of a 10-tree DART binary model; the
 * library's raw scores are stored with 19 significant digits.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileForest } from '../../src/core/scoring/compile.js';
import { predictBatch, predictMargins, predictRow } from '../../src/core/scoring/evaluate.js';
import { referenceMargin } from '../../src/core/scoring/model.js';
import { importLightgbmText } from '../../src/ml/import/lightgbm.js';
import { loadModelText } from '../../src/ml/model-file.js';
import { predictLines } from '../../src/ml/predict-stream.js';

const dir = new URL('../fixtures/ml/lightgbm-leaves/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

const modelText = read('lg_dart_breast_cancer.model');
const rows = read('breast_cancer_test.tsv')
  .trim()
  .split('\n')
  .map((line) => line.split('\t').map(Number));
const libraryMargin = read('lg_dart_breast_cancer_true_predictions.txt')
  .trim()
  .split('\n')
  .map(Number);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('LightGBM import vs the LightGBM library (DART breast-cancer model)', () => {
  const model = importLightgbmText(modelText);
  const flat = new Float64Array(rows.flat());

  it('reads the fixture whole', () => {
    expect(rows.length).toBe(57);
    expect(libraryMargin.length).toBe(57);
    expect(rows.every((r) => r.length === 30 && r.every(Number.isFinite))).toBe(true);
    expect(model.trees.length).toBe(10);
    expect(model.numFeatures).toBe(30);
    expect(model.link).toBe('logistic');
  });

  it('gives the library raw scores (margins) to within 1e-12 on every row', () => {
    const forest = compileForest(model); // depth 14 → the walk layout
    const out = new Float64Array(rows.length);
    predictMargins(forest, flat, rows.length, out);
    expect(maxAbsDiff(out, libraryMargin)).toBeLessThanOrEqual(1e-12);
    // The uncompiled reference walk (model.ts) agrees too.
    const ref = rows.map((r) => referenceMargin(model, r));
    expect(maxAbsDiff(ref, libraryMargin)).toBeLessThanOrEqual(1e-12);
  });

  it('gives the library probabilities (sigmoid of its raw scores) within 1e-6', () => {
    const forest = compileForest(model);
    const out = new Float64Array(rows.length);
    predictBatch(forest, flat, rows.length, out);
    const expected = libraryMargin.map((m) => 1 / (1 + Math.exp(-m)));
    expect(maxAbsDiff(out, expected)).toBeLessThanOrEqual(1e-6);
    const single = rows.map((r) => predictRow(forest, new Float64Array(r)));
    expect(maxAbsDiff(single, expected)).toBeLessThanOrEqual(1e-6);
    // The rows span both classes, so a constant or inverted scorer could not pass.
    expect(Math.min(...expected)).toBeLessThan(0.3);
    expect(Math.max(...expected)).toBeGreaterThan(0.8);
  });

  it('gives the same probabilities through the `adstack predict` contract (format detected)', async () => {
    const loaded = loadModelText(modelText);
    expect(loaded.source).toBe('lightgbm');
    let out = '';
    const lines = rows.map((r) => JSON.stringify(r));
    expect(await predictLines(loaded.scorer, lines, (c) => (out += c))).toBe(rows.length);
    const got = out.trim().split('\n').map(Number);
    const expected = libraryMargin.map((m) => 1 / (1 + Math.exp(-m)));
    expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-6);
  });

  it('fails when a rule is broken (the comparison has teeth)', () => {
    // Drop the last tree: the margins must then miss the library's.
    const truncated = { ...model, trees: model.trees.slice(0, 9) };
    const out = new Float64Array(rows.length);
    predictMargins(compileForest(truncated), flat, rows.length, out);
    expect(maxAbsDiff(out, libraryMargin)).toBeGreaterThan(1e-3);
  });
});
