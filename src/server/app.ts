/**
 * build(deps, opts) → a ready-to-listen Fastify app. Nothing here picks an adapter or reads
 * the environment: src/wiring/ does that and passes the results in. Tests call build() and
 * use app.inject().
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { DecisionService } from '../exchange/decision.js';
import type { EventService } from '../exchange/events.js';
import type { CampaignStore } from '../ports/campaign-store.js';
import type { DependencyCheck } from '../ports/health.js';
import { Authenticator } from './plugins/auth.js';
import { installErrorHandling } from './plugins/errors.js';
import { installMetrics } from './plugins/metrics.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerServingRoutes } from './routes/serving.js';

export interface AppDeps {
  store: CampaignStore;
  decisions: DecisionService;
  events: EventService;
  checks: DependencyCheck[];
  adminKey: string;
  onCatalogChange: () => Promise<void>;
}

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
}

/** Log redaction: API keys and tracking tokens never reach the logs. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
];

export async function build(deps: AppDeps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Request ids are generated, never taken from clients.
    genReqId: () => crypto.randomUUID(),
  });
  let shuttingDown = false;
  app.addHook('onClose', async () => {
    shuttingDown = true;
  });

  installErrorHandling(app);
  const metrics = installMetrics(app);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'adstack API',
        version: '0.1.0',
        description: 'Ad decisions, tracking events and the management API',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
    },
  });

  registerServingRoutes(app, { decisions: deps.decisions, events: deps.events, metrics });
  registerAdminRoutes(app, {
    store: deps.store,
    auth: new Authenticator(deps.adminKey, deps.store),
    onChange: deps.onCatalogChange,
  });
  registerOpsRoutes(app, { checks: deps.checks, metrics, isShuttingDown: () => shuttingDown });
  await app.ready();
  return app;
}
