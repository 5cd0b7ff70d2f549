/**
 * The hot routes: `POST /v1/decisions` and the tracking events. Bodies are limited to 64 KiB.
 * A decision with no ad answers 204 with the closed-enum reason in `x-adstack-no-fill`.
 */
import type { FastifyInstance } from 'fastify';
import type { AdRequest } from '../../core/domain/ad-request.js';
import { AdsError } from '../../core/errors.js';
import { ShedReason } from '../../core/resilience/load-shed.js';
import type { DecisionService } from '../../exchange/decision.js';
import type { DecisionDeadline } from '../../exchange/resilient/deadline.js';
import type { EventService } from '../../exchange/events.js';
import { errorBody } from '../plugins/errors.js';
import type { Authenticator } from '../plugins/auth.js';
import type { LoadShedder } from '../plugins/load-shed.js';
import type { HttpMetrics } from '../plugins/metrics.js';
import { AD_REQUEST, CONVERSION_QUERY, TOKEN_QUERY } from '../schemas.js';

export const HOT_ROUTE_BODY_LIMIT = 64 * 1024;

export interface ServingDeps {
  decisions: DecisionService;
  events: EventService;
  metrics: HttpMetrics;
  shedder: LoadShedder;
  auth: Authenticator;
  /** One deadline per decision (issue 8); stages cut by it are counted as degraded. */
  newDeadline?: (spentMs: number) => DecisionDeadline;
}

const DECISION_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { debug: { type: 'string', enum: ['0', '1'] } },
} as const;

/** The 429 bodies, serialised once per closed-enum reason: refusing must cost as little as possible. */
const SHED_BODY = Object.fromEntries(
  Object.values(ShedReason).map((reason) => [
    reason,
    JSON.stringify(
      errorBody('ADS_ERR_OVERLOADED', `The server is shedding load (${reason}); retry after 1 s`),
    ),
  ]),
) as Record<ShedReason, string>;

export function registerServingRoutes(app: FastifyInstance, deps: ServingDeps): void {
  app.post(
    '/v1/decisions',
    {
      bodyLimit: HOT_ROUTE_BODY_LIMIT,
      schema: {
        tags: ['serving'],
        summary: 'Decide which ad to show (?debug=1 with the admin key explains every candidate)',
        body: AD_REQUEST,
        querystring: DECISION_QUERY,
      },
      // Far past capacity, refuse before the body is even read (cheapest possible "no").
      onRequest: async (_req, reply) => {
        const reason = deps.shedder.admitEarly();
        if (reason !== null) {
          deps.metrics.shed.inc({ reason });
          return reply
            .code(429)
            .header('retry-after', '1')
            .header('x-adstack-shed', reason)
            .type('application/json; charset=utf-8')
            .send(SHED_BODY[reason]);
        }
        return undefined;
      },
    },
    async (req, reply) => {
      const body = req.body as AdRequest;
      // The budget counts from the request's arrival (body parsing and validation included).
      const deadline = deps.newDeadline?.(reply.elapsedTime);
      const decide = async (explain: boolean) => {
        try {
          return await deps.decisions.decide(body, {
            ...(explain ? { explain } : {}),
            ...(deadline !== undefined ? { deadline } : {}),
          });
        } finally {
          if (deadline !== undefined) {
            deadline.done();
            for (const d of deadline.degraded) deps.metrics.degraded.inc(d);
          }
        }
      };
      if ((req.query as { debug?: string }).debug === '1') {
        // Explaining reveals every campaign's bid and targeting: admin key only, never shed.
        const p = await deps.auth.principal(req);
        if (p.role !== 'admin') {
          throw new AdsError('ADS_ERR_FORBIDDEN', '?debug=1 needs the admin key');
        }
        const outcome = await decide(true);
        return outcome.kind === 'fill'
          ? { ...outcome.fill, debug: outcome.explain }
          : { no_fill: outcome.reason, filtered: outcome.filtered, debug: outcome.explain };
      }
      const shed = deps.shedder.admitDecision(body.placement_id);
      if (shed !== null) {
        deps.metrics.shed.inc({ reason: shed });
        return reply
          .code(429)
          .header('retry-after', '1')
          .header('x-adstack-shed', shed)
          .type('application/json; charset=utf-8')
          .send(SHED_BODY[shed]);
      }
      const outcome = await decide(false);
      if (outcome.kind === 'no_fill') {
        deps.shedder.observe(body.placement_id, 0);
        deps.metrics.decisions.inc({ outcome: 'no_fill', reason: outcome.reason });
        return reply.code(204).header('x-adstack-no-fill', outcome.reason).send();
      }
      deps.shedder.observe(body.placement_id, outcome.fill.price.clearing_cpm_micros / 1000);
      deps.metrics.decisions.inc({ outcome: 'fill', reason: '' });
      return outcome.fill;
    },
  );

  const tokenRoute = {
    bodyLimit: HOT_ROUTE_BODY_LIMIT,
    schema: { tags: ['serving'], querystring: TOKEN_QUERY },
  };

  app.get('/v1/events/impression', tokenRoute, async (req, reply) => {
    const r = await deps.events.impression((req.query as { t: string }).t);
    // A 1×1 beacon would also do; JSON keeps the response inspectable in tests and curl.
    return reply.code(200).header('cache-control', 'no-store').send({
      recorded: r.inserted,
      decision_id: r.claims.d,
    });
  });

  // The advertiser's conversion postback (CPA): the click token it got on the landing URL.
  app.get(
    '/v1/events/conversion',
    {
      bodyLimit: HOT_ROUTE_BODY_LIMIT,
      schema: { tags: ['serving'], querystring: CONVERSION_QUERY },
    },
    async (req, reply) => {
      const q = req.query as { t: string; cid: string };
      const r = await deps.events.conversion(q.t, q.cid);
      return reply.code(200).header('cache-control', 'no-store').send({
        recorded: r.inserted,
        decision_id: r.claims.d,
      });
    },
  );

  app.get('/v1/events/click', tokenRoute, async (req, reply) => {
    const r = await deps.events.click((req.query as { t: string }).t);
    return reply
      .code(302)
      .header('cache-control', 'no-store')
      .redirect(r.claims.u ?? '/', 302);
  });
}
