import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CTR_SCHEMA } from '../../src/core/features/schema.js';
import { fmMargin, fmPredictBatch, type FactorizationMachine } from '../../src/core/scoring/fm.js';
import { bucketOf, linearPredictBatch, slotOf } from '../../src/core/scoring/linear.js';
import { ServingModel } from '../../src/exchange/prediction.js';
import { trainFm } from '../../src/ml/baselines/fm.js';
import { trainFtrl } from '../../src/ml/baselines/ftrl.js';
import { sliceDataset } from '../../src/ml/data/dataset-file.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import { evaluate } from '../../src/ml/metrics.js';
import { fmModelFile, loadModelText } from '../../src/ml/model-file.js';
import { generateSigningKeys, signModelFile } from '../../src/ml/registry.js';
import { Rng } from '../../src/ml/random.js';

describe('factorization machine', () => {
  it('the O(m·k) margin equals the pairwise definition Σ_{i<j} ⟨v_i, v_j⟩', () => {
    const rng = new Rng(3);
    const nf = 6;
    const k = 3;
    const hashBits = 8;
    const size = 1 << hashBits;
    const m: FactorizationMachine = {
      numFeatures: nf,
      hashBits,
      numFactors: k,
      cuts: Array.from({ length: nf }, () => Float64Array.from([0.25, 0.5, 0.75])),
      bias: -1.5,
      weights: Float32Array.from({ length: size }, () => rng.normal() * 0.1),
      factors: Float32Array.from({ length: size * k }, () => rng.normal() * 0.3),
    };
    const row = Float64Array.from([0.1, 0.6, NaN, 0.9, 0.3, 0.5]);
    const slots = Array.from(row, (x, j) => slotOf(j, bucketOf(m.cuts[j]!, x), size - 1));
    let z = m.bias;
    for (const s of slots) z += m.weights[s]!;
    for (let a = 0; a < nf; a++)
      for (let b = a + 1; b < nf; b++)
        for (let f = 0; f < k; f++)
          z += m.factors[slots[a]! * k + f]! * m.factors[slots[b]! * k + f]!;
    expect(fmMargin(m, row, 0, new Float64Array(2 * k))).toBeCloseTo(z, 10);
  });

  // Small enough to train in about a second; the time limit below is for shared, loaded machines.
  const ds = generateCtrData({ rows: 20_000, seed: 2 });
  const tr = sliceDataset(ds, 0, 15_000);
  const te = sliceDataset(ds, 15_000, 20_000);
  const teRows = Float64Array.from(te.features);
  const params = { epochs: 2, hashBits: 14, seed: 5 };
  const SLOW = 120_000;

  it(
    'learns CTR from hashed features, within 0.01 AUC of FTRL on the same small data',
    () => {
      const fm = trainFm(tr, params);
      const p = new Float64Array(te.numRows);
      fmPredictBatch(fm, teRows, te.numRows, p);
      const m = evaluate(p, te.labels);
      const lr = trainFtrl(tr, { hashBits: 14, epochs: 2 });
      const pl = new Float64Array(te.numRows);
      linearPredictBatch(lr, teRows, te.numRows, pl);
      const ml = evaluate(pl, te.labels);
      expect(m.auc).toBeGreaterThan(0.66);
      expect(m.auc).toBeLessThan(evaluate(te.pTrue, te.labels).auc + 0.01);
      expect(m.auc).toBeGreaterThan(ml.auc - 0.01);
      expect(Math.abs(m.meanPredicted / m.observedRate - 1)).toBeLessThan(0.25);
    },
    SLOW,
  );

  it(
    'is deterministic for a seed, and the seed matters',
    () => {
      const small = sliceDataset(ds, 0, 3000);
      const a = trainFm(small, { epochs: 2, seed: 9, hashBits: 12 });
      const b = trainFm(small, { epochs: 2, seed: 9, hashBits: 12 });
      const c = trainFm(small, { epochs: 2, seed: 10, hashBits: 12 });
      expect(Buffer.from(a.factors.buffer).equals(Buffer.from(b.factors.buffer))).toBe(true);
      expect(Buffer.from(a.weights.buffer).equals(Buffer.from(b.weights.buffer))).toBe(true);
      expect(a.bias).toBe(b.bias);
      expect(Buffer.from(a.factors.buffer).equals(Buffer.from(c.factors.buffer))).toBe(false);
    },
    SLOW,
  );

  it('refuses bad parameters', () => {
    expect(() => trainFm(tr, { numFactors: 0 })).toThrow(RangeError);
    expect(() => trainFm(tr, { alpha: 0 })).toThrow(RangeError);
  });

  describe('model file and the serving path', () => {
    let dir = '';
    const keys = generateSigningKeys();
    const small = sliceDataset(ds, 0, 4000);
    const fm = trainFm(small, { epochs: 1, hashBits: 12, seed: 1 });
    const text = JSON.stringify(
      fmModelFile(fm, {
        version: 'fm-test-1',
        featureSchema: {
          name: CTR_SCHEMA.name,
          version: CTR_SCHEMA.version,
          hash: CTR_SCHEMA.hash,
        },
      }),
    );
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'adstack-fm-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('round-trips through JSON (sparse slots) with identical probabilities', () => {
      const loaded = loadModelText(text);
      expect(loaded.scorer.kind).toBe('fm');
      const n = 200;
      const rows = teRows.subarray(0, n * te.numFeatures);
      const want = new Float64Array(n);
      const got = new Float64Array(n);
      fmPredictBatch(fm, rows, n, want);
      loaded.scorer.predictBatch(rows, n, got);
      expect(Array.from(got)).toEqual(Array.from(want));
    });

    it('refuses a corrupt slot entry', () => {
      const doc = JSON.parse(text) as { fm: { slots: number[][] } };
      doc.fm.slots[0] = [1 << 20, 0, 0];
      expect(() => loadModelText(JSON.stringify(doc))).toThrow(/bad slot entry/);
    });

    it('is loaded, verified and reported as kind fm by the server model holder', async () => {
      const modelPath = path.join(dir, 'fm.json');
      await writeFile(modelPath, text);
      await signModelFile(modelPath, keys.privateKeyPem);
      const serving = new ServingModel({ path: modelPath, publicKeyPem: keys.publicKeyPem });
      const r = await serving.reload();
      expect(r).toMatchObject({ ok: true, model: { kind: 'fm', version: 'fm-test-1' } });
    });
  });
});
