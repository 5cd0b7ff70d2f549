import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/core/scoring/calibration.js';
import { linearPredictBatch } from '../../src/core/scoring/linear.js';
import { trainFtrl } from '../../src/ml/baselines/ftrl.js';
import { fitIsotonic, fitPlatt } from '../../src/ml/calibration.js';
import { sliceDataset } from '../../src/ml/data/dataset-file.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import {
  auc,
  calibrationTable,
  evaluate,
  expectedCalibrationError,
  logLoss,
} from '../../src/ml/metrics.js';
import { Rng } from '../../src/ml/random.js';

function bruteAuc(s: number[], y: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < s.length; i++)
    for (let j = 0; j < s.length; j++)
      if (y[i] === 1 && y[j] === 0) {
        den++;
        num += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
  return num / den;
}

describe('metrics', () => {
  it('AUC equals the pairwise definition, ties counting one half', () => {
    const rng = new Rng(1);
    for (let t = 0; t < 5; t++) {
      const s = Array.from({ length: 300 }, () => Math.round(rng.next() * 20) / 20);
      const y = s.map((v) => (rng.next() < v ? 1 : 0));
      expect(auc(s, y)).toBeCloseTo(bruteAuc(s, y), 12);
    }
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
  });

  it('log loss, ECE and the decile table on hand-checkable inputs', () => {
    expect(logLoss([0.5, 0.5], [1, 0])).toBeCloseTo(Math.log(2), 15);
    // Clipped to [1e-15, 1 - 1e-15]: two confident mistakes cost about -log(1e-15) each, not Infinity.
    expect(logLoss([0, 1], [1, 0])).toBeCloseTo(-Math.log(1e-15), 2);
    // 10 rows at p = 0.2 with 2 clicks is perfectly calibrated; at 0.4 the gap is 0.2.
    const y = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(expectedCalibrationError(new Array(10).fill(0.2), y, 1)).toBeCloseTo(0, 15);
    expect(expectedCalibrationError(new Array(10).fill(0.4), y, 1)).toBeCloseTo(0.2, 15);
    const p = Array.from({ length: 100 }, (_, i) => i / 100);
    const table = calibrationTable(
      p,
      p.map((v) => (v >= 0.5 ? 1 : 0)),
    );
    expect(table.map((b) => b.count)).toEqual(new Array(10).fill(10));
    expect(table[0]).toMatchObject({ lo: 0, hi: 0.09, observedRate: 0 });
    expect(table[9]!.observedRate).toBe(1);
    expect(table[4]!.meanPredicted).toBeCloseTo(0.445, 12);
  });
});

describe('calibration', () => {
  // A model whose logits are twice too confident and shifted: p_model = σ(2z + 1) for true σ(z).
  const rng = new Rng(4);
  const n = 40_000;
  const z = Array.from({ length: n }, () => rng.normal() - 3);
  const y = z.map((v) => (rng.next() < 1 / (1 + Math.exp(-v)) ? 1 : 0));
  const pModel = z.map((v) => 1 / (1 + Math.exp(-(2 * v + 1))));

  it('Platt scaling recovers the inverse map and fixes the calibration', () => {
    const c = fitPlatt(pModel, y);
    if (c.kind !== 'platt') throw new Error('expected platt');
    expect(c.a).toBeCloseTo(0.5, 1);
    expect(c.b).toBeCloseTo(-0.5, 1);
    const fixed = pModel.map((p) => calibrate(c, p));
    expect(expectedCalibrationError(fixed, y)).toBeLessThan(
      expectedCalibrationError(pModel, y) / 3,
    );
    expect(auc(fixed, y)).toBeCloseTo(auc(pModel, y), 12); // monotone: ranking unchanged
  });

  it('isotonic regression is monotone, maps ties to one value and fixes the calibration', () => {
    const c = fitIsotonic(pModel, y);
    if (c.kind !== 'isotonic') throw new Error('expected isotonic');
    for (let i = 1; i < c.y.length; i++) expect(c.y[i]!).toBeGreaterThanOrEqual(c.y[i - 1]!);
    for (let i = 1; i < c.x.length; i++) expect(c.x[i]!).toBeGreaterThanOrEqual(c.x[i - 1]!);
    const fixed = pModel.map((p) => calibrate(c, p));
    expect(expectedCalibrationError(fixed, y)).toBeLessThan(
      expectedCalibrationError(pModel, y) / 3,
    );
    const tied = fitIsotonic([0.1, 0.1, 0.2], [0, 1, 1]);
    expect(calibrate(tied, 0.1)).toBe(0.5);
  });
});

describe('FTRL logistic regression', () => {
  it('learns CTR from hashed, binned features and stays calibrated', () => {
    const ds = generateCtrData({ rows: 40_000, seed: 2 });
    const tr = sliceDataset(ds, 0, 30_000);
    const te = sliceDataset(ds, 30_000, 40_000);
    const model = trainFtrl(tr, { hashBits: 16, epochs: 2 });
    const p = new Float64Array(te.numRows);
    linearPredictBatch(model, Float64Array.from(te.features), te.numRows, p);
    const m = evaluate(p, te.labels);
    expect(m.auc).toBeGreaterThan(0.68);
    expect(m.auc).toBeLessThan(evaluate(te.pTrue, te.labels).auc + 0.01);
    expect(Math.abs(m.meanPredicted / m.observedRate - 1)).toBeLessThan(0.15);
    // L1 keeps the table sparse: most of the 65,536 slots are exactly zero.
    const nonzero = model.weights.reduce((s, w) => s + (w !== 0 ? 1 : 0), 0);
    expect(nonzero).toBeLessThan(model.weights.length / 4);
  });
});
