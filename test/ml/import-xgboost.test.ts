import { describe, expect, it } from 'vitest';
import { compileForest } from '../../src/core/scoring/compile.js';
import { predictBatch, predictMargins } from '../../src/core/scoring/evaluate.js';
import { ModelFormatError, referenceMargin } from '../../src/core/scoring/model.js';
import { importXgboostJson } from '../../src/ml/import/xgboost.js';
import { matrix, readXgbFixture } from './helpers/xgb-fixture.js';

const model = (name: string): unknown => JSON.parse(readXgbFixture(name).modelText);

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

describe('XGBoost JSON import: parity with XGBoost 1.7.4 predictions', () => {
  for (const name of ['xgb-lossguide', 'xgb-depthwise', 'xgb-logitraw']) {
    it(`${name}: every layout within 1e-6 of the library on ≥ 1,000 rows`, () => {
      const fx = readXgbFixture(name);
      const model = importXgboostJson(JSON.parse(fx.modelText));
      expect(fx.library).toBe('xgboost 1.7.4');
      expect(fx.rows.length).toBeGreaterThanOrEqual(1000);
      const n = fx.rows.length;
      const rows = matrix(fx.rows, model.numFeatures);
      for (const layout of ['walk', 'perfect'] as const) {
        const forest = compileForest(model, { layout });
        const out = new Float64Array(n);
        predictBatch(forest, rows, n, out);
        expect(maxAbsDiff(out, fx.predictions), `${layout} probabilities`).toBeLessThanOrEqual(
          1e-6,
        );
        predictMargins(forest, rows, n, out);
        // Margins are float32 sums in the same order as XGBoost's: they agree bit for bit.
        expect(Array.from(out), `${layout} margins`).toEqual(fx.margins);
      }
    });
  }

  it('the float32 input rounding matters: comparing raw float64 inputs would disagree', () => {
    const fx = readXgbFixture('xgb-lossguide');
    const model = importXgboostJson(JSON.parse(fx.modelText));
    const rows = matrix(fx.rows, model.numFeatures);
    // Undo the float32 cut: compare against the float32 split condition itself.
    const naive = {
      ...model,
      trees: model.trees.map((t) => ({
        ...t,
        threshold: t.threshold.map((c, i) => (t.feature[i]! < 0 ? c : Math.fround(c))),
      })),
    };
    let differ = 0;
    for (let r = 0; r < fx.rows.length; r++) {
      const row = rows.subarray(r * model.numFeatures, (r + 1) * model.numFeatures);
      if (referenceMargin(naive, row) !== fx.margins[r]) differ++;
    }
    // The fixture rows put values on split conditions on purpose; some of them round across one.
    expect(differ).toBeGreaterThan(0);
  });

  it('keeps feature names and gains', () => {
    const m = importXgboostJson(model('xgb-depthwise'));
    expect(m.featureNames?.[0]).toBe('f0');
    expect(m.trees[0]!.gain![0]).toBeGreaterThan(0);
  });

  it('refuses unsupported models with a reason', () => {
    const doc = model('xgb-depthwise') as {
      learner: {
        objective: { name: string };
        gradient_booster: { name: string; model: { trees: Array<{ split_type: number[] }> } };
      };
    };
    const clone = () => structuredClone(doc);
    const softmax = clone();
    softmax.learner.objective.name = 'multi:softprob';
    expect(() => importXgboostJson(softmax)).toThrow(/multi:softprob is not supported/);
    const dart = clone();
    dart.learner.gradient_booster.name = 'dart';
    expect(() => importXgboostJson(dart)).toThrow(ModelFormatError);
    const cat = clone();
    cat.learner.gradient_booster.model.trees[0]!.split_type[0] = 1;
    expect(() => importXgboostJson(cat)).toThrow(/categorical/);
    expect(() => importXgboostJson({ learner: {} })).toThrow(ModelFormatError);
  });
});
