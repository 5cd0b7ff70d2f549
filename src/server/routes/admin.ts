/**
 * Management API under /v1/admin: create / read / update / list / archive for advertisers,
 * campaigns, creatives and placements, plus creative approval.
 *
 * Access rules (proved by test/http/admin-tenancy.test.ts):
 * - the admin key sees and changes everything;
 * - an advertiser key sees and changes only its own advertiser, campaigns and creatives; another
 *   tenant's object answers 404, exactly like an id that does not exist (no existence leak);
 * - placements (publisher inventory) are readable by every key, writable by the admin only;
 * - creating advertisers, archiving them and approving creatives are admin-only.
 * Archived objects are read-only (409). A creative edited by an advertiser goes back to review.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {
  Campaign,
  Creative,
  EntityByKind,
  EntityKind,
  EntityPatch,
  NewEntity,
} from '../../core/domain/entities.js';
import { checkEntity } from '../../core/domain/validate.js';
import { AdsError } from '../../core/errors.js';
import type { CampaignStore } from '../../ports/campaign-store.js';
import { type Authenticator, type Principal, hashKey, newApiKey } from '../plugins/auth.js';
import { APPROVAL_BODY, CREATE_SCHEMAS, ID_PARAMS, LIST_QUERY, PATCH_SCHEMAS } from '../schemas.js';

export interface AdminDeps {
  store: CampaignStore;
  auth: Authenticator;
  /**
   * Called after every successful write and awaited before the response, so this process's
   * serving index reflects the write when the client hears back (other processes catch up on
   * their refresh interval). It must not reject: a failed refresh is logged, not a failed write.
   */
  onChange: () => Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function principalOf(req: FastifyRequest): Principal {
  if (req.principal === undefined) throw new AdsError('ADS_ERR_UNAUTHENTICATED');
  return req.principal;
}

function requireAdmin(p: Principal): void {
  if (p.role !== 'admin')
    throw new AdsError('ADS_ERR_FORBIDDEN', 'This action needs the admin key');
}

/** The advertiser owning an object, or null for shared objects (placements). */
function ownerOf(kind: EntityKind, e: EntityByKind[EntityKind]): string | null {
  if (kind === 'placements') return null;
  if (kind === 'advertisers') return e.id;
  return (e as Campaign | Creative).advertiser_id;
}

function canSee(p: Principal, kind: EntityKind, e: EntityByKind[EntityKind]): boolean {
  if (p.role === 'admin') return true;
  const owner = ownerOf(kind, e);
  return owner === null || owner === p.advertiser_id;
}

const CREATIVE_CONTENT_FIELDS = ['format', 'w', 'h', 'markup', 'url', 'native', 'landing_url'];

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { store, auth, onChange } = deps;

  app.register(
    async (admin) => {
      admin.addHook('onRequest', async (req) => {
        req.principal = await auth.principal(req);
      });

      /** Loads an object the caller may see, else 404 (whether it exists or not). */
      async function visible<K extends EntityKind>(
        p: Principal,
        kind: K,
        id: string,
      ): Promise<EntityByKind[K]> {
        const e = await store.get(kind, id);
        if (e === null || !canSee(p, kind, e)) throw new AdsError('ADS_ERR_NOT_FOUND');
        return e;
      }

      async function create<K extends EntityKind>(
        kind: K,
        p: Principal,
        body: Record<string, unknown>,
      ): Promise<EntityByKind[K]> {
        const input: Record<string, unknown> = { ...body };
        switch (kind) {
          case 'advertisers':
            throw new AdsError('ADS_ERR_INTERNAL', 'advertisers are created with their key');
          case 'placements':
            requireAdmin(p);
            input.w ??= null;
            input.h ??= null;
            input.floor_cpm_micros ??= 0;
            input.status ??= 'active';
            input.rtb_enabled ??= false;
            break;
          case 'campaigns': {
            const advertiserId =
              (input.advertiser_id as string | undefined) ??
              (p.role === 'advertiser' ? p.advertiser_id : undefined);
            if (advertiserId === undefined) {
              throw new AdsError(
                'ADS_ERR_VALIDATION',
                'advertiser_id: required with the admin key',
              );
            }
            const adv = await store.get('advertisers', advertiserId);
            if (adv === null || !canSee(p, 'advertisers', adv) || adv.status === 'archived') {
              throw new AdsError('ADS_ERR_VALIDATION', 'advertiser_id: unknown advertiser');
            }
            Object.assign(input, {
              advertiser_id: advertiserId,
              status: input.status ?? 'active',
              start_at: input.start_at ?? null,
              end_at: input.end_at ?? null,
              time_zone: input.time_zone ?? 'UTC',
              daily_budget_micros: input.daily_budget_micros ?? null,
              lifetime_budget_micros: input.lifetime_budget_micros ?? null,
              pacing: input.pacing ?? 'even',
              targeting: input.targeting ?? {},
              frequency_cap: input.frequency_cap ?? null,
            });
            break;
          }
          case 'creatives': {
            const campaign = await store.get('campaigns', input.campaign_id as string);
            if (
              campaign === null ||
              !canSee(p, 'campaigns', campaign) ||
              campaign.status === 'archived'
            ) {
              throw new AdsError('ADS_ERR_VALIDATION', 'campaign_id: unknown campaign');
            }
            Object.assign(input, {
              advertiser_id: campaign.advertiser_id,
              w: input.w ?? null,
              h: input.h ?? null,
              markup: input.markup ?? null,
              url: input.url ?? null,
              native: input.native ?? null,
              approval: p.role === 'admin' ? 'approved' : 'pending',
              status: input.status ?? 'active',
            });
            break;
          }
        }
        const draft = { ...input, id: '', created_at: '', updated_at: '' } as EntityByKind[K];
        checkEntity(kind, draft);
        return store.create(kind, input as NewEntity<K>);
      }

      for (const kind of ['advertisers', 'campaigns', 'creatives', 'placements'] as const) {
        const tags = [kind];

        admin.post(
          `/${kind}`,
          {
            schema: { tags, summary: `Create a ${kind.slice(0, -1)}`, body: CREATE_SCHEMAS[kind] },
          },
          async (req, reply) => {
            const p = principalOf(req);
            if (kind === 'advertisers') {
              // The advertiser's own API key: shown once, stored only as a hash, created in the
              // same transaction as the advertiser.
              requireAdmin(p);
              const body = req.body as {
                name: string;
                domain?: string | null;
                status?: 'active' | 'paused';
              };
              const apiKey = newApiKey();
              const adv = await store.createAdvertiserWithKey(
                { name: body.name, domain: body.domain ?? null, status: body.status ?? 'active' },
                hashKey(apiKey),
              );
              await onChange();
              return reply.code(201).send({ ...adv, api_key: apiKey });
            }
            const created = await create(kind, p, req.body as Record<string, unknown>);
            await onChange();
            return reply.code(201).send(created);
          },
        );

        admin.get(
          `/${kind}`,
          { schema: { tags, summary: `List ${kind}`, querystring: LIST_QUERY } },
          async (req) => {
            const p = principalOf(req);
            const q = req.query as { limit?: string; after?: string; include_archived?: string };
            const limit = Math.min(Math.max(Number(q.limit ?? 100), 1), 1000);
            const scoped = p.role === 'advertiser' && kind !== 'placements';
            const items = await store.list(kind, {
              limit,
              ...(q.after !== undefined ? { after: q.after } : {}),
              ...(scoped ? { advertiser_id: p.advertiser_id } : {}),
              include_archived: q.include_archived === 'true',
            });
            const last = items.at(-1);
            return {
              items,
              next_after: items.length === limit && last !== undefined ? last.id : null,
            };
          },
        );

        admin.get(
          `/${kind}/:id`,
          { schema: { tags, summary: `Read a ${kind.slice(0, -1)}`, params: ID_PARAMS } },
          async (req) => visible(principalOf(req), kind, (req.params as { id: string }).id),
        );

        admin.patch(
          `/${kind}/:id`,
          {
            schema: {
              tags,
              summary: `Update a ${kind.slice(0, -1)}`,
              params: ID_PARAMS,
              body: PATCH_SCHEMAS[kind],
            },
          },
          async (req) => {
            const p = principalOf(req);
            if (kind === 'placements') requireAdmin(p);
            const current = await visible(p, kind, (req.params as { id: string }).id);
            if (current.status === 'archived') {
              throw new AdsError(
                'ADS_ERR_CONFLICT',
                `This ${kind.slice(0, -1)} is archived and read-only`,
              );
            }
            const patch = { ...(req.body as Record<string, unknown>) };
            if (
              kind === 'creatives' &&
              p.role === 'advertiser' &&
              CREATIVE_CONTENT_FIELDS.some((f) => f in patch)
            ) {
              patch.approval = 'pending';
            }
            checkEntity(kind, { ...current, ...patch } as EntityByKind[typeof kind]);
            const updated = await store.update(kind, current.id, patch as EntityPatch<typeof kind>);
            if (updated === null) throw new AdsError('ADS_ERR_NOT_FOUND');
            await onChange();
            return updated;
          },
        );

        admin.post(
          `/${kind}/:id/archive`,
          {
            schema: {
              tags,
              summary: `Archive a ${kind.slice(0, -1)} (idempotent)`,
              params: ID_PARAMS,
            },
          },
          async (req) => {
            const p = principalOf(req);
            if (kind === 'placements' || kind === 'advertisers') requireAdmin(p);
            const current = await visible(p, kind, (req.params as { id: string }).id);
            if (current.status === 'archived') return current;
            const updated = await store.update(kind, current.id, {
              status: 'archived',
            } as EntityPatch<typeof kind>);
            await onChange();
            return updated;
          },
        );
      }

      admin.post(
        '/creatives/:id/approval',
        {
          schema: {
            tags: ['creatives'],
            summary: 'Approve or reject a creative (admin key)',
            params: ID_PARAMS,
            body: APPROVAL_BODY,
          },
        },
        async (req) => {
          const p = principalOf(req);
          requireAdmin(p);
          const current = await visible(p, 'creatives', (req.params as { id: string }).id);
          const { approval } = req.body as { approval: Creative['approval'] };
          const updated = await store.update('creatives', current.id, { approval });
          await onChange();
          return updated;
        },
      );
    },
    { prefix: '/v1/admin' },
  );
}
