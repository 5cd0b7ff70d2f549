/**
 * `adstack train-from-ledger` without the command line: read impressions and clicks from the
 * ledger (rows.ts), train a CTR GBDT and run the quarantine checks (guarded-train.ts). Writing
 * and signing the accepted file is the caller's (src/cli/ml.ts), so tests can run all of this on
 * PGlite without touching files.
 */
import { CTR_SCHEMA } from '../../core/features/schema.js';
import type { GbdtParams, IterationInfo } from '../gbdt/train.js';
import type { LoadedModel } from '../model-file.js';
import { guardedTrain, type GuardedTrainResult } from './guarded-train.js';
import { DEFAULT_CTR_THRESHOLDS, type QuarantineThresholds } from './quarantine.js';
import {
  LEDGER_FEATURES,
  readLedgerTrainingData,
  type LedgerTrainingData,
  type SqlQuery,
} from './rows.js';

/**
 * Ledger features that must have a value in some row. `ad.bid_cpm` is not among them: only CPM
 * campaigns have one, so a ledger of CPC campaigns legitimately has none.
 */
export const LEDGER_REQUIRED_FEATURES: readonly string[] = LEDGER_FEATURES.filter(
  (f) => f !== 'ad.bid_cpm',
);

export interface TrainFromLedgerOptions {
  attributionWindowMs: number;
  /** Train only on impressions whose decision input was logged (rows.ts). */
  loggedInputsOnly?: boolean;
  fromMs?: number;
  toMs?: number;
  holdoutFraction?: number;
  validFraction?: number;
  gbdt?: Partial<GbdtParams>;
  calibrate?: 'none' | 'platt' | 'isotonic';
  thresholds?: Partial<QuarantineThresholds>;
  current: LoadedModel | null;
  version: string;
  /** ISO time for the manifest (passed in: the caller owns the clock). */
  createdAt: string;
  onReadProgress?: (done: number, total: number) => void;
  onIteration?: (info: IterationInfo) => void;
}

export interface TrainFromLedgerResult extends GuardedTrainResult {
  data: LedgerTrainingData['meta'];
}

export async function trainFromLedger(
  db: SqlQuery,
  o: TrainFromLedgerOptions,
): Promise<TrainFromLedgerResult> {
  const data = await readLedgerTrainingData(db, {
    fromMs: o.fromMs,
    toMs: o.toMs,
    attributionWindowMs: o.attributionWindowMs,
    loggedInputsOnly: o.loggedInputsOnly,
    onProgress: o.onReadProgress,
  });
  const iso = (ms: number | null): string | null =>
    ms === null ? null : new Date(ms).toISOString();
  const res = await guardedTrain({
    data,
    schemaHash: data.schemaHash,
    holdoutFraction: o.holdoutFraction ?? 0.2,
    validFraction: o.validFraction ?? 0.15,
    gbdt: o.gbdt ?? {},
    calibrate: o.calibrate ?? 'none',
    thresholds: {
      ...DEFAULT_CTR_THRESHOLDS,
      requiredFeatures: LEDGER_REQUIRED_FEATURES,
      ...o.thresholds,
    },
    current: o.current,
    manifest: {
      version: o.version,
      createdAt: o.createdAt,
      target: 'ctr',
      featureSchema: { name: CTR_SCHEMA.name, version: CTR_SCHEMA.version, hash: CTR_SCHEMA.hash },
      featureNames: data.featureNames,
      trainingData: {
        source: 'ledger',
        impressions: data.meta.impressions,
        clicks: data.meta.clicks,
        attributionWindowMs: data.meta.attributionWindowMs,
        from: iso(data.meta.firstImpressionMs),
        to: iso(data.meta.lastImpressionMs),
        missingCatalog: data.meta.missingCatalog,
        loggedInputs: data.meta.loggedInputs,
        skippedUnlogged: data.meta.skippedUnlogged,
        featuresWithoutValues: data.meta.notInLedger.length,
      },
    },
    onIteration: o.onIteration,
  });
  return { ...res, data: data.meta };
}
