/**
 * LightGBM categorical splits and the log link, on a hand-written model whose predictions are
 * derived by hand below (not made by the library; library parity on 1,000 rows with categorical
 * splits is in import-lightgbm-library.test.ts).
 *
 * The rule under test (LightGBM docs, "Advanced Topics" → categorical features; see
 * `categoryGoesLeft`): the value is truncated to an int; NaN, negative and beyond-int values go
 * right; a category goes left iff its bit is set in the node's `cat_threshold` words.
 */
import { describe, expect, it } from 'vitest';
import { compileForest } from '../../src/core/scoring/compile.js';
import { predictBatch, predictMargins, predictRow } from '../../src/core/scoring/evaluate.js';
import { ModelFormatError, referenceMargin } from '../../src/core/scoring/model.js';
import { importLightgbmText } from '../../src/ml/import/lightgbm.js';

// Tree 0: node0 categorical on feature 0, set 0 = words [5, 2] = {0, 2} ∪ {33}
//           left → leaf0 (0.5); right → node1: b <= 1.5 ? leaf1 (0.25) : leaf2 (-1)
// Tree 1: categorical on feature 0, set 1 = word [8] = {3}: left 0.125, right -0.125
const MODEL = [
  'tree',
  'version=v3',
  'num_class=1',
  'num_tree_per_iteration=1',
  'label_index=0',
  'max_feature_idx=1',
  'objective=poisson',
  'feature_names=a b',
  '',
  'Tree=0',
  'num_leaves=3',
  'num_cat=1',
  'split_feature=0 1',
  'split_gain=1 1',
  'threshold=0 1.5',
  'decision_type=9 2',
  'left_child=-1 -2',
  'right_child=1 -3',
  'leaf_value=0.5 0.25 -1',
  'cat_boundaries=0 2',
  'cat_threshold=5 2',
  'is_linear=0',
  'shrinkage=1',
  '',
  'Tree=1',
  'num_leaves=2',
  'num_cat=1',
  'split_feature=0',
  'split_gain=1',
  'threshold=0',
  'decision_type=1',
  'left_child=-1',
  'right_child=-2',
  'leaf_value=0.125 -0.125',
  'cat_boundaries=0 1',
  'cat_threshold=8',
  'is_linear=0',
  'shrinkage=0.05',
  '',
  'end of trees',
  '',
].join('\n');

const RIGHT0 = 0.25; // tree 0 right branch with b = 0
const cases: Array<{ a: number; margin: number; why: string }> = [
  { a: 0, margin: 0.5 - 0.125, why: 'category 0 is in set 0' },
  { a: 2, margin: 0.5 - 0.125, why: 'category 2 is in set 0' },
  { a: 2.9, margin: 0.5 - 0.125, why: 'truncated to 2' },
  { a: 33, margin: 0.5 - 0.125, why: 'bit 1 of the second word' },
  { a: 1, margin: RIGHT0 - 0.125, why: 'bit 1 of the first word is clear' },
  { a: 32, margin: RIGHT0 - 0.125, why: 'bit 0 of the second word is clear' },
  { a: 64, margin: RIGHT0 - 0.125, why: 'beyond the bitset: right' },
  { a: 3, margin: RIGHT0 + 0.125, why: 'not in set 0, in set 1' },
  { a: 3.99, margin: RIGHT0 + 0.125, why: 'truncated to 3' },
  { a: -1, margin: RIGHT0 - 0.125, why: 'negative: missing, right' },
  { a: -0.5, margin: 0.5 - 0.125, why: 'truncates to 0 (C int cast), so category 0' },
  { a: NaN, margin: RIGHT0 - 0.125, why: 'NaN: missing, right' },
  { a: 2 ** 31, margin: RIGHT0 - 0.125, why: 'beyond int: right' },
  { a: 1e300, margin: RIGHT0 - 0.125, why: 'huge: right' },
  { a: Infinity, margin: RIGHT0 - 0.125, why: 'infinite: right' },
];

describe('LightGBM categorical splits (hand-made model)', () => {
  const model = importLightgbmText(MODEL);
  const rows = new Float64Array(cases.flatMap((c) => [c.a, 0]));

  it('decodes the bitsets into left-category sets', () => {
    expect(model.trees[0]!.categories?.[0]).toEqual([0, 2, 33]);
    expect(model.trees[1]!.categories?.[0]).toEqual([3]);
    expect(model.link).toBe('exp');
  });

  it('routes each case as the documented rule says (reference walk and compiled walk)', () => {
    const forest = compileForest(model);
    expect(forest.layout).toBe('walk');
    const out = new Float64Array(cases.length);
    predictMargins(forest, rows, cases.length, out);
    cases.forEach((c, r) => {
      expect(referenceMargin(model, [c.a, 0]), c.why).toBe(c.margin);
      expect(out[r], c.why).toBe(c.margin);
    });
  });

  it('applies exp to the margin for a poisson model, in batch and single-row scoring', () => {
    const forest = compileForest(model);
    const out = new Float64Array(cases.length);
    predictBatch(forest, rows, cases.length, out);
    cases.forEach((c, r) => {
      expect(out[r], c.why).toBe(Math.exp(c.margin));
      expect(predictRow(forest, rows, 2 * r), c.why).toBe(Math.exp(c.margin));
    });
  });

  it('numeric nodes of the same tree still use <= with their missing rule', () => {
    const forest = compileForest(model);
    const out = new Float64Array(3);
    // a = 1 goes right at the categorical root; b = 1.5 (on threshold) left, 1.6 right, NaN
    // (missing type None) is compared as 0 → left.
    predictMargins(forest, new Float64Array([1, 1.5, 1, 1.6, 1, NaN]), 3, out);
    expect(Array.from(out)).toEqual([0.25 - 0.125, -1 - 0.125, 0.25 - 0.125]);
  });

  it('refuses the perfect layout and bad category data', () => {
    expect(() => compileForest(model, { layout: 'perfect' })).toThrow(RangeError);
    expect(() => importLightgbmText(MODEL.replace('threshold=0 1.5', 'threshold=4 1.5'))).toThrow(
      ModelFormatError,
    );
    expect(() => importLightgbmText(MODEL.replace('cat_threshold=5 2', 'cat_threshold=5'))).toThrow(
      ModelFormatError,
    );
    expect(() =>
      importLightgbmText(MODEL.replace('cat_threshold=5 2', 'cat_threshold=5 -2')),
    ).toThrow(ModelFormatError);
  });
});
