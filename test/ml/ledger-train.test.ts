/**
 * Training from the event ledger (issue 5): synthetic impressions and clicks written to a fresh
 * PGlite ledger, read back with the serving path's feature code, trained, checked by the
 * quarantine and loaded by the server's model holder.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Campaign, Creative } from '../../src/core/domain/entities.js';
import { CTR_SCHEMA } from '../../src/core/features/schema.js';
import { ServingModel, PredictionStage } from '../../src/exchange/prediction.js';
import { loadModelText, type LoadedModel } from '../../src/ml/model-file.js';
import { Rng } from '../../src/ml/random.js';
import { generateSigningKeys, signModelFile } from '../../src/ml/registry.js';
import { readLedgerTrainingData } from '../../src/ml/ledger/rows.js';
import { trainFromLedger } from '../../src/ml/ledger/train-from-ledger.js';
import { freshPglite, type TestDb } from '../helpers/databases.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const WINDOW = 3_600_000;

interface Camp {
  id: string;
  adv: string;
  pricing: 'cpm' | 'cpc';
  bid: number;
  format: 'banner' | 'video' | 'native';
  ctr: number;
}
const CAMPAIGNS: Camp[] = [0.002, 0.006, 0.015, 0.03, 0.05, 0.08, 0.12, 0.01].map((ctr, i) => ({
  id: `cmp-${i}`,
  adv: `adv-${i % 4}`,
  pricing: i % 2 === 0 ? 'cpm' : 'cpc',
  bid: 1_000_000 + i * 250_000,
  format: (['banner', 'video', 'native'] as const)[i % 3]!,
  ctr,
}));

type Ev = [string, 'impression' | 'click', string, string, string, string, string, number, string];

async function insertEvents(db: TestDb, events: Ev[]): Promise<void> {
  for (let i = 0; i < events.length; i += 400) {
    const batch = events.slice(i, i + 400);
    const params: unknown[] = [];
    const tuples = batch.map((e) => {
      const b = params.length;
      params.push(...e);
      return `(${e.map((_, k) => `$${b + k + 1}`).join(', ')})`;
    });
    await db.driver.query(
      `INSERT INTO ledger_events (event_key, kind, decision_id, advertiser_id, campaign_id,
         creative_id, placement_id, spend_micros, occurred_at) VALUES ${tuples.join(', ')}`,
      params,
    );
  }
}

/**
 * n impressions from startMs, one per second, on random campaigns; a click 5 s later with the
 * campaign's CTR — or, for the first `noiseFraction` of them, with a flat 3 % (labels that carry
 * no signal, as poisoned or broken logging would).
 */
function impressions(
  tag: string,
  startMs: number,
  n: number,
  seed: number,
  opts: { noiseFraction?: number; creativePrefix?: string } = {},
): { events: Ev[]; clicks: number } {
  const rng = new Rng(seed);
  const events: Ev[] = [];
  let clicks = 0;
  for (let i = 0; i < n; i++) {
    const c = CAMPAIGNS[rng.int(CAMPAIGNS.length)]!;
    const d = `${tag}-${i}`;
    const t = startMs + i * 1000;
    const creative = `${opts.creativePrefix ?? 'cr'}-${c.id}`;
    events.push([
      `impression:${d}`,
      'impression',
      d,
      c.adv,
      c.id,
      creative,
      'plc-1',
      0,
      new Date(t).toISOString(),
    ]);
    const p = i < n * (opts.noiseFraction ?? 0) ? 0.03 : c.ctr;
    if (rng.next() < p) {
      clicks++;
      events.push([
        `click:${d}`,
        'click',
        d,
        c.adv,
        c.id,
        creative,
        'plc-1',
        0,
        new Date(t + 5000).toISOString(),
      ]);
    }
  }
  return { events, clicks };
}

/** Generous limits for shared, loaded machines; unloaded, each test takes seconds. */
const SLOW = 120_000;

describe('training from the event ledger', () => {
  let db: TestDb;
  let dir = '';
  const keys = generateSigningKeys();
  let cleanClicks = 0;
  let accepted: LoadedModel | null = null;

  beforeAll(async () => {
    db = await freshPglite();
    dir = await mkdtemp(path.join(os.tmpdir(), 'adstack-ledger-train-'));
    for (const a of ['adv-0', 'adv-1', 'adv-2', 'adv-3'])
      await db.driver.query(
        `INSERT INTO advertisers (id, name, status) VALUES ($1, $1, 'active')`,
        [a],
      );
    for (const c of CAMPAIGNS) {
      await db.driver.query(
        `INSERT INTO campaigns (id, advertiser_id, name, status, time_zone, pacing, pricing_model, bid_micros)
         VALUES ($1, $2, $1, 'active', 'UTC', 'even', $3, $4)`,
        [c.id, c.adv, c.pricing, c.bid],
      );
      await db.driver.query(
        `INSERT INTO creatives (id, advertiser_id, campaign_id, name, format, landing_url, approval, status)
         VALUES ($1, $2, $3, $1, $4, 'https://example.com', 'approved', 'active')`,
        [`cr-${c.id}`, c.adv, c.id, c.format],
      );
    }
    // Day 1: clean traffic. Day 2: creatives unknown to the catalog. Day 3: noise, then clean.
    const clean = impressions('a', T0, 6000, 1);
    cleanClicks = clean.clicks;
    await insertEvents(db, clean.events);
    // A late click (outside the window) and a click without an impression: neither is a label.
    await insertEvents(db, [
      [
        'impression:late',
        'impression',
        'late',
        'adv-0',
        'cmp-0',
        'cr-cmp-0',
        'plc-1',
        0,
        new Date(T0 + 6_500_000).toISOString(),
      ],
      [
        'click:late',
        'click',
        'late',
        'adv-0',
        'cmp-0',
        'cr-cmp-0',
        'plc-1',
        0,
        new Date(T0 + 6_500_000 + 2 * WINDOW).toISOString(),
      ],
      [
        'click:orphan',
        'click',
        'orphan',
        'adv-0',
        'cmp-0',
        'cr-cmp-0',
        'plc-1',
        0,
        new Date(T0 + 1000).toISOString(),
      ],
    ]);
    await insertEvents(db, impressions('b', T0 + DAY, 1500, 2, { creativePrefix: 'gone' }).events);
    await insertEvents(db, impressions('c', T0 + 2 * DAY, 8000, 3, { noiseFraction: 0.7 }).events);
  }, SLOW);
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }, SLOW);

  const day = (k: number): { fromMs: number; toMs: number } => ({
    fromMs: T0 + k * DAY,
    toMs: T0 + (k + 1) * DAY,
  });
  const base = {
    attributionWindowMs: WINDOW,
    gbdt: {
      numTrees: 30,
      numLeaves: 8,
      maxDepth: 4,
      learningRate: 0.1,
      minDataInLeaf: 20,
      seed: 1,
    },
    calibrate: 'none' as const,
    version: 'ledger-test',
    createdAt: new Date(T0 + 3 * DAY).toISOString(),
  };

  it(
    'labels an impression clicked only when its own click falls inside the window',
    async () => {
      let lastProgress = [0, 0];
      const d = await readLedgerTrainingData(db.driver, {
        ...day(0),
        attributionWindowMs: WINDOW,
        pageSize: 1000,
        onProgress: (done, total) => (lastProgress = [done, total]),
      });
      expect(d.numRows).toBe(6001);
      expect(lastProgress).toEqual([6001, 6001]);
      expect(d.meta.clicks).toBe(cleanClicks); // not the late click, not the orphan
      expect(d.meta.missingCatalog).toBe(0);
      expect(d.meta.firstImpressionMs).toBe(T0);
      // With a window of 3 h, the late click counts.
      const wide = await readLedgerTrainingData(db.driver, {
        ...day(0),
        attributionWindowMs: 3 * WINDOW,
      });
      expect(wide.meta.clicks).toBe(cleanClicks + 1);
    },
    SLOW,
  );

  it(
    'builds the same feature vector the decision path scores',
    async () => {
      const d = await readLedgerTrainingData(db.driver, { ...day(0), attributionWindowMs: WINDOW });
      const [row] = await db.driver.query<{ campaign_id: string }>(
        `SELECT campaign_id FROM ledger_events WHERE kind = 'impression' ORDER BY seq LIMIT 1`,
      );
      const camp = CAMPAIGNS.find((c) => c.id === row!.campaign_id)!;
      // A fake model that records the rows the predict stage hands to it.
      let seen = new Float64Array(0);
      const holder = {
        model: {
          source: 'adstack' as const,
          numFeatures: CTR_SCHEMA.size,
          scorer: {
            kind: 'gbdt' as const,
            numFeatures: CTR_SCHEMA.size,
            predictBatch(rows: Float64Array, n: number, out: Float64Array) {
              seen = rows.slice(0, n * CTR_SCHEMA.size);
              out.fill(0.01, 0, n);
            },
          },
        },
      };
      const stage = new PredictionStage({ ctr: 0.01, cvr: 0.05 }, holder);
      stage.predict(
        { placement_id: 'plc-1' },
        [
          {
            campaign: {
              id: camp.id,
              advertiser_id: camp.adv,
              pricing_model: camp.pricing,
              bid_micros: camp.bid,
            } as Campaign,
            creative: { format: camp.format } as Creative,
          },
        ],
        T0 + 12 * 3_600_000,
      );
      const ledgerRow = Array.from(d.features.subarray(0, CTR_SCHEMA.size));
      // The ledger stores float32; NaN (missing) must match NaN.
      expect(ledgerRow.map(String)).toEqual(Array.from(Float32Array.from(seen)).map(String));
      expect(ledgerRow.some((x) => !Number.isNaN(x))).toBe(true);
    },
    SLOW,
  );

  it(
    'trains, passes the quarantine, and the signed model is served',
    async () => {
      const res = await trainFromLedger(db.driver, { ...base, ...day(0), current: null });
      expect(res.verdict.reasons).toEqual([]);
      expect(res.verdict.accepted).toBe(true);
      expect(res.holdout!.auc).toBeGreaterThan(0.65);
      expect(res.file!.manifest).toMatchObject({
        target: 'ctr',
        featureSchema: { hash: CTR_SCHEMA.hash },
        trainingData: { source: 'ledger', impressions: 6001, clicks: cleanClicks },
      });
      const text = JSON.stringify(res.file);
      accepted = loadModelText(text);
      const file = path.join(dir, 'ctr.json');
      await writeFile(file, text);
      await signModelFile(file, keys.privateKeyPem);
      const serving = new ServingModel({ path: file, publicKeyPem: keys.publicKeyPem });
      expect(await serving.reload()).toMatchObject({
        ok: true,
        model: { kind: 'gbdt', version: 'ledger-test' },
      });
    },
    SLOW,
  );

  it(
    'refuses too few rows and an implausible click rate, without training',
    async () => {
      const few = await trainFromLedger(db.driver, {
        ...base,
        ...day(0),
        current: null,
        thresholds: { minRows: 100_000 },
      });
      expect(few.verdict.accepted).toBe(false);
      expect(few.trained).toBe(false);
      expect(few.file).toBeNull();
      expect(few.verdict.reasons).toEqual([
        expect.stringMatching(/^min_rows: 4081 training rows \(minimum 100000\)/),
      ]);
      const rate = await trainFromLedger(db.driver, {
        ...base,
        ...day(0),
        current: null,
        thresholds: { maxLabelRate: 0.001 },
      });
      expect(rate.verdict.reasons).toEqual([expect.stringMatching(/^label_rate: /)]);
    },
    SLOW,
  );

  it(
    'refuses rows whose catalog join failed (a required feature missing everywhere)',
    async () => {
      const res = await trainFromLedger(db.driver, {
        ...base,
        ...day(1),
        current: null,
        thresholds: { minRows: 100 },
      });
      expect(res.data.missingCatalog).toBe(1500);
      expect(res.verdict.accepted).toBe(false);
      expect(res.verdict.reasons).toEqual([
        expect.stringMatching(/^feature_all_missing: .*ad\.creative_type=banner/),
      ]);
    },
    SLOW,
  );

  it(
    'refuses a model that ranks the holdout worse than the current one',
    async () => {
      expect(accepted).not.toBeNull();
      const res = await trainFromLedger(db.driver, {
        ...base,
        ...day(2),
        current: accepted,
        holdoutFraction: 0.3,
      });
      expect(res.trained).toBe(true);
      expect(res.currentHoldout!.auc).toBeGreaterThan(res.holdout!.auc + 0.01);
      expect(res.verdict.accepted).toBe(false);
      // Every failed check is named: trained on flat 3 % labels, it is also miscalibrated for the
      // recent traffic.
      expect(res.verdict.reasons).toEqual([
        expect.stringMatching(/^holdout_auc: AUC .* vs current model/),
        expect.stringMatching(/^calibration: /),
      ]);
      // The same data with no current model to beat: accepted on that check.
      const alone = await trainFromLedger(db.driver, {
        ...base,
        ...day(2),
        current: null,
        holdoutFraction: 0.3,
      });
      expect(alone.verdict.checks.find((c) => c.check === 'holdout_auc')).toMatchObject({
        passed: true,
      });
    },
    SLOW,
  );

  it(
    'refuses a model whose calibration error exceeds the bound',
    async () => {
      const res = await trainFromLedger(db.driver, {
        ...base,
        ...day(0),
        current: null,
        thresholds: { maxEce: 1e-9 },
      });
      expect(res.verdict.accepted).toBe(false);
      expect(res.verdict.reasons).toEqual([
        expect.stringMatching(/^calibration: expected calibration error/),
      ]);
    },
    SLOW,
  );
});
