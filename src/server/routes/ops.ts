/** /healthz (process up), /readyz (every dependency answers in time), /metrics, /docs/json. */
import type { FastifyInstance } from 'fastify';
import type { DependencyCheck } from '../../ports/health.js';
import { errorBody } from '../plugins/errors.js';
import type { HttpMetrics } from '../plugins/metrics.js';

const CHECK_TIMEOUT_MS = 1000;

async function runCheck(c: DependencyCheck): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([c.check(), timeout]);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function registerOpsRoutes(
  app: FastifyInstance,
  deps: { checks: DependencyCheck[]; metrics: HttpMetrics; isShuttingDown: () => boolean },
): void {
  const hidden = { schema: { hide: true } };
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));

  app.get('/readyz', hidden, async (_req, reply) => {
    const results = await Promise.all(
      deps.checks.map(async (c) => [c.name, await runCheck(c)] as const),
    );
    const checks = Object.fromEntries(results);
    const ready = !deps.isShuttingDown() && results.every(([, r]) => r.ok);
    if (ready) return { status: 'ready', checks };
    const failing = results.filter(([, r]) => !r.ok).map(([n]) => n);
    const why = deps.isShuttingDown() ? 'shutting down' : `not ready: ${failing.join(', ')}`;
    return reply
      .code(503)
      .send({ ...errorBody('ADS_ERR_NOT_READY', why), status: 'not_ready', checks });
  });

  app.get('/metrics', hidden, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/docs/json', hidden, async () => app.swagger());
}
