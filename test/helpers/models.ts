/**
 * Small signed GBDT models for the model-serving tests: trained in a second on synthetic data,
 * written as adstack model files and signed, plus the probability a model should give a demo
 * candidate, computed without the server (reference tree walk over a hand-written CtrInput).
 */
import { writeFileSync } from 'node:fs';
import type { CtrInput } from '../../src/core/features/input.js';
import { CTR_SCHEMA, vectorize } from '../../src/core/features/schema.js';
import { referenceMargin, sigmoid, type TreeEnsemble } from '../../src/core/scoring/model.js';
import type { CtrDataset } from '../../src/ml/data/synthetic.js';
import { trainGbdt } from '../../src/ml/gbdt/train.js';
import { gbdtModelFile, type ModelTarget } from '../../src/ml/model-file.js';
import { signModelFile } from '../../src/ml/registry.js';

/** A tiny GBDT (8 leaves, depth 4) on `ds`, deterministic for `seed`. */
export async function trainTinyModel(
  ds: CtrDataset,
  seed: number,
  trees: number,
): Promise<TreeEnsemble> {
  const res = await trainGbdt(
    { ...ds, featureNames: ds.featureNames },
    { numTrees: trees, numLeaves: 8, maxDepth: 4, learningRate: 0.2, threads: 1, seed },
  );
  return res.model;
}

/** The model file's text (no target = the file format's default, CTR). */
export function modelFileText(model: TreeEnsemble, version: string, target?: ModelTarget): string {
  return JSON.stringify(
    gbdtModelFile(model, {
      version,
      ...(target !== undefined ? { target } : {}),
      featureSchema: { name: CTR_SCHEMA.name, version: CTR_SCHEMA.version, hash: CTR_SCHEMA.hash },
    }),
  );
}

/** Writes a model file at `path` and its signature beside it. */
export async function publishSignedModel(
  path: string,
  model: TreeEnsemble,
  version: string,
  privateKeyPem: string,
  target?: ModelTarget,
): Promise<void> {
  writeFileSync(path, modelFileText(model, version, target));
  await signModelFile(path, privateKeyPem);
}

/**
 * The probability `model` gives a demo candidate on the demo request (US-CA, mobile iOS; no time
 * zone, so no local hour): only what the request carries, and the candidate's ad fields.
 */
export function expectedDemoProbability(model: TreeEnsemble, ad: CtrInput['ad']): number {
  const input: CtrInput = {
    user: { country: 'US', region: 'US-CA' },
    ad,
    context: { device: 'mobile', os: 'ios' },
  };
  const row = new Float64Array(CTR_SCHEMA.size);
  vectorize(input, row);
  return sigmoid(referenceMargin(model, row));
}
