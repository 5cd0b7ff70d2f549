/**
 * The CTR model in the decision path (issue 5, serving): a tiny GBDT trained here on synthetic
 * data, signed with a fresh Ed25519 key, served by the real runtime; hot swap through
 * POST /v1/admin/models/reload, with tampered and unsigned files refused while the previous
 * model keeps serving.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { CTR_SCHEMA } from '../../src/core/features/schema.js';
import type { TreeEnsemble } from '../../src/core/scoring/model.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import { generateSigningKeys, signModelFile } from '../../src/ml/registry.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import {
  expectedDemoProbability,
  modelFileText,
  publishSignedModel,
  trainTinyModel,
} from '../helpers/models.js';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'adstack-model-'));
const modelPath = join(dir, 'ctr.json');
const keyPath = join(dir, 'model-key.pem');
const keys = generateSigningKeys();

const trainModel = (seed: number, trees: number): Promise<TreeEnsemble> =>
  trainTinyModel(generateCtrData({ rows: 3000, seed }), seed, trees);

const modelText = (model: TreeEnsemble, version: string): string => modelFileText(model, version);

/** Writes a model file and its signature at `modelPath`. */
const publish = (model: TreeEnsemble, version: string): Promise<void> =>
  publishSignedModel(modelPath, model, version, keys.privateKeyPem);

/** The CTR the model should give the demo request's CPC candidate (Wander, banner creative). */
const expectedWanderCtr = (model: TreeEnsemble): number =>
  expectedDemoProbability(model, {
    advertiserId: 'adv_demo_wander',
    campaignId: 'cmp_demo_wander_clicks',
    creativeType: 'banner',
  });

let v1: TreeEnsemble;
let v2: TreeEnsemble;
let rt: TestRuntime;

beforeAll(async () => {
  [v1, v2] = await Promise.all([trainModel(1, 12), trainModel(2, 20)]);
  writeFileSync(keyPath, keys.publicKeyPem);
  await publish(v1, 'ctr-test-v1');
  rt = await startTestRuntime({ ADSTACK_MODEL_PATH: modelPath, ADSTACK_MODEL_PUBLIC_KEY: keyPath });
});

afterAll(async () => {
  await rt?.close();
  rmSync(dir, { recursive: true, force: true });
});

const debug = (payload: object = DEMO_REQUEST) =>
  rt.app.inject({
    method: 'POST',
    url: '/v1/decisions?debug=1',
    payload,
    headers: { 'x-api-key': ADMIN_KEY },
  });
const reload = (key: string = ADMIN_KEY) =>
  rt.app.inject({
    method: 'POST',
    url: '/v1/admin/models/reload',
    headers: { 'x-api-key': key },
  });
const metric = async (line: string): Promise<number> => {
  const text = (await rt.app.inject({ method: 'GET', url: '/metrics' })).body;
  const hit = text.split('\n').find((l) => l.startsWith(`${line} `));
  return hit === undefined ? 0 : Number(hit.slice(line.length + 1));
};

interface Verdict {
  campaign_id: string;
  result: string;
  ecpm_micros?: number;
  price_micros?: number;
  prediction?: { ctr: number; cvr: number };
}

/** Checks a demo decision against the auction worked out by hand from the model's CTR. */
async function expectDecisionFollows(model: TreeEnsemble, version: string): Promise<void> {
  const p = expectedWanderCtr(model);
  const res = await debug();
  expect(res.statusCode).toBe(200);
  const body = res.json();
  expect(body.debug.prediction).toEqual({
    source: 'model',
    model: { version, format: 'adstack', kind: 'gbdt', schema_hash: CTR_SCHEMA.hash },
    cvr: 0.05,
    cvr_source: 'constant_prior',
  });
  const by = Object.fromEntries(
    (body.debug.candidates as Verdict[]).map((c) => [c.campaign_id, c]),
  );
  const wander = by.cmp_demo_wander_clicks!;
  expect(wander.prediction!.ctr).toBeCloseTo(p, 12);
  expect(wander.prediction!.cvr).toBe(0.05);
  // Wander bids $0.40 per click: eCPM = 400_000 × p × 1000 micros. Stride bids a $5.00 CPM.
  const wanderEcpm = 400_000 * p * 1000;
  expect(wander.ecpm_micros).toBe(Math.round(wanderEcpm));
  if (wanderEcpm > 5_000_000) {
    // The model lifts the CPC campaign above the CPM one (the prior 0.01 ranks it second).
    expect(body.campaign_id).toBe('cmp_demo_wander_clicks');
    const price = Math.min(400_000, Math.floor(5_000_000 / (p * 1000) + 0.5));
    expect(body.price).toEqual({ model: 'cpc', price_micros: price, clearing_cpm_micros: 5e6 });
  } else {
    expect(body.campaign_id).toBe('cmp_demo_stride_runners');
    const clearing = Math.max(wanderEcpm, 500_000);
    expect(Math.abs(body.price.price_micros - clearing)).toBeLessThanOrEqual(1);
  }
  // A lone CPC bidder pays the floor converted with the model's CTR.
  const lone = (await debug({ ...DEMO_REQUEST, keywords: ['cooking'] })).json();
  expect(lone.campaign_id).toBe('cmp_demo_wander_clicks');
  expect(lone.price.price_micros).toBe(Math.min(400_000, Math.floor(500_000 / (p * 1000) + 0.5)));
}

describe('CTR model in the decision path', () => {
  it('scores candidates with the signed model (source "model", prices from its CTR)', async () => {
    const p = expectedWanderCtr(v1);
    expect(p).not.toBeCloseTo(0.01, 6); // else the test could not tell the model from the prior
    await expectDecisionFollows(v1, 'ctr-test-v1');
    expect(
      await metric(
        'adstack_model_info{version="ctr-test-v1",format="adstack",kind="gbdt",schema_hash="' +
          CTR_SCHEMA.hash +
          '"}',
      ),
    ).toBe(1);
    // The normal path uses the model too (same winner as the explained one).
    const plain = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: DEMO_REQUEST,
    });
    expect(plain.json().campaign_id).toBe((await debug()).json().campaign_id);
  });

  it('refuses a tampered model (422 bad_signature), counts it, and keeps serving v1', async () => {
    const before = await metric('adstack_model_rejected_total{reason="bad_signature"}');
    const text = readFileSync(modelPath, 'utf8');
    // One changed byte: the version string; the old signature stays beside it.
    writeFileSync(modelPath, text.replace('ctr-test-v1', 'ctr-test-v9'));
    const res = await reload();
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({
      code: 'ADS_ERR_MODEL_REJECTED',
      reason: 'bad_signature',
      serving: { version: 'ctr-test-v1' },
    });
    expect(res.json().error.message).toContain('bad_signature');
    expect(await metric('adstack_model_rejected_total{reason="bad_signature"}')).toBe(before + 1);
    await expectDecisionFollows(v1, 'ctr-test-v1');
  });

  it('refuses an unsigned model (422 unsigned)', async () => {
    await publish(v2, 'ctr-test-v2');
    unlinkSync(`${modelPath}.sig`);
    const res = await reload();
    expect(res.statusCode).toBe(422);
    expect(res.json().error.reason).toBe('unsigned');
    expect(await metric('adstack_model_rejected_total{reason="unsigned"}')).toBe(1);
    await expectDecisionFollows(v1, 'ctr-test-v1');
  });

  it('refuses a model signed by an unknown key (422 unknown_key)', async () => {
    writeFileSync(modelPath, modelText(v2, 'ctr-test-v2'));
    await signModelFile(modelPath, generateSigningKeys().privateKeyPem);
    const res = await reload();
    expect(res.statusCode).toBe(422);
    expect(res.json().error.reason).toBe('unknown_key');
    await expectDecisionFollows(v1, 'ctr-test-v1');
  });

  it('swaps in a valid new version on reload', async () => {
    await publish(v2, 'ctr-test-v2');
    const res = await reload();
    expect(res.statusCode).toBe(200);
    expect(res.json().model).toMatchObject({ version: 'ctr-test-v2', format: 'adstack' });
    // v1 leaves the CPM campaign on top (at a higher second price than the prior's); v2 predicts
    // enough clicks for the CPC campaign to outrank it: the swap changes the winner.
    expect(400_000 * expectedWanderCtr(v1) * 1000).toBeLessThan(5_000_000);
    expect(400_000 * expectedWanderCtr(v2) * 1000).toBeGreaterThan(5_000_000);
    await expectDecisionFollows(v2, 'ctr-test-v2');
    const info = await rt.app.inject({
      method: 'GET',
      url: '/v1/admin/models',
      headers: { 'x-api-key': ADMIN_KEY },
    });
    expect(info.json()).toMatchObject({
      configured: true,
      model: { version: 'ctr-test-v2' },
      rejected: { bad_signature: 1, unsigned: 1, unknown_key: 1 },
    });
  });

  it('reload needs the admin key', async () => {
    expect(
      (await rt.app.inject({ method: 'POST', url: '/v1/admin/models/reload' })).statusCode,
    ).toBe(401);
    expect((await reload('demo-advertiser-key-stride')).statusCode).toBe(403);
  });
});

describe('without a model configured', () => {
  it('decides with the constant prior, and reload answers 409', async () => {
    const plain = await startTestRuntime();
    try {
      const res = await plain.app.inject({
        method: 'POST',
        url: '/v1/decisions?debug=1',
        payload: DEMO_REQUEST,
        headers: { 'x-api-key': ADMIN_KEY },
      });
      expect(res.json().debug.prediction).toEqual({
        ctr: 0.01,
        cvr: 0.05,
        source: 'constant_prior',
      });
      expect(res.json().price).toEqual({
        model: 'cpm',
        price_micros: 4_000_000,
        clearing_cpm_micros: 4_000_000,
      });
      const r = await plain.app.inject({
        method: 'POST',
        url: '/v1/admin/models/reload',
        headers: { 'x-api-key': ADMIN_KEY },
      });
      expect(r.statusCode).toBe(409);
      expect(r.json().error.code).toBe('ADS_ERR_MODEL_NOT_CONFIGURED');
    } finally {
      await plain.close();
    }
  });

  it('config: a model path needs a key, and the key must be an Ed25519 PEM', () => {
    const base = { ADSTACK_DATA_DIR: 'memory://' };
    const err = (env: Record<string, string>): ConfigError => {
      try {
        loadConfig({ ...base, ...env });
      } catch (e) {
        if (e instanceof ConfigError) return e;
        throw e;
      }
      throw new Error('expected a ConfigError');
    };
    expect(err({ ADSTACK_MODEL_PATH: modelPath }).variable).toBe('ADSTACK_MODEL_PUBLIC_KEY');
    expect(err({ ADSTACK_MODEL_PUBLIC_KEY: keyPath }).variable).toBe('ADSTACK_MODEL_PATH');
    const missing = err({
      ADSTACK_MODEL_PATH: modelPath,
      ADSTACK_MODEL_PUBLIC_KEY: join(dir, 'nope.pem'),
    });
    expect(missing.message).toMatch(/^ADSTACK_MODEL_PUBLIC_KEY: cannot read/);
    const notKey = join(dir, 'not-a-key.pem');
    writeFileSync(notKey, 'hello');
    expect(err({ ADSTACK_MODEL_PATH: modelPath, ADSTACK_MODEL_PUBLIC_KEY: notKey }).variable).toBe(
      'ADSTACK_MODEL_PUBLIC_KEY',
    );
    const ok = loadConfig({
      ...base,
      ADSTACK_MODEL_PATH: modelPath,
      ADSTACK_MODEL_PUBLIC_KEY: keyPath,
    });
    expect(ok.modelPath).toBe(modelPath);
    expect(ok.modelPublicKeyPem).toBe(keys.publicKeyPem);
  });
});
