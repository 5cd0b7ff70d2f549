/**
 * The decision's `predict` stage (issue 5, serving part) and the model it scores with.
 *
 * - `PredictionStage.predict` turns every candidate of one request into a `CtrInput`
 *   (`fromDecision`, the same code path as training rows), vectorizes them row-major into one
 *   reused Float64Array and scores them all with a single `Scorer.predictBatch` call. The
 *   buffers grow to the largest request seen and are reused after that: decide() is
 *   synchronous, so two requests never share them at the same time.
 * - Only what the request carries becomes a feature. There is no profile store, ad-facts feed
 *   or user × advertiser history yet, so those groups are missing (NaN), and so is the local
 *   hour: the request has no time zone, and the UTC hour is not the user's hour. The model
 *   sends missing values along each split's learned default direction.
 * - CVR stays the constant prior: CVR models can be trained (manifest `target: "cvr"`), but none
 *   is loaded here yet, and the CTR slot refuses them (a CPA bid's eCPM is
 *   bid × pCTR(model) × CVR(prior)).
 * - No model loaded (none configured, or every load refused) → the constant priors, exactly as
 *   before the model existed.
 *
 * `ServingModel` owns the `ModelSlot` (src/ml/registry.ts): it loads ADSTACK_MODEL_PATH at
 * start-up and again on `POST /v1/admin/models/reload`. A model that fails verification (unsigned,
 * bad signature, unknown key, corrupt, wrong feature schema) is refused, counted by reason and
 * logged; the previous model keeps serving. The swap is one reference assignment: a request
 * reads the slot once, so it scores all its candidates with one model.
 */
import type { Prediction } from '../core/auction/index.js';
import type { AdRequest } from '../core/domain/ad-request.js';
import type { Campaign, Creative } from '../core/domain/entities.js';
import { servingInput } from '../core/features/from-request.js';
import { CTR_SCHEMA, vectorize } from '../core/features/schema.js';
import type { LoadedModel, ModelSource } from '../ml/model-file.js';
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

export type PredictionSummary =
  | (Prediction & { source: 'constant_prior'; fallback?: PriorFallback })
  | { source: 'model'; model: ModelInfo; cvr: number; cvr_source: 'constant_prior' };

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

export class PredictionStage {
  private rows = new Float64Array(0);
  private out = new Float64Array(0);
  /** Built once per loaded model, not per request. */
  private summaryFor: { model: LoadedModel; summary: PredictionSummary } | null = null;
  private readonly priorSummary: PredictionSummary;

  private readonly fallbackSummary: Record<PriorFallback, PredictionSummary>;

  constructor(
    private readonly priors: Prediction,
    private readonly source: ModelHolder | null = null,
    private readonly resilience: PredictionResilience = {},
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

  predict(
    req: AdRequest,
    candidates: readonly PredictionCandidate[],
    nowMs: number,
  ): StagePredictions {
    const model = this.source?.model ?? null; // read once: one model for the whole request
    const n = candidates.length;
    if (model === null || n === 0) return this.priorsFor(n, this.priorSummary);
    if (this.resilience.skipModel?.() === true)
      return this.priorsFor(n, this.fallbackSummary.skip_ml);
    const nf = CTR_SCHEMA.size;
    if (this.rows.length < n * nf) {
      this.rows = new Float64Array(n * nf);
      this.out = new Float64Array(n);
    }
    for (let i = 0; i < n; i++) {
      const c = candidates[i]!;
      // servingInput leaves the local hour and weekday missing (the request has no time zone);
      // training from the ledger builds its rows with the same function.
      const input = servingInput({
        request: req,
        campaign: c.campaign,
        creative: c.creative,
        nowMs,
      });
      vectorize(input, this.rows, i * nf);
    }
    const guard = this.resilience.guard;
    if (guard === undefined) model.scorer.predictBatch(this.rows, n, this.out);
    else {
      try {
        guard.runSync(() => model.scorer.predictBatch(this.rows, n, this.out));
      } catch (e) {
        const why = e instanceof BreakerOpenError ? 'model_breaker_open' : 'model_error';
        return this.priorsFor(n, this.fallbackSummary[why]);
      }
    }
    const predictions: Prediction[] = new Array<Prediction>(n);
    for (let i = 0; i < n; i++) predictions[i] = { ctr: this.out[i]!, cvr: this.priors.cvr };
    return { predictions, summary: this.summaryOf(model) };
  }

  private summaryOf(model: LoadedModel): PredictionSummary {
    if (this.summaryFor?.model !== model)
      this.summaryFor = {
        model,
        summary: {
          source: 'model',
          model: modelInfo(model),
          cvr: this.priors.cvr,
          cvr_source: 'constant_prior',
        },
      };
    return this.summaryFor.summary;
  }
}

export type ReloadResult =
  | { ok: true; model: ModelInfo }
  | { ok: false; reason: RejectReason; message: string; serving: ModelInfo | null };

export interface ServingModelOptions {
  path: string;
  publicKeyPem: string;
  /** Called for every refused model (start-up and reloads); the runtime logs it. */
  onReject?: (reason: RejectReason, message: string, path: string) => void;
  onLoad?: (info: ModelInfo, path: string) => void;
}

/** The configured model file, verified and hot-swapped through a `ModelSlot`. */
export class ServingModel implements ModelHolder {
  readonly slot: ModelSlot;
  readonly path: string;
  private lastReject: { reason: RejectReason; message: string } | null = null;

  constructor(opts: ServingModelOptions) {
    this.path = opts.path;
    this.slot = new ModelSlot({
      keys: trustedKeys([opts.publicKeyPem]),
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
