/**
 * CTR-model commands of the `adstack` CLI (issue 5): gen-ctr-data, train, train-from-ledger,
 * eval, predict, model-keygen, model-verify.
 *
 * `train-from-ledger` exits 0 when the model was accepted (written and signed), 4 when the
 * quarantine refused it (nothing written; the reasons on stderr and in the JSON on stdout). It
 * opens the database through `openStorage`, which also applies pending migrations, as `migrate`
 * does. The current model (`--current`, default the existing `--out`) is read without checking
 * its signature: it only sets the bar the new model must reach, and a tampered one could lower
 * that bar — keep it where only the training job writes.
 *
 * `predict` is a contract other tools script against: one JSON array of feature values per
 * stdin line (`null` = missing, features in the model's order), one probability per stdout line,
 * in input order. Errors go to stderr with the line number, and the exit status is 2 for bad
 * input, 1 for other failures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/config.js';
import { CTR_SCHEMA } from '../core/features/schema.js';
import { fmScorer, gbdtScorer, linearScorer } from '../core/scoring/scorer.js';
import type { Calibrator } from '../core/scoring/calibration.js';
import { DEFAULT_FM_PARAMS, trainFm } from '../ml/baselines/fm.js';
import { trainFtrl } from '../ml/baselines/ftrl.js';
import { fitIsotonic, fitPlatt } from '../ml/calibration.js';
import { readDataset, sliceDataset, writeDataset } from '../ml/data/dataset-file.js';
import { generateCvrData } from '../ml/data/synthetic-cvr.js';
import { generateCtrData, type CtrDataset } from '../ml/data/synthetic.js';
import { DEFAULT_GBDT_PARAMS, trainGbdt, type GbdtParams } from '../ml/gbdt/train.js';
import { calibrationTable, evaluate, type Metrics } from '../ml/metrics.js';
import {
  fmModelFile,
  gbdtModelFile,
  linearModelFile,
  loadModelText,
  type ModelManifest,
  type ModelTarget,
} from '../ml/model-file.js';
import { DEFAULT_CTR_THRESHOLDS } from '../ml/ledger/quarantine.js';
import { trainFromLedger } from '../ml/ledger/train-from-ledger.js';
import { PredictInputError, predictLines } from '../ml/predict-stream.js';
import {
  generateSigningKeys,
  ModelRejectedError,
  signModelFile,
  trustedKeys,
  verifyBytes,
} from '../ml/registry.js';
import { openStorage } from '../wiring/runtime.js';

const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};
const err = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

class UsageError extends Error {}

function int(name: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

function real(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
    return n;
  };
}

async function guarded(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (e) {
    err(`adstack: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
}

/** Scores a float32 data set in chunks (the evaluator takes float64 rows). */
function scoreDataset(
  scorer: { predictBatch(rows: Float64Array, n: number, out: Float64Array): void },
  ds: CtrDataset,
): Float64Array {
  const p = new Float64Array(ds.numRows);
  const chunk = 4096;
  const rows = new Float64Array(chunk * ds.numFeatures);
  const buf = new Float64Array(chunk);
  for (let r0 = 0; r0 < ds.numRows; r0 += chunk) {
    const n = Math.min(chunk, ds.numRows - r0);
    rows.set(ds.features.subarray(r0 * ds.numFeatures, (r0 + n) * ds.numFeatures));
    scorer.predictBatch(rows, n, buf);
    p.set(buf.subarray(0, n), r0);
  }
  return p;
}

function hasTruth(ds: CtrDataset): boolean {
  return ds.numRows > 0 && Number.isFinite(ds.pTrue[0]);
}

function printMetrics(label: string, m: Metrics, bayesAuc?: number): void {
  const f = (x: number, d = 4): string => x.toFixed(d);
  err(
    `${label}: rows ${m.rows}, AUC ${f(m.auc)}${bayesAuc === undefined ? '' : ` (Bayes-optimal ${f(bayesAuc)})`}, ` +
      `log loss ${f(m.logLoss, 5)}, ECE ${f(m.ece, 5)}, mean p ${f(m.meanPredicted, 5)} vs observed ${f(m.observedRate, 5)}`,
  );
}

function genCtrData(opts: { rows: number; seed: number; out: string; target: string }): void {
  if (opts.target !== 'ctr' && opts.target !== 'cvr')
    throw new UsageError('--target must be ctr or cvr');
  const bar = new cliProgress.SingleBar(
    { format: 'generating [{bar}] {value}/{total} rows', stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(opts.rows, 0);
  const gen = opts.target === 'cvr' ? generateCvrData : generateCtrData;
  const ds = gen({ rows: opts.rows, seed: opts.seed, onProgress: (n) => bar.update(n) });
  bar.update(opts.rows);
  bar.stop();
  writeDataset(opts.out, ds);
  const truth = evaluate(ds.pTrue, ds.labels);
  out(
    JSON.stringify({
      file: opts.out,
      rows: ds.numRows,
      features: ds.numFeatures,
      schemaHash: ds.schemaHash,
      target: opts.target,
      ...(opts.target === 'cvr' ? { impressions: ds.meta.impressions } : {}),
      // For --target cvr: the conversion rate among clicks and the true CVR.
      ctr: truth.observedRate,
      meanTrueP: truth.meanPredicted,
      bayesOptimalAuc: truth.auc,
    }),
  );
}

interface TrainOpts {
  data: string;
  out: string;
  model: 'gbdt' | 'ftrl' | 'fm';
  validFraction: number;
  trees: number;
  learningRate: number;
  numLeaves: number;
  maxDepth: number;
  minDataInLeaf: number;
  lambda: number;
  minGain: number;
  featureFraction: number;
  baggingFraction: number;
  scalePosWeight: number;
  earlyStopping: number;
  threads: number;
  seed: number;
  calibrate: 'none' | 'platt' | 'isotonic';
  version?: string;
  signKey?: string;
}

async function train(o: TrainOpts): Promise<void> {
  const ds = readDataset(o.data);
  if (ds.schemaHash !== CTR_SCHEMA.hash)
    err(
      `warning: ${o.data} was made with feature schema ${ds.schemaHash}, this build has ${CTR_SCHEMA.hash}`,
    );
  if (!(o.validFraction > 0 && o.validFraction < 1))
    throw new UsageError('--valid-fraction must be in (0, 1)');
  const nTrain = Math.floor(ds.numRows * (1 - o.validFraction));
  const tr = sliceDataset(ds, 0, nTrain);
  const va = sliceDataset(ds, nTrain, ds.numRows);
  err(
    `training ${o.model} on rows [0, ${nTrain}), validating on [${nTrain}, ${ds.numRows}) of ${o.data}`,
  );
  const started = performance.now();
  let file;
  let params: Record<string, unknown>;
  let pValid: Float64Array;
  let extra: Record<string, unknown> = {};
  if (o.model === 'gbdt') {
    const p: Partial<GbdtParams> = {
      numTrees: o.trees,
      learningRate: o.learningRate,
      numLeaves: o.numLeaves,
      maxDepth: o.maxDepth,
      minDataInLeaf: o.minDataInLeaf,
      lambdaL2: o.lambda,
      minGainToSplit: o.minGain,
      featureFraction: o.featureFraction,
      baggingFraction: o.baggingFraction,
      scalePosWeight: o.scalePosWeight,
      earlyStoppingRounds: o.earlyStopping,
      threads: o.threads,
      seed: o.seed,
    };
    const bar = new cliProgress.SingleBar(
      {
        format:
          'boosting [{bar}] {value}/{total} trees | valid log loss {loss} | {duration_formatted}',
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(o.trees, 0, { loss: '-' });
    const res = await trainGbdt({ ...tr, featureNames: ds.featureNames }, p, {
      valid: va,
      onIteration: (i) => bar.update(i.iteration, { loss: i.validLogLoss?.toFixed(5) ?? '-' }),
    });
    bar.stop();
    params = { ...DEFAULT_GBDT_PARAMS, ...p };
    pValid = scoreDataset(gbdtScorer(res.model), va);
    const importance = Array.from(res.gainImportance, (g, f) => ({
      feature: ds.featureNames[f] ?? `f${f}`,
      gain: g,
    }))
      .sort((a, b) => b.gain - a.gain)
      .slice(0, 10);
    extra = {
      bestIteration: res.bestIteration,
      trees: res.model.trees.length,
      timings: res.timings,
      topFeaturesByGain: importance,
    };
    file = (manifest: ModelManifest, c?: Calibrator) => gbdtModelFile(res.model, manifest, c);
  } else if (o.model === 'fm') {
    params = { ...DEFAULT_FM_PARAMS, seed: o.seed };
    const model = trainFm(tr, { seed: o.seed });
    pValid = scoreDataset(fmScorer(model), va);
    file = (manifest: ModelManifest, c?: Calibrator) => fmModelFile(model, manifest, c);
  } else {
    params = { seed: o.seed };
    const model = trainFtrl(tr, { seed: o.seed });
    pValid = scoreDataset(linearScorer(model), va);
    file = (manifest: ModelManifest, c?: Calibrator) => linearModelFile(model, manifest, c);
  }
  // Calibration is fitted on the validation rows; the metrics below are then in-sample for the
  // calibrator — use `adstack eval` on held-out rows for an unbiased figure.
  const calibrator: Calibrator | undefined =
    o.calibrate === 'platt'
      ? fitPlatt(pValid, va.labels)
      : o.calibrate === 'isotonic'
        ? fitIsotonic(pValid, va.labels)
        : undefined;
  const metrics = evaluate(pValid, va.labels);
  // A CVR data set (gen-ctr-data --target cvr) makes a CVR model: same trainer, another target.
  const target: ModelTarget = ds.meta.target === 'cvr' ? 'cvr' : 'ctr';
  const manifest: ModelManifest = {
    version: o.version ?? `${target}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`,
    target,
    createdAt: new Date().toISOString(),
    featureSchema: { name: CTR_SCHEMA.name, version: CTR_SCHEMA.version, hash: ds.schemaHash },
    featureNames: ds.featureNames,
    metrics: { validation: metrics, ...extra },
    trainingData: {
      file: o.data,
      rows: [0, nTrain],
      validationRows: [nTrain, ds.numRows],
      meta: ds.meta,
    },
    params,
  };
  writeFileSync(o.out, JSON.stringify(file(manifest, calibrator)));
  if (o.signKey !== undefined) {
    const sig = await signModelFile(o.out, readFileSync(o.signKey, 'utf8'));
    err(`signed ${o.out} with key ${sig.keyId} → ${o.out}.sig`);
  }
  printMetrics('validation', metrics, hasTruth(va) ? evaluate(va.pTrue, va.labels).auc : undefined);
  out(
    JSON.stringify({
      model: o.out,
      kind: o.model,
      target,
      seconds: (performance.now() - started) / 1000,
      validation: metrics,
      ...extra,
    }),
  );
}

interface LedgerTrainOpts {
  out: string;
  signKey: string;
  current?: string;
  since?: string;
  until?: string;
  attributionWindow: number;
  loggedInputsOnly?: boolean;
  holdoutFraction: number;
  validFraction: number;
  trees: number;
  learningRate: number;
  numLeaves: number;
  maxDepth: number;
  minDataInLeaf: number;
  threads: number;
  seed: number;
  calibrate: 'none' | 'platt' | 'isotonic';
  minRows: number;
  minLabelRate: number;
  maxLabelRate: number;
  aucMargin: number;
  maxEce: number;
  version?: string;
}

/** Exit status of a model refused by the quarantine checks. */
const EXIT_REFUSED = 4;

function timeArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new UsageError(`--${name} must be an ISO 8601 time, got "${v}"`);
  return ms;
}

async function trainFromLedgerCommand(o: LedgerTrainOpts): Promise<void> {
  let cfg;
  try {
    cfg = loadConfig(process.env, { requireSecrets: false });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`invalid configuration: ${e.message}`);
    throw e;
  }
  const signKey = readFileSync(o.signKey, 'utf8');
  // The model to beat: --current, else the file about to be replaced (if any).
  const currentPath = o.current ?? (existsSync(o.out) ? o.out : undefined);
  const current =
    currentPath === undefined ? null : loadModelText(readFileSync(currentPath, 'utf8'));
  const storage = await openStorage(cfg, err);
  try {
    err(`reading impressions and clicks from ${storage.describe}`);
    const readBar = new cliProgress.SingleBar(
      { format: 'ledger [{bar}] {value}/{total} impressions', stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    const treeBar = new cliProgress.SingleBar(
      {
        format:
          'boosting [{bar}] {value}/{total} trees | valid log loss {loss} | {duration_formatted}',
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    let readStarted = false;
    let treesStarted = false;
    const now = new Date();
    const res = await trainFromLedger(storage.driver, {
      attributionWindowMs: o.attributionWindow * 1000,
      loggedInputsOnly: o.loggedInputsOnly === true,
      fromMs: timeArg('since', o.since),
      toMs: timeArg('until', o.until),
      holdoutFraction: o.holdoutFraction,
      validFraction: o.validFraction,
      gbdt: {
        numTrees: o.trees,
        learningRate: o.learningRate,
        numLeaves: o.numLeaves,
        maxDepth: o.maxDepth,
        minDataInLeaf: o.minDataInLeaf,
        threads: o.threads,
        seed: o.seed,
      },
      calibrate: o.calibrate,
      thresholds: {
        minRows: o.minRows,
        minLabelRate: o.minLabelRate,
        maxLabelRate: o.maxLabelRate,
        aucMargin: o.aucMargin,
        maxEce: o.maxEce,
      },
      current,
      version: o.version ?? `ctr-ledger-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}`,
      createdAt: now.toISOString(),
      onReadProgress: (done, total) => {
        if (!readStarted) readBar.start(total, 0);
        readStarted = true;
        readBar.setTotal(total);
        readBar.update(done);
      },
      onIteration: (i) => {
        if (readStarted) readBar.stop();
        readStarted = false;
        if (!treesStarted) treeBar.start(o.trees, 0, { loss: '-' });
        treesStarted = true;
        treeBar.update(i.iteration, { loss: i.validLogLoss?.toFixed(5) ?? '-' });
      },
    });
    if (readStarted) readBar.stop();
    if (treesStarted) treeBar.stop();
    err(
      `ledger: ${res.data.impressions} impressions, ${res.data.clicks} clicks within ${o.attributionWindow} s; ` +
        `${res.data.loggedInputs} rows from logged decision inputs` +
        (res.data.skippedUnlogged > 0
          ? ` (${res.data.skippedUnlogged} impressions without one left out)`
          : res.data.loggedInputs > 0 && res.data.loggedInputs < res.data.impressions
            ? ' (the rest from the ledger alone: consider --logged-inputs-only)'
            : '') +
        '; ' +
        `${res.data.notInLedger.length} of ${CTR_SCHEMA.size} features have no value in any row` +
        (res.data.missingCatalog > 0
          ? `; ${res.data.missingCatalog} impressions have no catalog row`
          : ''),
    );
    for (const c of res.verdict.checks)
      err(`  ${c.passed ? 'pass' : 'FAIL'} ${c.check}: ${c.detail}`);
    if (res.holdout !== null) printMetrics('holdout', res.holdout);
    const summary = {
      accepted: res.verdict.accepted,
      reasons: res.verdict.reasons,
      split: res.split,
      data: { ...res.data, notInLedger: res.data.notInLedger.length },
      holdout: res.holdout,
      currentModel: currentPath ?? null,
      currentHoldout: res.currentHoldout,
    };
    if (!res.verdict.accepted || res.file === null) {
      err(`refused: ${res.verdict.reasons.join('; ')} — ${o.out} left unchanged`);
      out(JSON.stringify({ model: null, ...summary }));
      process.exitCode = EXIT_REFUSED;
      return;
    }
    writeFileSync(o.out, JSON.stringify(res.file));
    const sig = await signModelFile(o.out, signKey);
    err(`accepted: wrote ${o.out}, signed with key ${sig.keyId} → ${o.out}.sig`);
    out(JSON.stringify({ model: o.out, version: res.file.manifest.version, ...summary }));
  } finally {
    await storage.driver.close();
  }
}

function evalCommand(o: { model: string; data: string; from?: number; to?: number }): void {
  const loaded = loadModelText(readFileSync(o.model, 'utf8'));
  const all = readDataset(o.data);
  const ds = sliceDataset(all, o.from ?? 0, o.to ?? all.numRows);
  if (loaded.numFeatures !== ds.numFeatures)
    throw new UsageError(`model has ${loaded.numFeatures} features, data has ${ds.numFeatures}`);
  const p = scoreDataset(loaded.scorer, ds);
  const m = evaluate(p, ds.labels);
  const bayes = hasTruth(ds) ? evaluate(ds.pTrue, ds.labels).auc : undefined;
  printMetrics(`${o.model} (${loaded.source})`, m, bayes);
  const table = calibrationTable(p, ds.labels);
  err('decile  predicted-range        mean-predicted  observed  count');
  table.forEach((b, i) =>
    err(
      `${String(i + 1).padStart(6)}  ${b.lo.toFixed(5)}–${b.hi.toFixed(5)}  ${b.meanPredicted.toFixed(5).padStart(14)}  ${b.observedRate.toFixed(5).padStart(8)}  ${b.count}`,
    ),
  );
  out(JSON.stringify({ ...m, bayesOptimalAuc: bayes, calibration: table }));
}

async function predict(o: { model: string }): Promise<void> {
  const loaded = loadModelText(readFileSync(o.model, 'utf8'));
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  try {
    await predictLines(loaded.scorer, rl, (chunk) => process.stdout.write(chunk));
  } catch (e) {
    if (e instanceof PredictInputError) throw new UsageError(e.message);
    throw e;
  }
}

/** The GBDT shape options `train` and `train-from-ledger` share. */
function gbdtShapeOptions(cmd: Command): Command {
  return cmd
    .option('--trees <n>', 'number of trees', int('trees', 1), DEFAULT_GBDT_PARAMS.numTrees)
    .option(
      '--learning-rate <x>',
      'shrinkage',
      real('learning-rate'),
      DEFAULT_GBDT_PARAMS.learningRate,
    )
    .option(
      '--num-leaves <n>',
      'leaves per tree',
      int('num-leaves', 2),
      DEFAULT_GBDT_PARAMS.numLeaves,
    )
    .option(
      '--max-depth <n>',
      'maximum tree depth',
      int('max-depth', 1),
      DEFAULT_GBDT_PARAMS.maxDepth,
    )
    .option(
      '--min-data-in-leaf <n>',
      'minimum rows per leaf',
      int('min-data-in-leaf', 1),
      DEFAULT_GBDT_PARAMS.minDataInLeaf,
    );
}

/** Threads, seed and calibration, shared by `train` and `train-from-ledger`. */
function commonTrainOptions(cmd: Command): Command {
  return cmd
    .option('--threads <n>', 'threads for histogram building', int('threads', 1), 2)
    .option('--seed <n>', 'random seed', int('seed'), 1)
    .option(
      '--calibrate <kind>',
      'none | platt | isotonic (fitted on the validation rows)',
      'none',
    );
}

function checkCalibrate(kind: string): void {
  if (!['none', 'platt', 'isotonic'].includes(kind))
    throw new UsageError('--calibrate must be none, platt or isotonic');
}

export function registerMlCommands(program: Command): void {
  program
    .command('gen-ctr-data')
    .description(
      'Make a synthetic CTR data set (or, --target cvr, conversions among clicks) with known probabilities',
    )
    .requiredOption('--rows <n>', 'number of rows (clicked rows for --target cvr)', int('rows', 1))
    .option('--seed <n>', 'random seed', int('seed'), 1)
    .option('--out <file>', 'output file', 'ctr-data.ctr')
    .option('--target <t>', 'ctr (clicks per impression) | cvr (conversions per click)', 'ctr')
    .action((o: { rows: number; seed: number; out: string; target: string }) =>
      guarded(() => genCtrData(o)),
    );
  const trainCmd = program
    .command('train')
    .description(
      'Train a CTR model (GBDT, FTRL logistic regression or factorization machine) from a data set',
    )
    .requiredOption('--data <file>', 'data set from gen-ctr-data')
    .option('--out <file>', 'model file to write', 'ctr-model.json')
    .option('--model <kind>', 'gbdt | ftrl | fm', 'gbdt')
    .option(
      '--valid-fraction <x>',
      'last fraction of rows held out for validation',
      real('valid-fraction'),
      0.2,
    );
  gbdtShapeOptions(trainCmd)
    .option('--lambda <x>', 'L2 regularisation', real('lambda'), DEFAULT_GBDT_PARAMS.lambdaL2)
    .option(
      '--min-gain <x>',
      'minimum gain to split',
      real('min-gain'),
      DEFAULT_GBDT_PARAMS.minGainToSplit,
    )
    .option(
      '--feature-fraction <x>',
      'features sampled per tree',
      real('feature-fraction'),
      DEFAULT_GBDT_PARAMS.featureFraction,
    )
    .option(
      '--bagging-fraction <x>',
      'rows sampled per tree',
      real('bagging-fraction'),
      DEFAULT_GBDT_PARAMS.baggingFraction,
    )
    .option('--scale-pos-weight <x>', 'weight of positive rows', real('scale-pos-weight'), 1)
    .option(
      '--early-stopping <n>',
      'stop after n trees without validation improvement (0 = off)',
      int('early-stopping'),
      0,
    );
  commonTrainOptions(trainCmd)
    .option('--version <v>', 'model version for the manifest')
    .option('--sign-key <file>', 'Ed25519 private key (PEM): write <out>.sig beside the model')
    .action((o: TrainOpts) =>
      guarded(async () => {
        if (o.model !== 'gbdt' && o.model !== 'ftrl' && o.model !== 'fm')
          throw new UsageError('--model must be gbdt, ftrl or fm');
        checkCalibrate(o.calibrate);
        await train(o);
      }),
    );
  const ledgerCmd = program
    .command('train-from-ledger')
    .description(
      'Train a CTR GBDT from the event ledger (impressions joined to clicks), check it, write and sign it',
    )
    .requiredOption('--sign-key <file>', 'Ed25519 private key (PEM): writes <out>.sig')
    .option('--out <file>', 'model file to write (only if accepted)', 'ctr-model.json')
    .option('--current <file>', 'model to beat on the holdout (default: the existing --out file)')
    .option('--since <time>', 'first impression time (ISO 8601, inclusive)')
    .option('--until <time>', 'last impression time (ISO 8601, exclusive)')
    .option(
      '--attribution-window <s>',
      'a click counts if within this many seconds after the impression',
      int('attribution-window'),
      3600,
    )
    .option(
      '--logged-inputs-only',
      'train only on impressions whose decision feature input was logged (no ledger-only rows)',
    )
    .option(
      '--holdout-fraction <x>',
      'most recent rows held out for the checks',
      real('holdout-fraction'),
      0.2,
    )
    .option(
      '--valid-fraction <x>',
      'of the rest, rows for early stopping / calibration',
      real('valid-fraction'),
      0.15,
    );
  commonTrainOptions(gbdtShapeOptions(ledgerCmd))
    .option(
      '--min-rows <n>',
      'quarantine: minimum training rows',
      int('min-rows', 1),
      DEFAULT_CTR_THRESHOLDS.minRows,
    )
    .option(
      '--min-label-rate <x>',
      'quarantine: minimum click rate',
      real('min-label-rate'),
      DEFAULT_CTR_THRESHOLDS.minLabelRate,
    )
    .option(
      '--max-label-rate <x>',
      'quarantine: maximum click rate',
      real('max-label-rate'),
      DEFAULT_CTR_THRESHOLDS.maxLabelRate,
    )
    .option(
      '--auc-margin <x>',
      'quarantine: allowed holdout AUC loss against the current model',
      real('auc-margin'),
      DEFAULT_CTR_THRESHOLDS.aucMargin,
    )
    .option(
      '--max-ece <x>',
      'quarantine: calibration error bound (plus sampling noise)',
      real('max-ece'),
      DEFAULT_CTR_THRESHOLDS.maxEce,
    )
    .option('--version <v>', 'model version for the manifest')
    .action((o: LedgerTrainOpts) =>
      guarded(async () => {
        checkCalibrate(o.calibrate);
        for (const [k, v] of [
          ['holdout-fraction', o.holdoutFraction],
          ['valid-fraction', o.validFraction],
        ] as const)
          if (!(v > 0 && v < 1)) throw new UsageError(`--${k} must be in (0, 1)`);
        await trainFromLedgerCommand(o);
      }),
    );
  program
    .command('eval')
    .description(
      'Print AUC, log loss, calibration error and a decile table of a model on a data set',
    )
    .requiredOption('--model <file>', 'model file (adstack, XGBoost JSON or LightGBM text)')
    .requiredOption('--data <file>', 'data set from gen-ctr-data')
    .option('--from <row>', 'first row', int('from'))
    .option('--to <row>', 'end row (exclusive)', int('to'))
    .action((o: { model: string; data: string; from?: number; to?: number }) =>
      guarded(() => evalCommand(o)),
    );
  program
    .command('predict')
    .description(
      'Read JSON feature arrays on stdin (null = missing), print one probability per line',
    )
    .requiredOption(
      '--model <file>',
      'model file (format detected: adstack, XGBoost JSON, LightGBM text)',
    )
    .action((o: { model: string }) => guarded(() => predict(o)));
  program
    .command('model-keygen')
    .description('Make an Ed25519 key pair for signing models (<prefix>.key private, <prefix>.pub)')
    .requiredOption('--out <prefix>', 'path prefix of the two PEM files')
    .action((o: { out: string }) =>
      guarded(() => {
        const k = generateSigningKeys();
        writeFileSync(`${o.out}.key`, k.privateKeyPem, { mode: 0o600 });
        writeFileSync(`${o.out}.pub`, k.publicKeyPem);
        out(JSON.stringify({ privateKey: `${o.out}.key`, publicKey: `${o.out}.pub` }));
      }),
    );
  program
    .command('model-verify')
    .description(
      'Check a model file against <model>.sig and trusted public keys (exit 3 if refused)',
    )
    .requiredOption('--model <file>', 'model file')
    .requiredOption('--public-key <file...>', 'trusted Ed25519 public keys (PEM)')
    .action((o: { model: string; publicKey: string[] }) =>
      guarded(() => {
        const keys = trustedKeys(o.publicKey.map((f) => readFileSync(f, 'utf8')));
        let sig: string | undefined;
        try {
          sig = readFileSync(`${o.model}.sig`, 'utf8');
        } catch {
          sig = undefined;
        }
        try {
          verifyBytes(readFileSync(o.model), sig, keys);
        } catch (e) {
          if (!(e instanceof ModelRejectedError)) throw e;
          err(`refused (${e.reason}): ${e.message}`);
          process.exit(3);
        }
        out(JSON.stringify({ model: o.model, verified: true }));
      }),
    );
}
