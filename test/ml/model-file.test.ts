import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/core/scoring/model.js';
import { trainFtrl } from '../../src/ml/baselines/ftrl.js';
import { sliceDataset } from '../../src/ml/data/dataset-file.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import { trainGbdt } from '../../src/ml/gbdt/train.js';
import {
  detectFormat,
  gbdtModelFile,
  linearModelFile,
  loadModelText,
} from '../../src/ml/model-file.js';
import { PredictInputError, predictLines } from '../../src/ml/predict-stream.js';
import { readFixtureText, readXgbFixture } from './helpers/xgb-fixture.js';

const fixture = readFixtureText;

async function run(text: string, lines: string[]): Promise<number[]> {
  let outText = '';
  await predictLines(loadModelText(text).scorer, lines, (s) => (outText += s), 7);
  return outText.trim().split('\n').map(Number);
}

describe('model files and the predict contract', () => {
  it('detects the three formats', () => {
    expect(detectFormat(fixture('xgb-lossguide.model'))).toBe('xgboost');
    expect(detectFormat(fixture('lgb-hand.txt'))).toBe('lightgbm');
    expect(() => detectFormat('{"hello": 1}')).toThrow(ModelFormatError);
    expect(() => detectFormat('garbage')).toThrow(ModelFormatError);
  });

  it('predict: one probability per input line, in order, matching XGBoost (chunked input)', async () => {
    const fx = readXgbFixture('xgb-lossguide');
    const lines = fx.rows.slice(0, 50).map((r) => JSON.stringify(r));
    lines.splice(3, 0, '   '); // blank lines are skipped
    const got = await run(fixture('xgb-lossguide.model'), lines);
    expect(got).toHaveLength(50);
    got.forEach((p, i) => expect(Math.abs(p - fx.predictions[i]!)).toBeLessThanOrEqual(1e-6));
  });

  it('predict: names the bad line', async () => {
    const text = fixture('lgb-hand.txt');
    await expect(run(text, ['[1,2,3]', '[1,2]'])).rejects.toThrow(
      /line 2: expected a JSON array of 3/,
    );
    await expect(run(text, ['[1,"a",3]'])).rejects.toThrow(PredictInputError);
    await expect(run(text, ['{'])).rejects.toThrow(/line 1: not JSON/);
  });

  it('our own GBDT and linear files round-trip through JSON with their manifest', async () => {
    const ds = generateCtrData({ rows: 4000, seed: 8 });
    const tr = sliceDataset(ds, 0, 3000);
    const gb = await trainGbdt(tr, { numTrees: 5, seed: 2 });
    const lin = trainFtrl(tr, { hashBits: 12 });
    const manifest = {
      version: 'test-1',
      featureSchema: { name: 'ctr', version: 1, hash: ds.schemaHash },
    };
    const lines = Array.from({ length: 20 }, (_, r) =>
      JSON.stringify(
        Array.from(
          ds.features.subarray((3000 + r) * ds.numFeatures, (3001 + r) * ds.numFeatures),
          (v) => (Number.isNaN(v) ? null : v),
        ),
      ),
    );
    for (const file of [
      gbdtModelFile(gb.model, manifest, { kind: 'platt', a: 1.1, b: -0.1 }),
      linearModelFile(lin, manifest),
    ]) {
      const text = JSON.stringify(file);
      const loaded = loadModelText(text);
      expect(loaded.source).toBe('adstack');
      expect(loaded.manifest?.version).toBe('test-1');
      const direct = new Float64Array(20);
      loaded.scorer.predictBatch(
        Float64Array.from(ds.features.subarray(3000 * ds.numFeatures, 3020 * ds.numFeatures)),
        20,
        direct,
      );
      expect(await run(text, lines)).toEqual(Array.from(direct));
    }
    const broken = JSON.parse(JSON.stringify(gbdtModelFile(gb.model, manifest))) as {
      gbdt: { trees: Array<{ left: number[] }> };
    };
    broken.gbdt.trees[0]!.left[0] = 0;
    expect(() => loadModelText(JSON.stringify(broken))).toThrow(ModelFormatError);
  });
});
