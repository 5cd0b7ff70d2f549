/**
 * The CTR model in service (issue 5, "Registry"), admin key only:
 *
 * - `GET /v1/admin/models` — the model in service (or null) and refusals by reason.
 * - `POST /v1/admin/models/reload` — re-reads ADSTACK_MODEL_PATH, verifies its signature and
 *   feature schema and swaps it in. A refused file answers 422 ADS_ERR_MODEL_REJECTED with
 *   `error.reason` (the registry's closed enum) and the model still serving; it is logged and
 *   counted in `adstack_model_rejected_total{reason}`. Requests in flight are never dropped.
 *
 * Metrics: `adstack_model_rejected_total{reason}` (refusals since start-up, start-up load
 * included) and `adstack_model_info{version,format,kind,schema_hash}` = 1 for the model in
 * service (no series when the constant priors serve).
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { AdsError } from '../../core/errors.js';
import type { ServingModel } from '../../exchange/prediction.js';
import type { Authenticator } from '../plugins/auth.js';
import type { HttpMetrics } from '../plugins/metrics.js';

export interface ModelRouteDeps {
  /** null: no model configured (constant priors). */
  model: ServingModel | null;
  auth: Authenticator;
  metrics: HttpMetrics;
}

export function registerModelRoutes(app: FastifyInstance, deps: ModelRouteDeps): void {
  const { model, auth, metrics } = deps;
  new Counter({
    name: 'adstack_model_rejected_total',
    help: 'Model files refused by verification (unsigned, bad_signature, unknown_key, invalid_model, schema_mismatch, unreadable)',
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
    name: 'adstack_model_info',
    help: 'The CTR model in service (value 1); absent while the constant priors serve',
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

  app.register(
    async (r) => {
      r.addHook('onRequest', async (req) => {
        const p = await auth.principal(req);
        if (p.role !== 'admin')
          throw new AdsError('ADS_ERR_FORBIDDEN', 'Managing models needs the admin key');
      });

      r.get('/', { schema: { summary: 'The CTR model in service', tags: ['models'] } }, () => ({
        configured: model !== null,
        path: model?.path ?? null,
        model: model?.info() ?? null,
        rejected: model?.rejected ?? null,
      }));

      r.post(
        '/reload',
        {
          schema: {
            summary: 'Re-read, verify and hot-swap the model file (ADSTACK_MODEL_PATH)',
            tags: ['models'],
          },
        },
        async (_req, reply) => {
          if (model === null) throw new AdsError('ADS_ERR_MODEL_NOT_CONFIGURED');
          // Loads and refusals are logged by the model's owner (src/wiring/runtime.ts).
          const res = await model.reload();
          if (res.ok) return { model: res.model };
          return reply.code(422).send({
            error: {
              code: 'ADS_ERR_MODEL_REJECTED',
              message: `The model file was refused (${res.reason}): ${res.message}`,
              reason: res.reason,
              serving: res.serving,
            },
          });
        },
      );
    },
    { prefix: '/v1/admin/models' },
  );
}
