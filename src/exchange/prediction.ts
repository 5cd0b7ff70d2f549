/**
 * The decision's `predict` stage (issue 5, serving part) and the model it scores with.
 *
 * - `PredictionStage.predict` turns every candidate of one request into a `CtrInput`
 *   (`fromDecision`, the same code path as training rows), vectorizes them row-major into one
 *   reused Float64Array and scores them all with a single `Scorer.predictBatch` call. The
 *   buffers grow to the largest request seen and are reused after that: decide() is
 *   synchronous, so two requests never share them at the same time.
 * - Only what the request carries, and the user's profile and 7-day engagement when the
 *   decision read them (src/exchange/user-features.ts: consenting users only), become
 *   features. There is no ad-facts feed or user × advertiser history yet, so those groups are
 *   missing (NaN), and so is the local hour: the request has no time zone, and the UTC hour is
 *   not the user's hour. The model sends missing values along each split's learned default
 *   direction.
 * - `candidateInput` builds each candidate's input; the decision logs its winner's through the
 *   decision feature log, which is what training from the ledger vectorizes (no skew).
 * - CVR: a second slot (ADSTACK_CVR_MODEL_PATH, `ServingModel` with target 'cvr') scores the
 *   CVR of the CPA candidates (a CPA bid's eCPM is bid × pCTR × pCVR); the same feature rows
 *   feed both models (CVR models are trained on the same feature schema). Only CPA candidates
 *   are scored by it (their rows are copied into a second buffer); the other candidates keep
 *   the CVR prior, which their eCPM does not use. No CVR model (none configured, or every load
 *   refused — a CTR-target file is refused as `schema_mismatch` by the CVR slot, and a CVR file
 *   by the CTR slot) → the CVR prior, with pCTR from the CTR model when there is one.
 * - No model loaded in either slot → the constant priors, exactly as before the models existed.
 * - The degradation ladder's "skip ML" step and the model breaker cover both models: one guarded
 *   call scores CTR and CVR, and when it is skipped, refused by the open breaker or throws, the
 *   whole request falls back to the priors (CTR and CVR), and the summary says why.
 *
 * `ServingModel` owns the `ModelSlot` (src/ml/registry.ts): it loads ADSTACK_MODEL_PATH (or
 * ADSTACK_CVR_MODEL_PATH) at start-up and again on `POST /v1/admin/models/reload`. A model that fails verification (unsigned,
 * bad signature, unknown key, corrupt, wrong feature schema) is refused, counted by reason and
 * logged; the previous model keeps serving. The swap is one reference assignment: a request
 * reads the slot once, so it scores all its candidates with one model.
 */
import type { Prediction } from '../core/auction/index.js';
import type { AdRequest } from '../core/domain/ad-request.js';
import type { Campaign, Creative } from '../core/domain/entities.js';
import { servingInput } from '../core/features/from-request.js';
import type { CtrInput, UserInput } from '../core/features/input.js';
import { CTR_SCHEMA, vectorize } from '../core/features/schema.js';
import type { LoadedModel, ModelSource, ModelTarget } from '../ml/model-file.js';
import { ModelSlot, trustedKeys, type RejectReason } from '../ml/registry.js';
import { BreakerOpenError, type DependencyGuard } from './resilient/guard.js';

/** What the explain output and the metrics say about the model in service. */
export interface ModelInfo {
  /** The manifest's version; imported XGBoost / LightGBM files have none ('unversioned'). */
  version: string;
  format: ModelSource;
  kind: LoadedModel['scorer']['kind'];
  /** Feature-schema hash the model was trained on (adstack models only). */
  schema_hash: string | null;
}

export function modelInfo(m: LoadedModel): ModelInfo {
  return {
    version: m.manifest?.version ?? 'unversioned',
    format: m.source,
    kind: m.scorer.kind,
    schema_hash: m.manifest?.featureSchema?.hash ?? null,
  };
}

/** A holder of the model in service (a `ModelSlot`, or a fixed model in tests). */
export interface ModelHolder {
  readonly model: LoadedModel | null;
}

export interface PredictionCandidate {
  campaign: Campaign;
  creative: Creative;
}

/**
 * Why the priors were used although a model is loaded (issue 8): the degradation ladder's
 * "skip ML" step, the model's circuit breaker being open, or the model throwing.
 */
export type PriorFallback = 'skip_ml' | 'model_breaker_open' | 'model_error';

/**
 * Where the request's predictions came from. `source` is the CTR's origin; `cvr_source` the CVR's
 * (for CPA candidates; each candidate's own CVR is in its explain verdict). The shapes without a
 * CVR model are the ones from before the CVR slot existed.
 */
export type PredictionSummary =
  | (Prediction & { source: 'constant_prior'; fallback?: PriorFallback })
  | { source: 'model'; model: ModelInfo; cvr: number; cvr_source: 'constant_prior' }
  | { source: 'constant_prior'; ctr: number; cvr_source: 'model'; cvr_model: ModelInfo }
  | { source: 'model'; model: ModelInfo; cvr_source: 'model'; cvr_model: ModelInfo };

export interface StagePredictions {
  /** One prediction per candidate, in the candidates' order. */
  predictions: Prediction[];
  summary: PredictionSummary;
}

/** Resilience switches of the stage (issue 8); both optional. */
export interface PredictionResilience {
  /** True while the degradation ladder says "skip ML" (src/exchange/resilient/resilience.ts). */
  skipModel?: () => boolean;
  /** The model's breaker: a throwing model opens it and the priors serve until it closes. */
  guard?: DependencyGuard;
}

/**
 * The feature input of one candidate: what the predict stage vectorizes, and what the decision
 * logs for its winner (src/ports/decision-features.ts) so that training from the ledger sees the
 * served row. `servingInput` leaves the local hour and weekday missing (the request has no time
 * zone).
 */
export function candidateInput(
  req: AdRequest,
  c: PredictionCandidate,
  nowMs: number,
  profile?: UserInput,
): CtrInput {
  return servingInput({
    request: req,
    campaign: c.campaign,
    creative: c.creative,
    nowMs,
    ...(profile !== undefined ? { profile } : {}),
  });
}

export class PredictionStage {
  private rows = new Float64Array(0);
  private out = new Float64Array(0);
  /** The CPA candidates' rows, packed, and the CVR model's outputs for them. */
  private cvrRows = new Float64Array(0);
  private cvrOut = new Float64Array(0);
  private cpaIndex = new Int32Array(0);
  /** Built once per pair of loaded models, not per request. */
  private summaryFor: {
    model: LoadedModel | null;
    cvrModel: LoadedModel | null;
    summary: PredictionSummary;
  } | null = null;
  private readonly priorSummary: PredictionSummary;

  private readonly fallbackSummary: Record<PriorFallback, PredictionSummary>;

  /**
   * @param source the CTR model's holder (null: CTR prior)
   * @param cvrSource the CVR model's holder (null: CVR prior), scoring CPA candidates only
   */
  constructor(
    private readonly priors: Prediction,
    private readonly source: ModelHolder | null = null,
    private readonly resilience: PredictionResilience = {},
    private readonly cvrSource: ModelHolder | null = null,
  ) {
    this.priorSummary = { ...priors, source: 'constant_prior' };
    this.fallbackSummary = {
      skip_ml: { ...priors, source: 'constant_prior', fallback: 'skip_ml' },
      model_breaker_open: { ...priors, source: 'constant_prior', fallback: 'model_breaker_open' },
      model_error: { ...priors, source: 'constant_prior', fallback: 'model_error' },
    };
  }

  private priorsFor(n: number, summary: PredictionSummary): StagePredictions {
    const predictions = new Array<Prediction>(n);
    for (let i = 0; i < n; i++) predictions[i] = this.priors;
    return { predictions, summary };
  }

  /** Whether `predict` will build feature rows now (a model loaded and not skipped). */
  usesFeatures(): boolean {
    const loaded =
      (this.source?.model ?? null) !== null || (this.cvrSource?.model ?? null) !== null;
    return loaded && this.resilience.skipModel?.() !== true;
  }

  /**
   * @param profile the user's profile-derived features (src/exchange/user-features.ts), when
   *   the decision read them; absent → the user group holds what the request carries.
   */
  predict(
    req: AdRequest,
    candidates: readonly PredictionCandidate[],
    nowMs: number,
    profile?: UserInput,
  ): StagePredictions {
    // Each slot is read once: one CTR and one CVR model for the whole request.
    const model = this.source?.model ?? null;
    const cvrModel = this.cvrSource?.model ?? null;
    const n = candidates.length;
    if ((model === null && cvrModel === null) || n === 0)
      return this.priorsFor(n, this.priorSummary);
    if (this.resilience.skipModel?.() === true)
      return this.priorsFor(n, this.fallbackSummary.skip_ml);
    const nf = CTR_SCHEMA.size;
    if (this.rows.length < n * nf) {
      this.rows = new Float64Array(n * nf);
      this.out = new Float64Array(n);
    }
    for (let i = 0; i < n; i++)
      vectorize(candidateInput(req, candidates[i]!, nowMs, profile), this.rows, i * nf);
    // The CPA candidates' rows, packed for the CVR model (the others' eCPM ignores CVR).
    let nCpa = 0;
    if (cvrModel !== null) {
      if (this.cpaIndex.length < n) this.cpaIndex = new Int32Array(n);
      for (let i = 0; i < n; i++)
        if (candidates[i]!.campaign.pricing_model === 'cpa') this.cpaIndex[nCpa++] = i;
      if (this.cvrRows.length < nCpa * nf) {
        this.cvrRows = new Float64Array(nCpa * nf);
        this.cvrOut = new Float64Array(nCpa);
      }
      for (let j = 0; j < nCpa; j++) {
        const at = this.cpaIndex[j]! * nf;
        this.cvrRows.set(this.rows.subarray(at, at + nf), j * nf);
      }
    }
    const score = (): void => {
      if (model !== null) model.scorer.predictBatch(this.rows, n, this.out);
      if (cvrModel !== null && nCpa > 0)
        cvrModel.scorer.predictBatch(this.cvrRows, nCpa, this.cvrOut);
    };
    const guard = this.resilience.guard;
    if (guard === undefined) score();
    else {
      try {
        guard.runSync(score);
      } catch (e) {
        const why = e instanceof BreakerOpenError ? 'model_breaker_open' : 'model_error';
        return this.priorsFor(n, this.fallbackSummary[why]);
      }
    }
    const predictions: Prediction[] = new Array<Prediction>(n);
    for (let i = 0; i < n; i++)
      predictions[i] = {
        ctr: model === null ? this.priors.ctr : this.out[i]!,
        cvr: this.priors.cvr,
      };
    for (let j = 0; j < nCpa; j++) predictions[this.cpaIndex[j]!]!.cvr = this.cvrOut[j]!;
    return { predictions, summary: this.summaryOf(model, cvrModel) };
  }

  private summaryOf(model: LoadedModel | null, cvrModel: LoadedModel | null): PredictionSummary {
    if (this.summaryFor?.model !== model || this.summaryFor.cvrModel !== cvrModel)
      this.summaryFor = { model, cvrModel, summary: buildSummary(this.priors, model, cvrModel) };
    return this.summaryFor.summary;
  }
}

function buildSummary(
  priors: Prediction,
  model: LoadedModel | null,
  cvrModel: LoadedModel | null,
): PredictionSummary {
  if (model === null) {
    if (cvrModel === null) return { ...priors, source: 'constant_prior' };
    return {
      source: 'constant_prior',
      ctr: priors.ctr,
      cvr_source: 'model',
      cvr_model: modelInfo(cvrModel),
    };
  }
  if (cvrModel === null)
    return {
      source: 'model',
      model: modelInfo(model),
      cvr: priors.cvr,
      cvr_source: 'constant_prior',
    };
  return {
    source: 'model',
    model: modelInfo(model),
    cvr_source: 'model',
    cvr_model: modelInfo(cvrModel),
  };
}

export type ReloadResult =
  | { ok: true; model: ModelInfo }
  | { ok: false; reason: RejectReason; message: string; serving: ModelInfo | null };

export interface ServingModelOptions {
  path: string;
  publicKeyPem: string;
  /** What the slot serves (default 'ctr'); a model file for the other target is refused. */
  target?: ModelTarget;
  /** Called for every refused model (start-up and reloads); the runtime logs it. */
  onReject?: (reason: RejectReason, message: string, path: string) => void;
  onLoad?: (info: ModelInfo, path: string) => void;
}

/** The configured model file (CTR or CVR), verified and hot-swapped through a `ModelSlot`. */
export class ServingModel implements ModelHolder {
  readonly slot: ModelSlot;
  readonly path: string;
  readonly target: ModelTarget;
  private lastReject: { reason: RejectReason; message: string } | null = null;

  constructor(opts: ServingModelOptions) {
    this.path = opts.path;
    this.target = opts.target ?? 'ctr';
    this.slot = new ModelSlot({
      keys: trustedKeys([opts.publicKeyPem]),
      target: this.target,
      schemaHash: CTR_SCHEMA.hash,
      numFeatures: CTR_SCHEMA.size,
      onReject: (reason, message, path) => {
        this.lastReject = { reason, message };
        opts.onReject?.(reason, message, path);
      },
      onLoad: (m, path) => opts.onLoad?.(modelInfo(m), path),
    });
  }

  get model(): LoadedModel | null {
    return this.slot.model;
  }

  info(): ModelInfo | null {
    const m = this.slot.model;
    return m === null ? null : modelInfo(m);
  }

  /** Refused models by reason since start-up. */
  get rejected(): Readonly<Record<RejectReason, number>> {
    return this.slot.rejected;
  }

  /** Re-reads the model file; on refusal the previous model (if any) keeps serving. */
  async reload(): Promise<ReloadResult> {
    this.lastReject = null;
    const ok = await this.slot.load(this.path);
    const serving = this.info();
    if (ok && serving !== null) return { ok: true, model: serving };
    const r = this.lastReject ?? { reason: 'invalid_model' as const, message: 'refused' };
    return { ok: false, reason: r.reason, message: r.message, serving };
  }
}
