/**
 * The degradation ladder for operators (issue 8, seed Part 7), admin key only:
 *
 * - `GET /v1/admin/degradation` — the level now, the pinned level (or null) and every
 *   dependency breaker's state.
 * - `PUT /v1/admin/degradation` `{"pinned": "<step>" | null}` — holds the ladder at that step or
 *   above (e.g. `skip_ml` while a model misbehaves, `house_only` during an incident), or
 *   unpins it (null), after which it steps back up one step per hold as usual. Answers like GET.
 *   An unknown step is 400 ADS_ERR_VALIDATION.
 *
 * Every change of level is logged and counted as usual (cause `pinned`).
 */
import type { FastifyInstance } from 'fastify';
import { AdsError } from '../../core/errors.js';
import { DEGRADATION_NAMES, type DegradationLevel } from '../../core/resilience/degradation.js';
import type { Resilience } from '../../exchange/resilient/resilience.js';
import type { Authenticator } from '../plugins/auth.js';

export interface DegradationRouteDeps {
  resilience: Resilience;
  auth: Authenticator;
}

export function registerDegradationRoutes(app: FastifyInstance, deps: DegradationRouteDeps): void {
  const { resilience, auth } = deps;
  const view = () => ({
    level: resilience.levelName(),
    pinned: resilience.pinnedName(),
    breakers: Object.fromEntries([...resilience.guards].map(([n, g]) => [n, g.state()])),
  });
  app.register(
    async (r) => {
      r.addHook('onRequest', async (req) => {
        const p = await auth.principal(req);
        if (p.role !== 'admin')
          throw new AdsError('ADS_ERR_FORBIDDEN', 'The degradation ladder needs the admin key');
      });
      r.get('/', { schema: { summary: 'The degradation ladder now', tags: ['ops'] } }, view);
      r.put<{ Body: { pinned: (typeof DEGRADATION_NAMES)[number] | null } }>(
        '/',
        {
          schema: {
            summary: 'Pin the degradation ladder at a step or above (null unpins)',
            tags: ['ops'],
            body: {
              type: 'object',
              additionalProperties: false,
              required: ['pinned'],
              properties: {
                pinned: { type: ['string', 'null'], enum: [...DEGRADATION_NAMES, null] },
              },
            },
          },
        },
        async (req) => {
          const name = req.body.pinned;
          resilience.pin(
            name === null ? null : (DEGRADATION_NAMES.indexOf(name) as DegradationLevel),
          );
          return view();
        },
      );
    },
    { prefix: '/v1/admin/degradation' },
  );
}
