/**
 * The CVR model (issue 5): the GBDT trainer on conversions among clicks, saved with
 * `target: "cvr"`, which the CTR serving slot refuses.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CTR_SCHEMA } from '../../src/core/features/schema.js';
import { gbdtScorer } from '../../src/core/scoring/scorer.js';
import { ServingModel } from '../../src/exchange/prediction.js';
import { sliceDataset } from '../../src/ml/data/dataset-file.js';
import { generateCvrData } from '../../src/ml/data/synthetic-cvr.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import { trainGbdt } from '../../src/ml/gbdt/train.js';
import { scoreRows } from '../../src/ml/ledger/guarded-train.js';
import { evaluate } from '../../src/ml/metrics.js';
import { gbdtModelFile } from '../../src/ml/model-file.js';
import { generateSigningKeys, signModelFile } from '../../src/ml/registry.js';

/** Generous limits for shared, loaded machines; unloaded, each test takes seconds. */
const SLOW = 120_000;

describe('CVR model: conversions given a click', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'adstack-cvr-'));
  }, SLOW);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  }, SLOW);

  it(
    'keeps exactly the clicked impressions of the CTR data with the same seed',
    () => {
      const cvr = generateCvrData({ rows: 200, seed: 11 });
      const impressions = cvr.meta.impressions as number;
      const ctr = generateCtrData({ rows: impressions, seed: 11 });
      const nf = CTR_SCHEMA.size;
      const clicked: number[] = [];
      for (let r = 0; r < ctr.numRows; r++) if (ctr.labels[r] === 1) clicked.push(r);
      expect(clicked).toHaveLength(200);
      expect(ctr.labels[impressions - 1]).toBe(1); // the last impression drawn was the 200th click
      for (const [k, r] of [0, 57, 199].map((k) => [k, clicked[k]!] as const))
        expect(Array.from(cvr.features.subarray(k * nf, (k + 1) * nf)).map(String)).toEqual(
          Array.from(ctr.features.subarray(r * nf, (r + 1) * nf)).map(String),
        );
    },
    SLOW,
  );

  it(
    'trains with the CTR trainer, learns the conversion rate, and is served only as CVR',
    async () => {
      const ds = generateCvrData({ rows: 6000, seed: 3 });
      const truth = evaluate(ds.pTrue, ds.labels);
      expect(truth.observedRate).toBeGreaterThan(0.04);
      expect(truth.observedRate).toBeLessThan(0.2);
      const tr = sliceDataset(ds, 0, 4800);
      const te = sliceDataset(ds, 4800, 6000);
      const res = await trainGbdt(tr, {
        numTrees: 60,
        numLeaves: 4,
        maxDepth: 2,
        learningRate: 0.1,
        minDataInLeaf: 50,
        seed: 1,
      });
      const m = evaluate(scoreRows(gbdtScorer(res.model), te), te.labels);
      const bayes = evaluate(te.pTrue, te.labels).auc;
      expect(m.auc).toBeGreaterThan(0.66);
      expect(m.auc).toBeLessThan(bayes + 0.02);

      const keys = generateSigningKeys();
      const file = path.join(dir, 'cvr.json');
      const schema = { name: CTR_SCHEMA.name, version: CTR_SCHEMA.version, hash: CTR_SCHEMA.hash };
      await writeFile(
        file,
        JSON.stringify(
          gbdtModelFile(res.model, { version: 'cvr-1', target: 'cvr', featureSchema: schema }),
        ),
      );
      await signModelFile(file, keys.privateKeyPem);
      const ctrSlot = new ServingModel({ path: file, publicKeyPem: keys.publicKeyPem });
      expect(await ctrSlot.reload()).toMatchObject({
        ok: false,
        reason: 'schema_mismatch',
        message: 'model predicts cvr, this slot serves ctr',
        serving: null,
      });
    },
    SLOW,
  );
});
