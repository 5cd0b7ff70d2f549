/**
 * Training from the ledger sees the served features (issue 5, no training/serving skew): the real
 * runtime serves decisions with a model, logs each fill's feature input (decision feature log,
 * migration 006), impressions reach the ledger through the tracking URLs, and
 * `readLedgerTrainingData` rebuilds rows from the logged inputs — every feature the request
 * carried, not just the 7 the ledger alone can fill.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { CATEGORIES, type CtrInput } from '../../src/core/features/input.js';
import { decodeCtrInput } from '../../src/core/features/logged.js';
import { CTR_SCHEMA, vectorize } from '../../src/core/features/schema.js';
import { referenceMargin, sigmoid, type TreeEnsemble } from '../../src/core/scoring/model.js';
import { createPgDecisionFeatureLog } from '../../src/adapters/postgres/decision-features.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import { LEDGER_FEATURES, readLedgerTrainingData } from '../../src/ml/ledger/rows.js';
import { generateSigningKeys } from '../../src/ml/registry.js';
import { publishSignedModel, trainTinyModel } from '../helpers/models.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'adstack-ledger-features-'));
const modelPath = join(dir, 'ctr.json');
const keyPath = join(dir, 'model-key.pem');
const keys = generateSigningKeys();

const DEVICES = ['mobile', 'desktop', 'tablet'] as const;
const OSES = ['ios', 'android', 'windows'] as const;
const REGIONS = ['US-CA', 'US-NY', 'US-TX', 'US-WA'] as const;

/** Request i: the demo placement, with geo, device, OS and interests varying by i. */
function request(i: number) {
  return {
    placement_id: 'plc_demo_banner',
    device: { type: DEVICES[i % 3]!, os: OSES[(i >> 1) % 3]! },
    geo: { country: 'US', region: REGIONS[i % 4]! },
    user: { interests: CATEGORIES.filter((_, k) => (k + i) % 3 === 0) },
  };
}

interface Served {
  campaignId: string;
  ctr: number;
  req: ReturnType<typeof request>;
}

let model: TreeEnsemble;
let rt: TestRuntime;
const served: Served[] = [];
const N = 24;

beforeAll(async () => {
  model = await trainTinyModel(generateCtrData({ rows: 3000, seed: 11 }), 11, 16);
  writeFileSync(keyPath, keys.publicKeyPem);
  await publishSignedModel(modelPath, model, 'ctr-features-v1', keys.privateKeyPem);
  rt = await startTestRuntime({
    ADSTACK_MODEL_PATH: modelPath,
    ADSTACK_MODEL_PUBLIC_KEY: keyPath,
    // Off by default on PGlite (the test runtime's database); on here.
    ADSTACK_FEATURE_LOG_MAX_PENDING: '10000',
  });
  for (let i = 0; i < N; i++) {
    const req = request(i);
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions?debug=1',
      payload: req,
      headers: { 'x-api-key': ADMIN_KEY },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const won = (
      body.debug.candidates as {
        campaign_id: string;
        result: string;
        prediction: { ctr: number };
      }[]
    ).find((c) => c.result === 'won')!;
    served.push({ campaignId: body.campaign_id, ctr: won.prediction.ctr, req });
    const imp = await rt.app.inject({ method: 'GET', url: pathOf(body.tracking.impression_url) });
    expect(imp.statusCode).toBeLessThan(300);
  }
  await rt.featureLog!.flush();
}, 120_000);

afterAll(async () => {
  await rt?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('decision feature log → training rows from the ledger', () => {
  it('logs, per fill, the input the served model scored', async () => {
    const rows = await rt.storage.driver.query<{ decision_id: string; input: string }>(
      'SELECT decision_id, input FROM decision_features ORDER BY decided_at',
    );
    expect(rows.length).toBe(N);
    expect(rt.featureLog!.written).toBe(N);
    expect(rt.featureLog!.dropped).toBe(0);
    const metrics = (await rt.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(`adstack_feature_log_records_total{result="written"} ${N}`);
    expect(metrics).toContain('adstack_feature_log_records_total{result="dropped"} 0');
    const vec = new Float64Array(CTR_SCHEMA.size);
    const p = rows.map((r) => {
      vectorize(decodeCtrInput(r.input), vec);
      return sigmoid(referenceMargin(model, vec));
    });
    // The model, applied to the logged input, gives exactly the CTR the decision used …
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    expect(sorted(p)).toEqual(sorted(served.map((s) => s.ctr)));
    // … and that CTR depends on the request's features, so the equality has teeth.
    expect(new Set(served.map((s) => s.ctr)).size).toBeGreaterThan(1);
  });

  it('builds every ledger row from the logged input: request features present, no skew', async () => {
    const data = await readLedgerTrainingData(rt.storage.driver, {
      attributionWindowMs: 3_600_000,
    });
    expect(data.numRows).toBe(N);
    expect(data.meta.loggedInputs).toBe(N);
    const nf = CTR_SCHEMA.size;
    const vec = new Float64Array(nf);
    for (let i = 0; i < N; i++) {
      // Impressions were fired in decision order, so ledger row i is decision i. The expected
      // input is written out by hand from the request sent, not by the serving code.
      const { req, campaignId } = served[i]!;
      const listed = new Set<string>(req.user.interests);
      const expected: CtrInput = {
        user: {
          country: 'US',
          region: req.geo.region,
          interests: Object.fromEntries(CATEGORIES.map((c) => [c, listed.has(c) ? 1 : 0])),
        },
        ad: demoAd(campaignId),
        context: { device: req.device.type, os: req.device.os },
      };
      vectorize(expected, vec);
      const row = Array.from(data.features.subarray(i * nf, (i + 1) * nf));
      expect(row).toEqual(Array.from(vec, (v) => Math.fround(v)));
    }
    // Far more than the ledger-only features now have values.
    const present = nf - data.meta.notInLedger.length;
    expect(present).toBeGreaterThan(LEDGER_FEATURES.length + 24);
    for (const f of ['user.country', 'context.device=desktop', 'context.os=android'])
      expect(data.meta.notInLedger).not.toContain(f);
  });

  it('falls back to ledger + catalog for an impression whose decision was not logged', async () => {
    await rt.storage.driver.query(
      `INSERT INTO ledger_events (event_key, kind, decision_id, advertiser_id, campaign_id,
         creative_id, placement_id, spend_micros, occurred_at)
       SELECT 'impression:unlogged-1', 'impression', 'unlogged-1', advertiser_id, campaign_id,
              creative_id, placement_id, 0, occurred_at + interval '1 second'
         FROM ledger_events WHERE kind = 'impression' ORDER BY seq DESC LIMIT 1`,
    );
    const data = await readLedgerTrainingData(rt.storage.driver, {
      attributionWindowMs: 3_600_000,
    });
    expect(data.numRows).toBe(N + 1);
    expect(data.meta.loggedInputs).toBe(N);
    const nf = CTR_SCHEMA.size;
    const last = data.features.subarray(N * nf, (N + 1) * nf);
    const names = CTR_SCHEMA.features.map((f) => f.name);
    const withValue = names.filter((_, j) => !Number.isNaN(last[j]!));
    expect(withValue.length).toBeGreaterThan(0);
    expect(withValue.every((n) => LEDGER_FEATURES.includes(n))).toBe(true);
    // --logged-inputs-only leaves it out, and says so.
    const only = await readLedgerTrainingData(rt.storage.driver, {
      attributionWindowMs: 3_600_000,
      loggedInputsOnly: true,
    });
    expect(only.numRows).toBe(N);
    expect(only.meta.skippedUnlogged).toBe(1);
    expect(Array.from(only.features)).toEqual(Array.from(data.features.subarray(0, N * nf)));
  });

  it('has no default in the config (the runtime turns it on for PostgreSQL only)', () => {
    expect(loadConfig({}).featureLogMaxPending).toBeNull();
    expect(loadConfig({ ADSTACK_FEATURE_LOG_MAX_PENDING: '0' }).featureLogMaxPending).toBe(0);
    expect(rt.featureLog).not.toBeNull(); // set above, on PGlite
  });

  it('is bounded: beyond maxPending records are dropped and counted, never queued', async () => {
    const log = createPgDecisionFeatureLog(rt.storage.driver, { maxPending: 2, batchSize: 10 });
    const input: CtrInput = { user: {}, ad: { campaignId: 'x' }, context: {} };
    for (let i = 0; i < 5; i++)
      log.record({ decisionId: `bounded-${i}`, decidedAtMs: Date.UTC(2026, 0, 1), input });
    await log.close();
    expect(log.written).toBe(2);
    expect(log.dropped).toBe(3);
    const [row] = await rt.storage.driver.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM decision_features WHERE decision_id LIKE 'bounded-%'`,
    );
    expect(row?.n).toBe(2);
  });
});

/**
 * The ad fields of a demo campaign as the decision saw them. Read from the catalog the demo
 * seeds (src/wiring/demo-data.ts), written out here.
 */
function demoAd(campaignId: string): CtrInput['ad'] {
  const demo: Record<string, CtrInput['ad']> = {
    cmp_demo_wander_clicks: {
      advertiserId: 'adv_demo_wander',
      campaignId: 'cmp_demo_wander_clicks',
      creativeType: 'banner',
    },
    cmp_demo_stride_runners: {
      advertiserId: 'adv_demo_stride',
      campaignId: 'cmp_demo_stride_runners',
      creativeType: 'banner',
      bidCpm: 5,
    },
  };
  const ad = demo[campaignId];
  if (ad === undefined) throw new Error(`unexpected winner ${campaignId}`);
  return ad;
}
