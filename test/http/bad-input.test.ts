/**
 * Bad input never gets a 5xx: every route answers a clear 4xx with a stable code, including
 * for generated garbage (fast-check). Error bodies always have the documented shape.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt.close();
});

const json = { 'content-type': 'application/json' };
const raw = (
  url: string,
  payload: string,
  headers: Record<string, string> = json,
  method: 'POST' | 'PATCH' = 'POST',
) => rt.app.inject({ method, url, payload, headers: { ...headers, 'x-api-key': ADMIN_KEY } });

function expectError(res: { statusCode: number; json(): unknown }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
}

describe('bad input on the decision route', () => {
  it('malformed JSON → 400 ADS_ERR_MALFORMED_JSON', async () => {
    expectError(await raw('/v1/decisions', '{"placement_id": '), 400, 'ADS_ERR_MALFORMED_JSON');
  });
  it('empty body → 400 ADS_ERR_EMPTY_BODY', async () => {
    expectError(await raw('/v1/decisions', ''), 400, 'ADS_ERR_EMPTY_BODY');
  });
  it('wrong types and unknown fields → 400 ADS_ERR_VALIDATION naming the field', async () => {
    const cases: [object, RegExp][] = [
      [{ placement_id: 42 }, /placement_id/],
      [{ ...DEMO_REQUEST, device: { type: 'fridge' } }, /device\/type/],
      [{ ...DEMO_REQUEST, geo: { country: 'USA' } }, /geo\/country/],
      [{ ...DEMO_REQUEST, surprise: true }, /unknown field 'surprise'/],
      [{ ...DEMO_REQUEST, user: { id: 'u', age: 40 } }, /unknown field 'age'/],
      [[], /body/],
    ];
    for (const [body, re] of cases) {
      const res = await raw('/v1/decisions', JSON.stringify(body));
      expectError(res, 400, 'ADS_ERR_VALIDATION');
      expect(res.json().error.message).toMatch(re);
    }
  });
  it('bodies over 64 KiB → 413 ADS_ERR_BODY_TOO_LARGE', async () => {
    const big = JSON.stringify({
      ...DEMO_REQUEST,
      site: { domain: 'x', page: 'p'.repeat(70 * 1024) },
    });
    expectError(await raw('/v1/decisions', big), 413, 'ADS_ERR_BODY_TOO_LARGE');
  });
  it('__proto__ and constructor keys, at any depth and however spelled → 400 ADS_ERR_FORBIDDEN_KEY', async () => {
    for (const body of [
      '{"placement_id":"plc_demo_banner","__proto__":{"admin":true}}',
      '{"placement_id":"plc_demo_banner","user":{"__proto__":{"x":1}}}',
      '{"placement_id":"plc_demo_banner","constructor":{"prototype":{"x":1}}}',
      '{"placement_id":"plc_demo_banner","\\u005f\\u005fproto__":{"x":1}}',
    ]) {
      expectError(await raw('/v1/decisions', body), 400, 'ADS_ERR_FORBIDDEN_KEY');
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
  it('a body that is not JSON → 415 ADS_ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
    expectError(
      await raw('/v1/decisions', 'placement_id=x', { 'content-type': 'text/plain' }),
      415,
      'ADS_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    expectError(
      await raw('/v1/decisions', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'ADS_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
  });
  it('unknown routes and methods → 404 ADS_ERR_ROUTE_NOT_FOUND in the same shape', async () => {
    expectError(await rt.app.inject({ url: '/v1/nothing' }), 404, 'ADS_ERR_ROUTE_NOT_FOUND');
    expectError(
      await rt.app.inject({ method: 'DELETE', url: '/v1/decisions' }),
      404,
      'ADS_ERR_ROUTE_NOT_FOUND',
    );
  });
  it('a path segment over 100 characters → 414 ADS_ERR_URI_TOO_LONG; an undecodable one → 400', async () => {
    const headers = { 'x-api-key': ADMIN_KEY };
    const long = [
      { method: 'DELETE', url: `/v1/users/${'u'.repeat(101)}` },
      { method: 'GET', url: `/v1/admin/campaigns/${'c'.repeat(300)}` },
    ] as const;
    for (const { method, url } of long) {
      expectError(await rt.app.inject({ method, url, headers }), 414, 'ADS_ERR_URI_TOO_LONG');
    }
    expectError(
      await rt.app.inject({ method: 'DELETE', url: '/v1/users/%E0%A4%A', headers }),
      400,
      'ADS_ERR_VALIDATION',
    );
  });
  it('bad ids and query strings on admin routes → 400', async () => {
    expectError(
      await rt.app.inject({
        url: '/v1/admin/campaigns/bad%20id!',
        headers: { 'x-api-key': ADMIN_KEY },
      }),
      400,
      'ADS_ERR_VALIDATION',
    );
    expectError(
      await rt.app.inject({
        url: '/v1/admin/campaigns?limit=abc',
        headers: { 'x-api-key': ADMIN_KEY },
      }),
      400,
      'ADS_ERR_VALIDATION',
    );
    expectError(
      await rt.app.inject({
        url: '/v1/admin/campaigns?sort=name',
        headers: { 'x-api-key': ADMIN_KEY },
      }),
      400,
      'ADS_ERR_VALIDATION',
    );
    expectError(
      await raw('/v1/admin/campaigns/cmp_demo_stride_runners', '{}', json, 'PATCH'),
      400,
      'ADS_ERR_VALIDATION',
    );
  });
});

/** Any JSON value, biased towards objects with the routes' own field names. */
const FIELD_NAMES = [
  'placement_id',
  'user',
  'device',
  'geo',
  'site',
  'app',
  'keywords',
  'id',
  'interests',
  'type',
  'os',
  'country',
  'region',
  'name',
  'pricing_model',
  'bid_micros',
  'targeting',
  'status',
  'campaign_id',
  'format',
  'w',
  'h',
  'markup',
  'url',
  'native',
  'landing_url',
  'advertiser_id',
  'time_zone',
  'start_at',
  'end_at',
  'daily_budget_micros',
  'frequency_cap',
  'dayparts',
  'publisher',
  'floor_cpm_micros',
  'approval',
];
const value = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(
      null,
      true,
      false,
      0,
      -1,
      1.5,
      1e300,
      '',
      'plc_demo_banner',
      'cmp_demo_stride_runners',
      'US',
      'banner',
      'cpc',
    ),
    fc.string(),
    fc.integer(),
    fc.array(tie('any'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string()), tie('any'), {
      maxKeys: 6,
    }),
  ),
})).any;

describe('generated garbage never causes a 5xx', () => {
  const targets: [string, 'POST' | 'PATCH'][] = [
    ['/v1/decisions', 'POST'],
    ['/v1/admin/advertisers', 'POST'],
    ['/v1/admin/campaigns', 'POST'],
    ['/v1/admin/creatives', 'POST'],
    ['/v1/admin/placements', 'POST'],
    ['/v1/admin/campaigns/cmp_demo_wander_video', 'PATCH'],
    ['/v1/admin/creatives/cre_demo_wander_vast', 'PATCH'],
    ['/v1/admin/placements/plc_demo_video', 'PATCH'],
  ];
  for (const [url, method] of targets) {
    it(`${method} ${url}`, async () => {
      await fc.assert(
        fc.asyncProperty(value, async (body) => {
          const res = await raw(url, JSON.stringify(body), json, method);
          expect(res.statusCode).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const code = res.json().error.code as string;
            expect(Object.keys(ERROR_CODES)).toContain(code);
          }
        }),
        { numRuns: 150, seed: 20261125 },
      );
    });
  }

  it('GET token routes with generated tokens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (t) => {
        for (const kind of ['impression', 'click']) {
          const res = await rt.app.inject({ url: `/v1/events/${kind}?t=${encodeURIComponent(t)}` });
          expect(res.statusCode).toBeGreaterThanOrEqual(400);
          expect(res.statusCode).toBeLessThan(500);
        }
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
