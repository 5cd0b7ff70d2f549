/**
 * The CVR model in the decision path (issue 5, serving): a tiny GBDT trained here on synthetic
 * conversions-among-clicks data, signed with a fresh Ed25519 key and served from
 * ADSTACK_CVR_MODEL_PATH by the real runtime. It sets the CVR of CPA candidates and hence their
 * eCPM: on the native placement the demo's CPA campaign (Stride sign-ups, $12 per conversion)
 * competes with a CPM campaign whose bid this test puts between the CPA campaign's eCPM under
 * the CVR prior and under the model, so the winner tells which CVR was used.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { CTR_SCHEMA } from '../../src/core/features/schema.js';
import type { TreeEnsemble } from '../../src/core/scoring/model.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import { generateCvrData } from '../../src/ml/data/synthetic-cvr.js';
import type { ModelTarget } from '../../src/ml/model-file.js';
import { generateSigningKeys } from '../../src/ml/registry.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { expectedDemoProbability, publishSignedModel, trainTinyModel } from '../helpers/models.js';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'adstack-cvr-model-'));
const cvrPath = join(dir, 'cvr.json');
const keyPath = join(dir, 'model-key.pem');
const keys = generateSigningKeys();

const PRIOR_CTR = 0.01;
const PRIOR_CVR = 0.05;
const CPA_BID = 12_000_000; // cmp_demo_stride_signups
const NATIVE_REQUEST = { ...DEMO_REQUEST, placement_id: 'plc_demo_native' };

async function train(target: ModelTarget, seed: number): Promise<TreeEnsemble> {
  const ds =
    target === 'cvr'
      ? generateCvrData({ rows: 3000, seed })
      : generateCtrData({ rows: 3000, seed });
  return trainTinyModel(ds, seed, 12);
}

const publish = (path: string, model: TreeEnsemble, version: string, target: ModelTarget) =>
  publishSignedModel(path, model, version, keys.privateKeyPem, target);

/** The CVR the model should give the CPA candidate (Stride sign-ups, native creative). */
const expectedSignupsCvr = (model: TreeEnsemble): number =>
  expectedDemoProbability(model, {
    advertiserId: 'adv_demo_stride',
    campaignId: 'cmp_demo_stride_signups',
    creativeType: 'native',
  });

const cpaEcpm = (cvr: number): number => CPA_BID * PRIOR_CTR * cvr * 1000;

let cvrModel: TreeEnsemble;
let ctrModel: TreeEnsemble;
let pModel: number;
/** The competing CPM campaign's bid: halfway between the CPA eCPM under the prior and the model. */
let cpmBid: number;
let cpmCampaign: string;
let rt: TestRuntime;

const call = (t: TestRuntime, method: 'GET' | 'POST', url: string, payload?: object) =>
  t.app.inject({
    method,
    url,
    headers: { 'x-api-key': ADMIN_KEY },
    ...(payload !== undefined ? { payload } : {}),
  });

/**
 * A CPM campaign with a native creative, so the CPA campaign has a rival on the native slot.
 * Both pace 'asap' (the demo's even pacing throttles a $12 CPA bid against a $30 day at start).
 */
async function addCpmRival(t: TestRuntime, bid: number): Promise<string> {
  const paced = await t.app.inject({
    method: 'PATCH',
    url: '/v1/admin/campaigns/cmp_demo_stride_signups',
    headers: { 'x-api-key': ADMIN_KEY },
    payload: { pacing: 'asap', daily_budget_micros: 1_000_000_000 },
  });
  expect(paced.statusCode).toBe(200);
  const cmp = await call(t, 'POST', '/v1/admin/campaigns', {
    advertiser_id: 'adv_demo_wander',
    name: 'Wander native CPM',
    pricing_model: 'cpm',
    bid_micros: bid,
    pacing: 'asap',
  });
  expect(cmp.statusCode).toBe(201);
  const cre = await call(t, 'POST', '/v1/admin/creatives', {
    campaign_id: cmp.json().id,
    name: 'Wander native',
    format: 'native',
    native: { title: 'Go somewhere' },
    landing_url: 'https://wander.example/go',
  });
  expect(cre.statusCode).toBe(201);
  return cmp.json().id as string;
}

beforeAll(async () => {
  [cvrModel, ctrModel] = await Promise.all([train('cvr', 7), train('ctr', 1)]);
  pModel = expectedSignupsCvr(cvrModel);
  cpmBid = Math.round((cpaEcpm(pModel) + cpaEcpm(PRIOR_CVR)) / 2);
  writeFileSync(keyPath, keys.publicKeyPem);
  await publish(cvrPath, cvrModel, 'cvr-test-v1', 'cvr');
  rt = await startTestRuntime({
    ADSTACK_CVR_MODEL_PATH: cvrPath,
    ADSTACK_MODEL_PUBLIC_KEY: keyPath,
  });
  cpmCampaign = await addCpmRival(rt, cpmBid);
}, 120_000); // training two models and a runtime start, on a shared 2-core machine

afterAll(async () => {
  await rt?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Verdict {
  campaign_id: string;
  ecpm_micros?: number;
  prediction?: { ctr: number; cvr: number };
}

/** A native decision explained; checks the CPA candidate's CVR, eCPM and the winner. */
async function expectNativeDecision(
  t: TestRuntime,
  cvr: number,
  rival: string = cpmCampaign,
): Promise<object> {
  const res = await call(t, 'POST', '/v1/decisions?debug=1', NATIVE_REQUEST);
  expect(res.statusCode).toBe(200);
  const body = res.json();
  const by = Object.fromEntries(
    (body.debug.candidates as Verdict[]).map((c) => [c.campaign_id, c]),
  );
  const cpa = by.cmp_demo_stride_signups!;
  expect(cpa.prediction!.ctr).toBe(PRIOR_CTR);
  expect(cpa.prediction!.cvr).toBeCloseTo(cvr, 12);
  expect(cpa.ecpm_micros).toBe(Math.round(cpaEcpm(cvr)));
  const cpm = by[rival]!;
  expect(cpm.ecpm_micros).toBe(cpmBid);
  // The CVR model's value and the prior sit on either side of the rival's bid.
  const cpaWins = cpaEcpm(cvr) > cpmBid;
  expect(body.campaign_id).toBe(cpaWins ? 'cmp_demo_stride_signups' : rival);
  if (cpaWins) {
    // Second price: the CPM rival's eCPM converted back into a price per conversion.
    const price = Math.min(CPA_BID, Math.floor(cpmBid / (PRIOR_CTR * cvr * 1000) + 0.5));
    expect(Math.abs(body.price.price_micros - price)).toBeLessThanOrEqual(1);
  }
  return body.debug.prediction as object;
}

describe('CVR model in the decision path', () => {
  it('scores the CPA candidate’s CVR with the signed model and changes the winner', async () => {
    // Else the test could not tell the model from the prior.
    expect(Math.abs(cpaEcpm(pModel) - cpaEcpm(PRIOR_CVR))).toBeGreaterThan(10_000);
    const summary = await expectNativeDecision(rt, pModel);
    expect(summary).toEqual({
      source: 'constant_prior',
      ctr: PRIOR_CTR,
      cvr_source: 'model',
      cvr_model: {
        version: 'cvr-test-v1',
        format: 'adstack',
        kind: 'gbdt',
        schema_hash: CTR_SCHEMA.hash,
      },
    });
    // Non-CPA candidates keep the CVR prior (their eCPM does not use it).
    const banner = (await call(rt, 'POST', '/v1/decisions?debug=1', DEMO_REQUEST)).json();
    for (const c of banner.debug.candidates as Verdict[])
      if (c.prediction !== undefined) expect(c.prediction.cvr).toBe(PRIOR_CVR);
    const metrics = (await rt.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(
      `adstack_cvr_model_info{version="cvr-test-v1",format="adstack",kind="gbdt",schema_hash="${CTR_SCHEMA.hash}"} 1`,
    );
  });

  it('refuses a CTR-target file in the CVR slot (422 schema_mismatch) and keeps the CVR model', async () => {
    await publish(cvrPath, ctrModel, 'ctr-in-cvr-slot', 'ctr');
    const res = await call(rt, 'POST', '/v1/admin/models/reload?slot=cvr');
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({
      code: 'ADS_ERR_MODEL_REJECTED',
      reason: 'schema_mismatch',
      slot: 'cvr',
      serving: { version: 'cvr-test-v1' },
    });
    expect(res.json().error.message).toContain('model predicts ctr, this slot serves cvr');
    await expectNativeDecision(rt, pModel);
    const info = (await call(rt, 'GET', '/v1/admin/models')).json();
    expect(info).toMatchObject({
      configured: false,
      model: null,
      cvr: {
        configured: true,
        path: cvrPath,
        model: { version: 'cvr-test-v1' },
        rejected: { schema_mismatch: 1 },
      },
    });
  });

  it('a reload without a slot reloads the configured slots; a slot not configured is 409', async () => {
    await publish(cvrPath, cvrModel, 'cvr-test-v2', 'cvr');
    const res = await call(rt, 'POST', '/v1/admin/models/reload');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ model: null, cvr_model: { version: 'cvr-test-v2' } });
    const ctr = await call(rt, 'POST', '/v1/admin/models/reload?slot=ctr');
    expect(ctr.statusCode).toBe(409);
    expect(ctr.json().error.code).toBe('ADS_ERR_MODEL_NOT_CONFIGURED');
    const bad = await call(rt, 'POST', '/v1/admin/models/reload?slot=ecpm');
    expect(bad.statusCode).toBe(400);
  });
});

describe('CVR slot with a missing file', () => {
  it('decides with the CVR prior (and the other winner), counting the file unreadable', async () => {
    const missing = await startTestRuntime({
      ADSTACK_CVR_MODEL_PATH: join(dir, 'nope.json'),
      ADSTACK_MODEL_PUBLIC_KEY: keyPath,
    });
    try {
      const rival = await addCpmRival(missing, cpmBid);
      const summary = await expectNativeDecision(missing, PRIOR_CVR, rival);
      expect(summary).toEqual({ ctr: PRIOR_CTR, cvr: PRIOR_CVR, source: 'constant_prior' });
      const info = (await call(missing, 'GET', '/v1/admin/models')).json();
      expect(info.cvr).toMatchObject({
        configured: true,
        model: null,
        rejected: { unreadable: 1 },
      });
    } finally {
      await missing.close();
    }
  }, 120_000); // a second runtime start

  it('config: the CVR path needs the key; the key alone needs a path', () => {
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
    const noKey = err({ ADSTACK_CVR_MODEL_PATH: cvrPath });
    expect(noKey.variable).toBe('ADSTACK_MODEL_PUBLIC_KEY');
    expect(noKey.message).toContain('ADSTACK_CVR_MODEL_PATH');
    expect(err({ ADSTACK_MODEL_PUBLIC_KEY: keyPath }).variable).toBe('ADSTACK_MODEL_PATH');
    const ok = loadConfig({
      ...base,
      ADSTACK_CVR_MODEL_PATH: cvrPath,
      ADSTACK_MODEL_PUBLIC_KEY: keyPath,
    });
    expect(ok).toMatchObject({ modelPath: null, cvrModelPath: cvrPath });
    expect(ok.modelPublicKeyPem).toBe(keys.publicKeyPem);
  });
});
