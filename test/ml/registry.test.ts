import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbMetrics, checkSplit, variantOf, type AbSplit } from '../../src/core/scoring/ab-split.js';
import { sliceDataset } from '../../src/ml/data/dataset-file.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import { trainGbdt } from '../../src/ml/gbdt/train.js';
import { gbdtModelFile } from '../../src/ml/model-file.js';
import {
  generateSigningKeys,
  ModelSlot,
  signModelFile,
  trustedKeys,
  type RejectReason,
} from '../../src/ml/registry.js';

describe('signed model registry', () => {
  let dir: string;
  const keys = generateSigningKeys();
  const other = generateSigningKeys();
  const ds = generateCtrData({ rows: 3000, seed: 4 });
  const rows = Float64Array.from(ds.features.subarray(0, 10 * ds.numFeatures));
  const write = async (name: string, text: string, signWith?: string): Promise<string> => {
    const p = path.join(dir, name);
    await writeFile(p, text);
    if (signWith !== undefined) await signModelFile(p, signWith);
    return p;
  };
  let v1 = '';
  let v2 = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'adstack-registry-'));
    const tr = sliceDataset(ds, 0, 2500);
    const manifest = (version: string) => ({
      version,
      featureSchema: { name: 'ctr', version: 1, hash: ds.schemaHash },
    });
    v1 = JSON.stringify(
      gbdtModelFile((await trainGbdt(tr, { numTrees: 3, seed: 1 })).model, manifest('v1')),
    );
    v2 = JSON.stringify(
      gbdtModelFile((await trainGbdt(tr, { numTrees: 6, seed: 2 })).model, manifest('v2')),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function slot(): { slot: ModelSlot; log: Array<[RejectReason, string]> } {
    const log: Array<[RejectReason, string]> = [];
    const s = new ModelSlot({
      keys: trustedKeys([keys.publicKeyPem]),
      schemaHash: ds.schemaHash,
      numFeatures: ds.numFeatures,
      onReject: (reason, message) => log.push([reason, message]),
    });
    return { slot: s, log };
  }

  it('loads a signed model, refuses a tampered one and keeps serving the previous model', async () => {
    const { slot: s, log } = slot();
    expect(await s.load(await write('v1.json', v1, keys.privateKeyPem))).toBe(true);
    const inFlight = s.model!.scorer;
    const out = new Float64Array(10);
    inFlight.predictBatch(rows, 10, out);
    const before = Array.from(out);

    // Tamper after signing: change one leaf value in the signed bytes.
    const p2 = await write('v2.json', v2, keys.privateKeyPem);
    const text = await readFile(p2, 'utf8');
    await writeFile(p2, text.replace(/"value":\[0,/, '"value":[1,'));
    expect(await s.load(p2)).toBe(false);
    expect(s.rejected.bad_signature).toBe(1);
    expect(log[0]![0]).toBe('bad_signature');
    expect(s.model!.manifest?.version).toBe('v1');
    s.model!.scorer.predictBatch(rows, 10, out);
    expect(Array.from(out)).toEqual(before);

    // A good v2 swaps in; a request that already held v1's scorer can still finish with it.
    expect(await s.load(await write('v2ok.json', v2, keys.privateKeyPem))).toBe(true);
    expect(s.model!.manifest?.version).toBe('v2');
    inFlight.predictBatch(rows, 10, out);
    expect(Array.from(out)).toEqual(before);
  });

  it('counts each kind of refusal', async () => {
    const { slot: s } = slot();
    await s.load(await write('unsigned.json', v1));
    await s.load(await write('otherkey.json', v1, other.privateKeyPem));
    await s.load(await write('garbage.json', '{"not":"a model"}', keys.privateKeyPem));
    const wrongSchema = v1.replace(`"hash":"${ds.schemaHash}"`, '"hash":"00000000"');
    await s.load(await write('schema.json', wrongSchema, keys.privateKeyPem));
    await s.load(path.join(dir, 'missing.json'));
    expect(s.rejected).toEqual({
      unsigned: 1,
      unknown_key: 1,
      bad_signature: 0,
      invalid_model: 1,
      schema_mismatch: 1,
      unreadable: 1,
    });
    expect(s.model).toBeNull();
  });

  it('serves only its own target: a CVR model is refused by the CTR slot', async () => {
    const cvr = v1.replace('"version":"v1"', '"version":"v1","target":"cvr"');
    expect(cvr).not.toBe(v1);
    const p = await write('cvr.json', cvr, keys.privateKeyPem);
    const { slot: ctrSlot, log } = slot();
    expect(await ctrSlot.load(p)).toBe(false);
    expect(log[0]).toEqual(['schema_mismatch', 'model predicts cvr, this slot serves ctr']);
    const cvrSlot = new ModelSlot({
      keys: trustedKeys([keys.publicKeyPem]),
      schemaHash: ds.schemaHash,
      numFeatures: ds.numFeatures,
      target: 'cvr',
    });
    expect(await cvrSlot.load(p)).toBe(true);
    // A file without a target is a CTR model (files written before CVR models existed).
    expect(await cvrSlot.load(await write('v1again.json', v1, keys.privateKeyPem))).toBe(false);
  });
});

describe('A/B split by user hash', () => {
  const split: AbSplit = {
    salt: 'ctr-exp-7',
    variants: [
      { name: 'control', weightBp: 9000 },
      { name: 'candidate', weightBp: 1000 },
    ],
  };

  it('assigns users stably and in proportion to the weights', () => {
    checkSplit(split);
    expect(variantOf(split, 'user-42').name).toBe(variantOf(split, 'user-42').name);
    let candidate = 0;
    for (let i = 0; i < 100_000; i++)
      if (variantOf(split, `u${i}`).name === 'candidate') candidate++;
    expect(candidate / 100_000).toBeGreaterThan(0.095);
    expect(candidate / 100_000).toBeLessThan(0.105);
    // Another salt reshuffles users: the experiments are independent.
    const other = { ...split, salt: 'ctr-exp-8' };
    let moved = 0;
    for (let i = 0; i < 10_000; i++)
      if (variantOf(split, `u${i}`).name !== variantOf(other, `u${i}`).name) moved++;
    expect(moved).toBeGreaterThan(1000);
  });

  it('refuses weights that do not add up and keeps per-variant metrics', () => {
    expect(() => checkSplit({ salt: 's', variants: [{ name: 'a', weightBp: 5000 }] })).toThrow(
      RangeError,
    );
    const m = new AbMetrics();
    m.recordPredictions('control', Float64Array.from([0.01, 0.03]), 2);
    m.recordImpression('control', true);
    m.recordImpression('control', false);
    expect(m.snapshot().control).toMatchObject({
      predictions: 2,
      meanPredicted: 0.02,
      observedCtr: 0.5,
    });
  });
});
