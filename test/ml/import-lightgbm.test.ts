/**
 * LightGBM text import, decision rules. (Parity with the real library: import-lightgbm-library.test.ts.)
 * No LightGBM package exists in Debian on this machine (and PyPI is not
 * reachable), so these tests use a hand-written model file in LightGBM's v4 text layout whose
 * predictions are derived by hand below, node by node — not predictions made by the library.
 * What this proves: the parser reads the layout and the documented decision rules (`<=`,
 * decision_type bits, missing types, leaf numbering), including NaN and on-threshold rows that the
 * library-made fixture does not contain.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileForest } from '../../src/core/scoring/compile.js';
import { predictBatch, predictMargins } from '../../src/core/scoring/evaluate.js';
import { ModelFormatError } from '../../src/core/scoring/model.js';
import { importLightgbmText } from '../../src/ml/import/lightgbm.js';

const text = readFileSync(new URL('../fixtures/ml/lgb-hand.txt', import.meta.url), 'utf8');

// Tree 0: node0 a <= 0.5 (NaN: default left) ? node1 : leaf2 (1)
//         node1 b <= 1.25 (NaN: default right) ? leaf0 (0.5) : leaf1 (-0.25)
// Tree 1: c <= 0.30000000000000004 ? -0.125 : 0.375; missing type None, so NaN is compared as 0
// Tree 2: a single leaf, 0.0625
const T = 0.30000000000000004;
const cases: Array<{ row: number[]; margin: number; why: string }> = [
  { row: [0.5, 1.25, T], margin: 0.5 - 0.125 + 0.0625, why: 'equal to every threshold: left' },
  {
    row: [0.5000000000000001, 0, 0.3000000000000001],
    margin: 1 + 0.375 + 0.0625,
    why: 'one ulp above: right',
  },
  { row: [NaN, NaN, NaN], margin: -0.25 - 0.125 + 0.0625, why: 'NaN: left, then right; None → 0' },
  { row: [-3, 2, 0.5], margin: -0.25 + 0.375 + 0.0625, why: 'plain values' },
  { row: [1, NaN, NaN], margin: 1 - 0.125 + 0.0625, why: 'right at the root' },
  { row: [0, 0, 0], margin: 0.5 - 0.125 + 0.0625, why: 'zeros are ordinary values' },
];

function score(modelText: string, link: 'margin' | 'predict'): number[] {
  const model = importLightgbmText(modelText);
  const rows = new Float64Array(cases.flatMap((c) => c.row));
  const out = new Float64Array(cases.length);
  const results: number[][] = [];
  for (const layout of ['walk', 'perfect'] as const) {
    const forest = compileForest(model, { layout });
    if (link === 'margin') predictMargins(forest, rows, cases.length, out);
    else predictBatch(forest, rows, cases.length, out);
    results.push(Array.from(out));
  }
  expect(results[0]).toEqual(results[1]);
  return results[0]!;
}

describe('LightGBM text import (hand-derived predictions)', () => {
  it('follows LightGBM decision rules on every path', () => {
    const margins = score(text, 'margin');
    cases.forEach((c, i) => expect(margins[i], c.why).toBe(c.margin));
  });

  it('applies the binary sigmoid, including a sigmoid scale', () => {
    const p = score(text, 'predict');
    cases.forEach((c, i) => expect(p[i]).toBeCloseTo(1 / (1 + Math.exp(-c.margin)), 15));
    const p2 = score(text.replace('sigmoid:1', 'sigmoid:2'), 'predict');
    cases.forEach((c, i) => expect(p2[i]).toBeCloseTo(1 / (1 + Math.exp(-2 * c.margin)), 15));
    const reg = score(
      text.replace('objective=binary sigmoid:1', 'objective=regression'),
      'predict',
    );
    expect(reg).toEqual(cases.map((c) => c.margin));
  });

  it('reads names and gains and maps leaves after the internal nodes', () => {
    const model = importLightgbmText(text);
    expect(model.featureNames).toEqual(['a', 'b', 'c']);
    expect(model.numFeatures).toBe(3);
    expect(model.trees[0]!.gain).toEqual([12.5, 3.25, 0, 0, 0]);
    expect(model.trees[0]!.value).toEqual([0, 0, 0.5, -0.25, 1]);
    expect(model.trees[2]!.feature).toEqual([-1]);
  });

  it('refuses what it cannot reproduce, saying why', () => {
    const refuse: Array<[string, RegExp]> = [
      [text.replace('num_class=1', 'num_class=3'), /multi-class/],
      // A categorical node needs a category set (num_cat, cat_boundaries, cat_threshold).
      [text.replace('decision_type=10 8', 'decision_type=10 9'), /categorical split on set/],
      [text.replace('decision_type=10 8', 'decision_type=10 4'), /zero as missing/],
      [
        text.replace('Tree=1\nnum_leaves=2\nnum_cat=0', 'Tree=1\nnum_leaves=2\nnum_cat=1'),
        /cat_boundaries is missing/,
      ],
      [text.replace('objective=binary sigmoid:1', 'objective=lambdarank'), /not supported/],
      [text.replace('version=v4', 'version=v4\naverage_output'), /average_output/],
      [text.replace('left_child=1 -1', 'left_child=1'), /left_child has 1 values/],
      [text.replace('split_feature=0 1', 'split_feature=0 7'), /feature 7/],
      [text.replace('left_child=1 -1', 'left_child=0 -1'), /reached twice|out of range/],
      ['not a model', /does not start/],
    ];
    for (const [bad, why] of refuse) {
      expect(() => compileForest(importLightgbmText(bad))).toThrow(ModelFormatError);
      expect(() => compileForest(importLightgbmText(bad))).toThrow(why);
    }
  });
});
