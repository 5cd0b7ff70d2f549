/**
 * build(deps, opts) → a ready-to-listen Fastify app. Nothing here picks an adapter or reads
 * the environment: src/wiring/ does that and passes the results in. Tests call build() and
 * use app.inject().
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { DecisionService } from '../exchange/decision.js';
import type { EventService } from '../exchange/events.js';
import type { ServingModel } from '../exchange/prediction.js';
import type { DecisionDeadline } from '../exchange/resilient/deadline.js';
import type { Resilience } from '../exchange/resilient/resilience.js';
import type { CampaignStore } from '../ports/campaign-store.js';
import type { DecisionFeatureLog } from '../ports/decision-features.js';
import type { DependencyCheck } from '../ports/health.js';
import { Authenticator } from './plugins/auth.js';
import { errorBody, frameworkErrors, installErrorHandling } from './plugins/errors.js';
import { installInFlightCounter, LoadShedder, type LoadShedOptions } from './plugins/load-shed.js';
import {
  installBudgetMetrics,
  installCacheMetrics,
  installPublisherMetrics,
  type PublisherMetricsSource,
  type CacheMetricsSource,
  installMetrics,
  type BudgetMetricsSource,
} from './plugins/metrics.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerDegradationRoutes } from './routes/degradation.js';
import { registerModelRoutes } from './routes/models.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerServingRoutes } from './routes/serving.js';
import { registerReportRoutes } from './routes/reports.js';
import { registerUserRoutes } from './routes/users.js';
import type { UserService } from '../exchange/users.js';
import type { ReportStore } from '../ports/report-store.js';
import { registerOpenRtbRoutes } from './routes/openrtb.js';
import type { RtbAuctionService } from '../exchange/rtb/auction.js';
import type { RtbFanOut } from '../exchange/rtb/fan-out.js';
import { RtbMetrics } from '../exchange/rtb/metrics.js';

export interface AppDeps {
  store: CampaignStore;
  decisions: DecisionService;
  events: EventService;
  checks: DependencyCheck[];
  adminKey: string;
  onCatalogChange: () => Promise<void>;
  /** The CTR model file (`/v1/admin/models`); null or absent = constant priors. */
  model?: ServingModel | null;
  /** The CVR model slot (ADSTACK_CVR_MODEL_PATH); absent or null = the CVR prior. */
  cvrModel?: ServingModel | null;
  /** The decision feature log (metrics only); absent or null = off. */
  featureLog?: DecisionFeatureLog | null;
  /** Profiles and GDPR erasure (`/v1/users`, src/server/routes/users.ts). */
  users?: UserService;
  /** Hourly report rollups (`GET /v1/reports`, src/server/routes/reports.ts). */
  reports?: ReportStore;
  /** Budget metrics (reconciliation, exposure overrun, leases); absent = not exported. */
  budget?: BudgetMetricsSource;
  /** The bounded event publisher, whose counts go on /metrics (issue 7). */
  publisher?: PublisherMetricsSource;
  /** Tiered caches whose reads and hot keys go on /metrics (issue 7). */
  caches?: readonly CacheMetricsSource[];
  /** The OpenRTB endpoint (`POST /openrtb2/auction`, src/server/routes/openrtb.ts). */
  rtb?: {
    service: RtbAuctionService;
    fanOut: RtbFanOut | null;
    monoMs: () => number;
    onMetrics?: (m: RtbMetrics) => void;
  };
  /** Dependency breakers and the degradation ladder (metrics; fed the shedder's utilisation). */
  resilience?: Resilience;
  /** One deadline per decision request (ADSTACK_DECISION_BUDGET_MS); absent = no deadline. */
  newDeadline?: (spentMs: number) => DecisionDeadline;
}

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  loadShed?: LoadShedOptions;
}

/** Log redaction: API keys never reach the logs (headers are not logged; these paths are a guard). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
];

/**
 * What a request log line shows: method and URL with every query value blanked (tracking tokens
 * and any id a client puts in a query string), the user id of `/v1/users/{id}` blanked, and no
 * client IP (personal data).
 */
export function serializeRequest(req: {
  method: string;
  url: string;
  id?: unknown;
}): Record<string, unknown> {
  const raw = req.url.replace(/^\/v1\/users\/[^/?]+/, '/v1/users/[redacted]');
  const q = raw.indexOf('?');
  const url =
    q < 0 ? raw : `${raw.slice(0, q)}?${raw.slice(q + 1).replace(/=([^&]*)/g, '=[redacted]')}`;
  return { id: req.id, method: req.method, url };
}

/**
 * preClose runs when close() starts, before in-flight requests drain: from then on /readyz says
 * 503 and new requests on kept-alive connections are refused in the documented error shape.
 */
export function installShutdownGate(app: FastifyInstance): { isShuttingDown: () => boolean } {
  let shuttingDown = false;
  app.addHook('preClose', async () => {
    shuttingDown = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (shuttingDown) {
      return reply
        .code(503)
        .header('connection', 'close')
        .header('retry-after', '1')
        .send(errorBody('ADS_ERR_NOT_READY', 'The server is shutting down'));
    }
    return undefined;
  });
  return { isShuttingDown: () => shuttingDown };
}

export async function build(deps: AppDeps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 1024 * 1024,
    // Our own hook below answers requests during shutdown, in the documented error shape.
    return503OnClosing: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Request ids are generated, never taken from clients.
    genReqId: () => crypto.randomUUID(),
    frameworkErrors,
  });
  const gate = installShutdownGate(app);

  installErrorHandling(app);
  const shedder = new LoadShedder(opts.loadShed);
  installInFlightCounter(app, shedder);
  const metrics = installMetrics(app, shedder, deps.resilience);
  deps.resilience?.attachUtilization(() => shedder.utilization());
  if (deps.budget !== undefined) installBudgetMetrics(metrics.registry, deps.budget);
  if (deps.caches !== undefined) installCacheMetrics(metrics.registry, deps.caches);
  if (deps.publisher !== undefined) installPublisherMetrics(metrics.registry, deps.publisher);
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

  const auth = new Authenticator(deps.adminKey, deps.store);
  registerServingRoutes(app, {
    decisions: deps.decisions,
    events: deps.events,
    metrics,
    shedder,
    auth,
    ...(deps.newDeadline !== undefined ? { newDeadline: deps.newDeadline } : {}),
  });
  registerAdminRoutes(app, {
    store: deps.store,
    auth,
    onChange: deps.onCatalogChange,
  });
  registerOpsRoutes(app, { checks: deps.checks, metrics, isShuttingDown: gate.isShuttingDown });
  registerModelRoutes(app, {
    model: deps.model ?? null,
    cvrModel: deps.cvrModel ?? null,
    featureLog: deps.featureLog ?? null,
    auth,
    metrics,
  });
  if (deps.resilience !== undefined)
    registerDegradationRoutes(app, { resilience: deps.resilience, auth });
  if (deps.users !== undefined) registerUserRoutes(app, { users: deps.users, auth });
  if (deps.reports !== undefined) registerReportRoutes(app, { reports: deps.reports, auth });
  if (deps.rtb !== undefined) {
    const rtbMetrics = new RtbMetrics(metrics.registry, deps.rtb.fanOut);
    deps.rtb.onMetrics?.(rtbMetrics);
    await registerOpenRtbRoutes(app, {
      rtb: deps.rtb.service,
      metrics: rtbMetrics,
      monoMs: deps.rtb.monoMs,
    });
  }
  await app.ready();
  shedder.start();
  return app;
}
