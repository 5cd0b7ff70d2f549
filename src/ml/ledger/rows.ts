/**
 * Training rows from the event ledger (`adstack train-from-ledger`, issue 5 "train … from the
 * event ledger (impressions joined to clicks by impression id within an attribution window)").
 *
 * Features, two sources:
 * - The decision feature log (migration 006, `decision_features`; src/ports/decision-features.ts):
 *   the decision path logs the winner's `CtrInput` — the very object its predict stage
 *   vectorized (`candidateInput`, src/exchange/prediction.ts) — by decision id. An impression
 *   whose decision was logged becomes `vectorize(logged input)`: the served row, with every
 *   feature the request carried (geo, device, OS, interests …) and the bid as it was then.
 * - Otherwise (decisions before the log existed, records the bounded log dropped): what the
 *   ledger itself holds (migration 002: decision id, advertiser, campaign, creative, placement,
 *   spend, time) joined through today's catalog (pricing model, bid, creative format), through
 *   the same `servingInput` with a request that carries only the placement id. Such a row has
 *   the ad-side features only (`LEDGER_FEATURES`); the rest are missing (NaN).
 * `meta.loggedInputs` counts the rows of the first kind; `meta.notInLedger` lists the features
 * that have no value in any row read.
 *
 * Label: the impression `impression:<d>` is clicked iff the ledger has `click:<d>` for the same
 * decision id with occurred_at in [impression time, impression time + window]. The click is
 * found through the unique index on event_key (the event ids src/exchange/events.ts writes), and
 * its decision id and kind are checked too. The catalog join uses today's campaign row: a bid
 * changed since the impression is seen at its new value (the ledger does not log the bid).
 *
 * Rows are read in pages by `seq` (keyset pagination) — the order the ledger recorded them,
 * which follows occurred_at up to the event pipeline's delay — so the caller can hold out the
 * most recent rows.
 */
import type { CreativeFormat } from '../../core/domain/entities.js';
import type { CtrInput } from '../../core/features/input.js';
import { servingInput } from '../../core/features/from-request.js';
import { decodeCtrInput, LoggedInputError } from '../../core/features/logged.js';
import { CTR_SCHEMA, vectorize } from '../../core/features/schema.js';
import type { TrainingData } from '../gbdt/train.js';

/** The one method of the SQL driver this module needs (src/adapters/postgres/driver.ts). */
export interface SqlQuery {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
}

export interface LedgerRowsOptions {
  /** Impressions with occurred_at in [fromMs, toMs); defaults: everything. */
  fromMs?: number;
  toMs?: number;
  /** A click counts if it happened within this many ms after the impression. */
  attributionWindowMs: number;
  /**
   * Skip impressions whose decision input was not logged (counted in `meta.skippedUnlogged`).
   * Their ledger-only rows have the request's features missing by construction, which serving
   * never shows the model when the request carries them: mixing both kinds is a skew of its own.
   */
  loggedInputsOnly?: boolean;
  pageSize?: number;
  /** Called with (rows read, total impressions in range) after each page. */
  onProgress?: (done: number, total: number) => void;
}

export interface LedgerTrainingData extends TrainingData {
  /** occurred_at of each row, ms since the epoch (rows are in ledger `seq` order). */
  timesMs: Float64Array;
  featureNames: readonly string[];
  schemaHash: string;
  meta: {
    source: 'ledger';
    impressions: number;
    clicks: number;
    attributionWindowMs: number;
    firstImpressionMs: number | null;
    lastImpressionMs: number | null;
    /** Impressions whose campaign or creative is no longer in the catalog (ledger-only rows). */
    missingCatalog: number;
    /** Rows built from the decision's logged feature input (the rest: ledger + catalog only). */
    loggedInputs: number;
    /** Logged inputs that could not be read (those rows fell back to ledger + catalog). */
    unreadableInputs: number;
    /** Impressions left out by `loggedInputsOnly` (no readable logged input). */
    skippedUnlogged: number;
    /** Features with no value in any row read (always missing for the model). */
    notInLedger: readonly string[];
  };
}

/** Features a row without a logged decision input can carry (ledger + catalog). */
export const LEDGER_FEATURES: readonly string[] = CTR_SCHEMA.features
  .map((f) => f.name)
  .filter(
    (n) =>
      n === 'ad.advertiser' ||
      n === 'ad.campaign' ||
      n === 'ad.bid_cpm' ||
      n.startsWith('ad.creative_type='),
  );

interface Row {
  seq: string | number;
  decision_id: string;
  advertiser_id: string;
  campaign_id: string;
  placement_id: string;
  occurred_ms: number;
  pricing_model: string | null;
  bid_micros: number | null;
  format: string | null;
  clicked: boolean;
  /** The decision's logged `CtrInput` (JSON), when the decision feature log has it. */
  input: string | null;
}

const PAGE_SQL = `
SELECT i.seq, i.decision_id, i.advertiser_id, i.campaign_id, i.placement_id,
       (extract(epoch FROM i.occurred_at) * 1000)::float8 AS occurred_ms,
       c.pricing_model, c.bid_micros::float8 AS bid_micros, cr.format,
       (k.seq IS NOT NULL) AS clicked, f.input
  FROM ledger_events i
  LEFT JOIN ledger_events k
    ON k.event_key = 'click:' || i.decision_id
   AND k.kind = 'click'
   AND k.decision_id = i.decision_id
   AND k.occurred_at >= i.occurred_at
   AND k.occurred_at <= i.occurred_at + ($4::float8 * interval '1 millisecond')
  LEFT JOIN campaigns c ON c.id = i.campaign_id
  LEFT JOIN creatives cr ON cr.id = i.creative_id
  LEFT JOIN decision_features f ON f.decision_id = i.decision_id
 WHERE i.kind = 'impression'
   AND i.occurred_at >= to_timestamp($1::float8 / 1000)
   AND i.occurred_at < to_timestamp($2::float8 / 1000)
   AND i.seq > $3
 ORDER BY i.seq
 LIMIT $5`;

const COUNT_SQL = `
SELECT count(*)::float8 AS n FROM ledger_events
 WHERE kind = 'impression'
   AND occurred_at >= to_timestamp($1::float8 / 1000)
   AND occurred_at < to_timestamp($2::float8 / 1000)`;

/** Far enough to cover any ledger, near enough for to_timestamp. */
const MIN_MS = 0;
const MAX_MS = 253_402_300_799_000; // 9999-12-31T23:59:59Z

export async function readLedgerTrainingData(
  db: SqlQuery,
  opts: LedgerRowsOptions,
): Promise<LedgerTrainingData> {
  if (!(opts.attributionWindowMs >= 0)) throw new RangeError('attributionWindowMs must be >= 0');
  const fromMs = opts.fromMs ?? MIN_MS;
  const toMs = opts.toMs ?? MAX_MS;
  const pageSize = opts.pageSize ?? 5000;
  const [countRow] = await db.query<{ n: number }>(COUNT_SQL, [fromMs, toMs]);
  const total = Number(countRow?.n ?? 0);
  const nf = CTR_SCHEMA.size;
  let features = new Float32Array(Math.max(1, total) * nf);
  let labels = new Uint8Array(Math.max(1, total));
  let times = new Float64Array(Math.max(1, total));
  const vec = new Float64Array(nf);
  let n = 0;
  let clicks = 0;
  let missingCatalog = 0;
  let loggedInputs = 0;
  let unreadableInputs = 0;
  let skippedUnlogged = 0;
  const present = new Uint8Array(nf);
  let lastSeq: string | number = 0;
  for (;;) {
    const page: Row[] = await db.query<Row>(PAGE_SQL, [
      fromMs,
      toMs,
      lastSeq,
      opts.attributionWindowMs,
      pageSize,
    ]);
    if (page.length === 0) break;
    // Rows written after the count arrive too: grow rather than drop them.
    if (n + page.length > labels.length) {
      const cap = Math.max(2 * labels.length, n + page.length);
      const f = new Float32Array(cap * nf);
      f.set(features);
      features = f;
      const l = new Uint8Array(cap);
      l.set(labels);
      labels = l;
      const t = new Float64Array(cap);
      t.set(times);
      times = t;
    }
    for (const r of page) {
      let logged: CtrInput | null = null;
      if (r.input !== null) {
        try {
          logged = decodeCtrInput(r.input);
        } catch (e) {
          if (!(e instanceof LoggedInputError)) throw e;
          unreadableInputs++;
        }
      }
      if (logged !== null) {
        loggedInputs++;
        vectorize(logged, vec);
      } else if (opts.loggedInputsOnly === true) {
        skippedUnlogged++;
        continue;
      } else {
        vectorize(ledgerOnlyInput(r), vec);
        if (r.pricing_model === null || r.format === null) missingCatalog++;
      }
      for (let j = 0; j < nf; j++) if (vec[j] === vec[j]) present[j] = 1;
      features.set(vec, n * nf);
      labels[n] = r.clicked ? 1 : 0;
      clicks += labels[n]!;
      times[n] = r.occurred_ms;
      n++;
    }
    lastSeq = page[page.length - 1]!.seq;
    opts.onProgress?.(n, Math.max(total, n));
    if (page.length < pageSize) break;
  }
  const featureNames = CTR_SCHEMA.features.map((f) => f.name);
  return {
    numRows: n,
    numFeatures: nf,
    features: features.subarray(0, n * nf),
    labels: labels.subarray(0, n),
    timesMs: times.subarray(0, n),
    featureNames,
    schemaHash: CTR_SCHEMA.hash,
    meta: {
      source: 'ledger',
      impressions: n,
      clicks,
      attributionWindowMs: opts.attributionWindowMs,
      firstImpressionMs: n > 0 ? minOf(times.subarray(0, n)) : null,
      lastImpressionMs: n > 0 ? -minOf(times.subarray(0, n).map((t) => -t)) : null,
      missingCatalog,
      loggedInputs,
      unreadableInputs,
      skippedUnlogged,
      notInLedger: featureNames.filter((_, j) => present[j] === 0),
    },
  };
}

/** The input of an impression whose decision input was not logged: ledger + today's catalog. */
function ledgerOnlyInput(r: Row): CtrInput {
  const input = servingInput({
    request: { placement_id: r.placement_id },
    campaign: {
      id: r.campaign_id,
      advertiser_id: r.advertiser_id,
      // An unknown pricing model leaves bid_cpm missing, as a CPC/CPA bid does.
      pricing_model: r.pricing_model === 'cpm' ? 'cpm' : 'cpc',
      bid_micros: r.bid_micros ?? 0,
    },
    // A creative gone from the catalog: its type is cleared below.
    creative: { format: (r.format ?? 'banner') as CreativeFormat },
    nowMs: r.occurred_ms,
  });
  if (r.format === null) input.ad.creativeType = undefined;
  return input;
}

function minOf(xs: Float64Array): number {
  let m = Infinity;
  for (const x of xs) if (x < m) m = x;
  return m;
}
