import { describe, expect, it } from 'vitest';
import { compileForest } from '../../src/core/scoring/compile.js';
import { predictBatch, predictMargins, predictRow } from '../../src/core/scoring/evaluate.js';
import { float32LessThanCut, nextUp64, prevFloat32 } from '../../src/core/scoring/float.js';
import {
  ModelFormatError,
  referenceMargin,
  sigmoid,
  type TreeEnsemble,
} from '../../src/core/scoring/model.js';
import { lcg, randomEnsemble, randomRows } from './helpers/random-model.js';

describe('float32LessThanCut', () => {
  it('makes `x < cut` agree with `fround(x) < t` around many float32 thresholds', () => {
    const rnd = lcg(7);
    const specials = [0, -0, 1, -1, 2 ** -149, -(2 ** -149), 3.4028234663852886e38, 0.1, -0.1].map(
      Math.fround,
    );
    const thresholds = specials.concat(
      Array.from({ length: 300 }, () =>
        Math.fround((rnd() - 0.5) * 10 ** Math.floor(rnd() * 12 - 6)),
      ),
    );
    for (const t of thresholds) {
      const cut = float32LessThanCut(t);
      const p = prevFloat32(t);
      const m = (p + t) / 2;
      // The interesting x are at and next to the rounding midpoint and the two float32 values.
      const probes = [p, t, m, nextUp64(m), -nextUp64(-m), nextUp64(t), -nextUp64(-p), cut];
      for (const x of probes) {
        if (!Number.isFinite(x)) continue;
        expect(x < cut, `t=${t} x=${x}`).toBe(Math.fround(x) < t);
      }
    }
  });

  it('refuses a threshold that is not a float32', () => {
    expect(() => float32LessThanCut(0.1)).toThrow(RangeError);
  });

  it('handles the infinities', () => {
    expect(float32LessThanCut(-Infinity)).toBe(-Infinity);
    const cut = float32LessThanCut(Infinity);
    expect(Math.fround(cut)).toBe(Infinity);
    expect(Math.fround(-nextUp64(-cut))).toBeLessThan(Infinity);
  });

  it('finds the neighbours of float32 and float64 values', () => {
    expect(prevFloat32(1)).toBe(1 - 2 ** -24);
    expect(prevFloat32(-1)).toBe(-1 - 2 ** -23);
    expect(nextUp64(1)).toBe(1 + Number.EPSILON);
    expect(nextUp64(-0)).toBe(Number.MIN_VALUE);
  });
});

describe('compiled evaluators', () => {
  const cases = [
    { accumulation: 'float64', maxDepth: 7, maxLeaves: 31 },
    { accumulation: 'float32', maxDepth: 7, maxLeaves: 31 },
    { accumulation: 'float64', maxDepth: 3, maxLeaves: 8 },
    { accumulation: 'float32', maxDepth: 12, maxLeaves: 40 },
  ] as const;
  for (const c of cases) {
    it(`match the reference walk exactly (${c.accumulation}, depth ≤ ${c.maxDepth})`, () => {
      const model = randomEnsemble({ seed: c.maxDepth, numFeatures: 20, numTrees: 60, ...c });
      const n = 203; // not a multiple of 8: exercises the interleaved loop's tail
      const rows = randomRows(11, n, 20);
      const expected = Array.from({ length: n }, (_, r) =>
        referenceMargin(model, rows.subarray(r * 20, r * 20 + 20)),
      );
      const layouts = c.maxDepth <= 10 ? (['walk', 'perfect'] as const) : (['walk'] as const);
      for (const layout of layouts) {
        const forest = compileForest(model, { layout });
        const out = new Float64Array(n);
        predictMargins(forest, rows, n, out);
        expect(Array.from(out), layout).toEqual(expected);
        for (const r of [0, 1, 57, n - 1])
          expect(predictRow(forest, rows, r * 20)).toBe(sigmoid(expected[r]!));
      }
    });
  }

  it('rounds every partial sum to float32 in float32 models, in tree order', () => {
    // 2^24 + 1 is not a float32: a float32 accumulator drops the +1 that float64 keeps.
    const leaf = (v: number) => ({
      feature: [-1],
      threshold: [0],
      left: [0],
      right: [0],
      missingLeft: [false],
      value: [v],
    });
    const base = { numFeatures: 1, baseMargin: 2 ** 24, link: 'identity' as const };
    const trees = [leaf(1), leaf(1), leaf(2)];
    const row = new Float64Array([0]);
    const out = new Float64Array(1);
    predictMargins(compileForest({ ...base, trees, accumulation: 'float32' }), row, 1, out);
    // float32: (2^24 + 1) → 2^24, again 2^24, then + 2 → 2^24 + 2.
    expect(out[0]).toBe(2 ** 24 + 2);
    predictMargins(compileForest({ ...base, trees, accumulation: 'float64' }), row, 1, out);
    expect(out[0]).toBe(2 ** 24 + 4);
  });

  it('sends NaN the way each node says and treats a leaf-only model as a constant', () => {
    const model: TreeEnsemble = {
      numFeatures: 2,
      baseMargin: 0,
      accumulation: 'float64',
      link: 'identity',
      trees: [
        {
          feature: [1, -1, -1],
          threshold: [0.5, 0, 0],
          left: [1, 0, 0],
          right: [2, 0, 0],
          missingLeft: [true, false, false],
          value: [0, 10, 20],
        },
        {
          feature: [1, -1, -1],
          threshold: [0.5, 0, 0],
          left: [1, 0, 0],
          right: [2, 0, 0],
          missingLeft: [false, false, false],
          value: [0, 100, 200],
        },
        {
          feature: [-1],
          threshold: [0],
          left: [0],
          right: [0],
          missingLeft: [false],
          value: [1000],
        },
      ],
    };
    const rows = new Float64Array([0, NaN, 0, 0.4, 0, 0.5]);
    for (const layout of ['walk', 'perfect'] as const) {
      const out = new Float64Array(3);
      predictBatch(compileForest(model, { layout }), rows, 3, out);
      expect(Array.from(out), layout).toEqual([1210, 1110, 1220]);
    }
  });

  it('allocates nothing per call: results land in the caller buffer, past n untouched', () => {
    const model = randomEnsemble({
      seed: 3,
      numFeatures: 5,
      numTrees: 5,
      maxLeaves: 8,
      maxDepth: 4,
      accumulation: 'float64',
    });
    const forest = compileForest(model);
    const out = new Float64Array(10).fill(-7);
    predictBatch(forest, randomRows(1, 6, 5), 6, out);
    expect(Array.from(out.subarray(6))).toEqual([-7, -7, -7, -7]);
    expect(() => predictBatch(forest, new Float64Array(5), 2, out)).toThrow(RangeError);
    expect(() => predictBatch(forest, new Float64Array(10), 2, new Float64Array(1))).toThrow(
      RangeError,
    );
  });
});

describe('model validation', () => {
  const good = (): TreeEnsemble => ({
    numFeatures: 2,
    baseMargin: 0,
    accumulation: 'float64',
    link: 'logistic',
    trees: [
      {
        feature: [0, -1, -1],
        threshold: [1, 0, 0],
        left: [1, 0, 0],
        right: [2, 0, 0],
        missingLeft: [false, false, false],
        value: [0, 1, 2],
      },
    ],
  });
  it('refuses cycles, out-of-range features and children, and non-finite leaves', () => {
    const bad: Array<(m: TreeEnsemble) => TreeEnsemble> = [
      (m) => ({ ...m, trees: [{ ...m.trees[0]!, left: [0, 0, 0] }] }),
      (m) => ({ ...m, trees: [{ ...m.trees[0]!, right: [7, 0, 0] }] }),
      (m) => ({ ...m, trees: [{ ...m.trees[0]!, feature: [2, -1, -1] }] }),
      (m) => ({ ...m, trees: [{ ...m.trees[0]!, value: [0, Infinity, 2] }] }),
      (m) => ({ ...m, trees: [{ ...m.trees[0]!, left: [2, 0, 0] }] }),
      (m) => ({ ...m, baseMargin: NaN }),
      (m) => ({ ...m, featureNames: ['a'] }),
    ];
    expect(() => compileForest(good())).not.toThrow();
    for (const mutate of bad) expect(() => compileForest(mutate(good()))).toThrow(ModelFormatError);
  });
});
