/**
 * The models in service (issue 5, "Registry"): the CTR slot (ADSTACK_MODEL_PATH) and the CVR
 * slot (ADSTACK_CVR_MODEL_PATH), admin key only:
 *
 * - `GET /v1/admin/models` — the CTR model in service (or null) and its refusals by reason, as
 *   before, plus `cvr`: the same for the CVR slot (`configured: false` when not set).
 * - `POST /v1/admin/models/reload[?slot=ctr|cvr]` — re-reads the model file(s), verifies their
 *   signature, target and feature schema and swaps them in. Without `slot`, every configured slot
 *   is reloaded (CTR first, then CVR; both are always attempted) and the answer is
 *   `{model, cvr_model}` (null for a slot that is not configured or has nothing loaded); with
 *   `slot`, only that one, answered `{model}`. A slot asked for by name that is not configured is
 *   409 ADS_ERR_MODEL_NOT_CONFIGURED, as is a reload with no slot configured. A refused file
 *   answers 422 ADS_ERR_MODEL_REJECTED with `error.reason` (the registry's closed enum),
 *   `error.slot` and the model still serving in that slot (the first refused slot when both
 *   are); it is logged and counted. Requests in flight are never dropped.
 *
 * Metrics: `adstack_model_rejected_total{reason}` (CTR slot refusals since start-up, start-up
 * load included), `adstack_model_info{version,format,kind,schema_hash}` = 1 for the CTR model in
 * service (no series when the CTR prior serves), and the same pair for the CVR slot as
 * `adstack_cvr_model_rejected_total{reason}` and `adstack_cvr_model_info{...}`; with the decision
 * feature log on, `adstack_feature_log_records_total{result="written"|"dropped"}`.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { AdsError } from '../../core/errors.js';
import type { ReloadResult, ServingModel } from '../../exchange/prediction.js';
import type { DecisionFeatureLog } from '../../ports/decision-features.js';
import type { Authenticator } from '../plugins/auth.js';
import type { HttpMetrics } from '../plugins/metrics.js';

export interface ModelRouteDeps {
  /** null: no CTR model configured (CTR prior). */
  model: ServingModel | null;
  /** null: no CVR model configured (CVR prior). */
  cvrModel?: ServingModel | null;
  /** The decision feature log (training from the ledger); null = off. */
  featureLog?: DecisionFeatureLog | null;
  auth: Authenticator;
  metrics: HttpMetrics;
}

type Slot = 'ctr' | 'cvr';

function registerSlotMetrics(
  metrics: HttpMetrics,
  prefix: string,
  what: string,
  model: ServingModel | null,
): void {
  new Counter({
    name: `${prefix}_rejected_total`,
    help: `${what} files refused by verification (unsigned, bad_signature, unknown_key, invalid_model, schema_mismatch, unreadable)`,
    labelNames: ['reason'] as const,
    registers: [metrics.registry],
    // The slot counts refusals (including the start-up load, before this app existed).
    collect() {
      if (model === null) return;
      this.reset();
      for (const [reason, n] of Object.entries(model.rejected)) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: `${prefix}_info`,
    help: `The ${what} in service (value 1); absent while the constant prior serves`,
    labelNames: ['version', 'format', 'kind', 'schema_hash'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      const info = model?.info() ?? null;
      if (info !== null)
        this.set(
          {
            version: info.version,
            format: info.format,
            kind: info.kind,
            schema_hash: info.schema_hash ?? '',
          },
          1,
        );
    },
  });
}

export function registerModelRoutes(app: FastifyInstance, deps: ModelRouteDeps): void {
  const { model, auth, metrics } = deps;
  const cvrModel = deps.cvrModel ?? null;
  registerSlotMetrics(metrics, 'adstack_model', 'CTR model', model);
  registerSlotMetrics(metrics, 'adstack_cvr_model', 'CVR model', cvrModel);
  const featureLog = deps.featureLog ?? null;
  if (featureLog !== null)
    new Counter({
      name: 'adstack_feature_log_records_total',
      help: 'Decision feature inputs logged for training (written) or lost (dropped: queue full, write failed)',
      labelNames: ['result'] as const,
      registers: [metrics.registry],
      collect() {
        this.reset();
        this.inc({ result: 'written' }, featureLog.written);
        this.inc({ result: 'dropped' }, featureLog.dropped);
      },
    });
  const slots: Record<Slot, ServingModel | null> = { ctr: model, cvr: cvrModel };

  app.register(
    async (r) => {
      r.addHook('onRequest', async (req) => {
        const p = await auth.principal(req);
        if (p.role !== 'admin')
          throw new AdsError('ADS_ERR_FORBIDDEN', 'Managing models needs the admin key');
      });

      r.get('/', { schema: { summary: 'The models in service', tags: ['models'] } }, () => ({
        configured: model !== null,
        path: model?.path ?? null,
        model: model?.info() ?? null,
        rejected: model?.rejected ?? null,
        cvr: {
          configured: cvrModel !== null,
          path: cvrModel?.path ?? null,
          model: cvrModel?.info() ?? null,
          rejected: cvrModel?.rejected ?? null,
        },
      }));

      r.post<{ Querystring: { slot?: Slot } }>(
        '/reload',
        {
          schema: {
            summary:
              'Re-read, verify and hot-swap the model files (ADSTACK_MODEL_PATH, ADSTACK_CVR_MODEL_PATH)',
            tags: ['models'],
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: { slot: { type: 'string', enum: ['ctr', 'cvr'] } },
            },
          },
        },
        async (req, reply) => {
          const only = req.query.slot;
          const wanted: Slot[] = only !== undefined ? [only] : ['ctr', 'cvr'];
          const todo = wanted.filter((s) => slots[s] !== null);
          if (todo.length === 0) throw new AdsError('ADS_ERR_MODEL_NOT_CONFIGURED');
          // Loads and refusals are logged by the models' owner (src/wiring/runtime.ts).
          const results: Partial<Record<Slot, ReloadResult>> = {};
          for (const s of todo) results[s] = await slots[s]!.reload();
          for (const s of todo) {
            const res = results[s]!;
            if (!res.ok)
              return reply.code(422).send({
                error: {
                  code: 'ADS_ERR_MODEL_REJECTED',
                  message: `The ${s.toUpperCase()} model file was refused (${res.reason}): ${res.message}`,
                  reason: res.reason,
                  slot: s,
                  serving: res.serving,
                },
              });
          }
          if (only !== undefined) return { model: slots[only]!.info() };
          return { model: model?.info() ?? null, cvr_model: cvrModel?.info() ?? null };
        },
      );
    },
    { prefix: '/v1/admin/models' },
  );
}
