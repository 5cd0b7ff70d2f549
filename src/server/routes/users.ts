/**
 * User data under /v1/users (admin key only), issue 7 items 4 and 6d:
 *
 * - `PUT /v1/users/{id}/profile` — replaces the profile (demographics, interests with scores,
 *   consent); answers it with its version. Lifts an erasure tombstone (a new profile).
 * - `GET /v1/users/{id}/profile` — the profile (read through L1 → L2 → store), else 404.
 * - `POST /v1/users/{id}/interests` — interest signals `{"deltas": {"sports": 0.2}}` added to
 *   the scores (clamped to [0, 1]); 409 ADS_ERR_USER_ERASED for an erased user.
 * - `DELETE /v1/users/{id}` — GDPR erasure; 200 with the receipt (store → outcome), or 503
 *   ADS_ERR_NOT_READY with the receipt under `receipt` when a store failed (retry: idempotent).
 *
 * `{id}` is the publisher's user id as sent in ad requests (`user.id`); it is hashed by the
 * service and never stored, and request logs blank it (`serializeRequest` in ../app.ts).
 */
import type { FastifyInstance } from 'fastify';
import { AdsError } from '../../core/errors.js';
import type { UserService } from '../../exchange/users.js';
import { AGE_RANGES, GENDERS, type ProfileInput } from '../../ports/profile-store.js';
import type { Authenticator } from '../plugins/auth.js';
import { errorBody } from '../plugins/errors.js';

export interface UserRouteDeps {
  users: UserService;
  auth: Authenticator;
}

/**
 * 1–100 characters (Fastify's default `maxParamLength`: a longer path segment is answered 414
 * with `ADS_ERR_URI_TOO_LONG`, see `frameworkErrors`), no control characters.
 */
const USER_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' },
  },
} as const;

const INTEREST_NAME = '^[a-z0-9][a-z0-9_.:-]{0,63}$';

const PROFILE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['consent'],
  properties: {
    demographics: {
      type: 'object',
      additionalProperties: false,
      properties: {
        age_range: { type: 'string', enum: [...AGE_RANGES] },
        gender: { type: 'string', enum: [...GENDERS] },
        country: { type: 'string', pattern: '^[A-Z]{2}$' },
        region: { type: 'string', pattern: '^[A-Z]{2}-[A-Z0-9]{1,3}$' },
      },
    },
    interests: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { pattern: INTEREST_NAME },
      additionalProperties: { type: 'number', minimum: 0, maximum: 1 },
    },
    consent: {
      type: 'object',
      additionalProperties: false,
      required: ['personalization', 'measurement'],
      properties: {
        personalization: { type: 'boolean' },
        measurement: { type: 'boolean' },
        tcf: { type: ['string', 'null'], maxLength: 4096 },
      },
    },
  },
} as const;

const INTERESTS_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['deltas'],
  properties: {
    deltas: {
      type: 'object',
      minProperties: 1,
      maxProperties: 64,
      propertyNames: { pattern: INTEREST_NAME },
      additionalProperties: { type: 'number', minimum: -1, maximum: 1 },
    },
  },
} as const;

type ProfileBody = Omit<ProfileInput, 'user_key' | 'demographics' | 'interests'> &
  Partial<Pick<ProfileInput, 'demographics' | 'interests'>>;

export function registerUserRoutes(app: FastifyInstance, deps: UserRouteDeps): void {
  const { users, auth } = deps;
  app.register(
    async (r) => {
      r.addHook('onRequest', async (req) => {
        const p = await auth.principal(req);
        if (p.role !== 'admin')
          throw new AdsError('ADS_ERR_FORBIDDEN', 'User data needs the admin key');
      });

      r.put<{ Params: { id: string }; Body: ProfileBody }>(
        '/:id/profile',
        { schema: { params: USER_PARAMS, body: PROFILE_BODY, tags: ['users'] } },
        async (req) => {
          const b = req.body;
          return users.putProfile(req.params.id, {
            demographics: b.demographics ?? {},
            interests: b.interests ?? {},
            consent: { ...b.consent, tcf: b.consent.tcf ?? null },
          });
        },
      );

      r.get<{ Params: { id: string } }>(
        '/:id/profile',
        { schema: { params: USER_PARAMS, tags: ['users'] } },
        async (req) => {
          const p = await users.getProfile(req.params.id);
          if (p === null) throw new AdsError('ADS_ERR_NOT_FOUND', 'No profile for this user');
          return p;
        },
      );

      r.post<{ Params: { id: string }; Body: { deltas: Record<string, number> } }>(
        '/:id/interests',
        { schema: { params: USER_PARAMS, body: INTERESTS_BODY, tags: ['users'] } },
        async (req) => {
          const res = await users.addInterests(req.params.id, req.body.deltas);
          if (!res.applied) throw new AdsError('ADS_ERR_USER_ERASED');
          return res.profile;
        },
      );

      r.delete<{ Params: { id: string } }>(
        '/:id',
        { schema: { params: USER_PARAMS, tags: ['users'] } },
        async (req, reply) => {
          const receipt = await users.erase(req.params.id);
          if (receipt.complete) return receipt;
          return reply.code(503).send({
            ...errorBody(
              'ADS_ERR_NOT_READY',
              'The erasure did not reach every store; retry (it is idempotent)',
            ),
            receipt,
          });
        },
      );
    },
    { prefix: '/v1/users' },
  );
}
