import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt.close();
});

type Method = 'GET' | 'POST' | 'PATCH';
const call = (method: Method, url: string, payload?: object, key: string | null = ADMIN_KEY) =>
  rt.app.inject({
    method,
    url,
    ...(payload !== undefined ? { payload } : {}),
    headers: key === null ? {} : { 'x-api-key': key },
  });

describe('management API', () => {
  it('needs an API key: none or a wrong one is 401 ADS_ERR_UNAUTHENTICATED', async () => {
    for (const key of [null, 'wrong-key', '']) {
      const res = await call('GET', '/v1/admin/campaigns', undefined, key);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('ADS_ERR_UNAUTHENTICATED');
    }
    const bearer = await rt.app.inject({
      url: '/v1/admin/campaigns',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(bearer.statusCode).toBe(200);
  });

  it('creates an advertiser with its own API key, shown once', async () => {
    const res = await call('POST', '/v1/admin/advertisers', {
      name: 'Keyed Inc',
      domain: 'keyed.example',
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.api_key).toMatch(/^ak_/);
    expect(body.status).toBe('active');
    const read = await call('GET', `/v1/admin/advertisers/${body.id}`, undefined, body.api_key);
    expect(read.statusCode).toBe(200);
    expect(read.json().api_key).toBeUndefined();
  });

  it('runs a campaign through create, read, update, list and archive', async () => {
    const adv = (await call('POST', '/v1/admin/advertisers', { name: 'Lifecycle' })).json();
    const created = await call('POST', '/v1/admin/campaigns', {
      advertiser_id: adv.id,
      name: 'Spring',
      pricing_model: 'cpc',
      bid_micros: 250_000,
      daily_budget_micros: 5_000_000,
      targeting: { countries: ['US'], device_types: ['mobile'] },
      frequency_cap: { max_impressions: 3, period_seconds: 3600 },
    });
    expect(created.statusCode).toBe(201);
    const c = created.json();
    expect(c).toMatchObject({
      status: 'active',
      time_zone: 'UTC',
      pacing: 'even',
      bid_micros: 250_000,
    });

    const patched = await call('PATCH', `/v1/admin/campaigns/${c.id}`, {
      bid_micros: 300_000,
      status: 'paused',
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ bid_micros: 300_000, status: 'paused', name: 'Spring' });

    const list = await call('GET', `/v1/admin/campaigns?limit=1000`);
    expect(list.json().items.map((x: { id: string }) => x.id)).toContain(c.id);

    const archived = await call('POST', `/v1/admin/campaigns/${c.id}/archive`);
    expect(archived.statusCode).toBe(200);
    expect(archived.json().status).toBe('archived');
    expect((await call('POST', `/v1/admin/campaigns/${c.id}/archive`)).statusCode).toBe(200);
    const edit = await call('PATCH', `/v1/admin/campaigns/${c.id}`, { name: 'x' });
    expect(edit.statusCode).toBe(409);
    expect(edit.json().error.code).toBe('ADS_ERR_CONFLICT');
    const hidden = (await call('GET', `/v1/admin/campaigns?limit=1000`))
      .json()
      .items.map((x: { id: string }) => x.id);
    expect(hidden).not.toContain(c.id);
    const shown = (
      await call('GET', `/v1/admin/campaigns?limit=1000&include_archived=true`)
    ).json();
    expect(shown.items.map((x: { id: string }) => x.id)).toContain(c.id);
  });

  it('accepts frontloaded pacing on create and patch, and stores it', async () => {
    const created = await call('POST', '/v1/admin/campaigns', {
      advertiser_id: 'adv_demo_stride',
      name: 'Morning rush',
      pricing_model: 'cpm',
      bid_micros: 2_000_000,
      daily_budget_micros: 5_000_000,
      pacing: 'frontloaded',
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect((await call('GET', `/v1/admin/campaigns/${id}`)).json().pacing).toBe('frontloaded');
    const even = await call('PATCH', `/v1/admin/campaigns/${id}`, { pacing: 'even' });
    expect(even.json().pacing).toBe('even');
    const back = await call('PATCH', `/v1/admin/campaigns/${id}`, { pacing: 'frontloaded' });
    expect(back.statusCode).toBe(200);
    expect(back.json().pacing).toBe('frontloaded');
  });

  it('paginates lists with next_after', async () => {
    const page1 = (await call('GET', '/v1/admin/placements?limit=2')).json();
    expect(page1.items.length).toBe(2);
    expect(page1.next_after).toBe(page1.items[1].id);
    const page2 = (
      await call('GET', `/v1/admin/placements?limit=2&after=${page1.next_after}`)
    ).json();
    expect(page2.items[0].id > page1.items[1].id).toBe(true);
  });

  it.each([
    ['id', { id: 'cmp_mine' }],
    ['created_at', { created_at: '2026-01-01T00:00:00Z' }],
    ['spend', { spend_micros: 0 }],
    ['an unknown field', { colour: 'red' }],
  ])('refuses a server-owned or unknown field on create: %s', async (_label, extra) => {
    const res = await call('POST', '/v1/admin/campaigns', {
      advertiser_id: 'adv_demo_stride',
      name: 'x',
      pricing_model: 'cpm',
      bid_micros: 1,
      ...extra,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('ADS_ERR_VALIDATION');
    expect(res.json().error.message).toMatch(/unknown field/);
  });

  it('refuses approval, advertiser_id and campaign_id changes in a creative patch', async () => {
    for (const patch of [
      { approval: 'approved' },
      { advertiser_id: 'adv_demo_wander' },
      { campaign_id: 'cmp_x' },
    ]) {
      const res = await call('PATCH', '/v1/admin/creatives/cre_demo_stride_mpu', patch);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('ADS_ERR_VALIDATION');
    }
  });

  it('checks business rules with a message naming the field', async () => {
    const cases: [object, RegExp][] = [
      [{ time_zone: 'Mars/Olympus' }, /time_zone/],
      [{ start_at: '2026-02-01T00:00:00Z', end_at: '2026-01-01T00:00:00Z' }, /end_at/],
      [{ daily_budget_micros: 10, lifetime_budget_micros: 5 }, /daily_budget_micros/],
      [{ targeting: { dayparts: [{ days: [1], start_hour: 9, end_hour: 9 }] } }, /dayparts/],
      [{ bid_micros: 1.5 }, /bid_micros/],
      [{ bid_micros: '100' }, /bid_micros/],
      [{ targeting: { countries: ['usa'] } }, /countries/],
      [{ pacing: 'bursty' }, /pacing/],
    ];
    for (const [extra, re] of cases) {
      const res = await call('POST', '/v1/admin/campaigns', {
        advertiser_id: 'adv_demo_stride',
        name: 'x',
        pricing_model: 'cpm',
        bid_micros: 1,
        ...extra,
      });
      expect(res.statusCode, JSON.stringify(extra)).toBe(400);
      expect(res.json().error.message).toMatch(re);
    }
    const creative = await call('POST', '/v1/admin/creatives', {
      campaign_id: 'cmp_demo_stride_runners',
      name: 'both',
      format: 'banner',
      w: 300,
      h: 250,
      markup: '<b/>',
      url: 'https://x.example/a.png',
      landing_url: 'https://x.example',
    });
    expect(creative.statusCode).toBe(400);
    expect(creative.json().error.message).toMatch(/markup\/url/);
  });

  it('requires advertiser_id for campaigns created with the admin key', async () => {
    const res = await call('POST', '/v1/admin/campaigns', {
      name: 'x',
      pricing_model: 'cpm',
      bid_micros: 1,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/advertiser_id/);
  });

  it('serves an OpenAPI document listing the routes', async () => {
    const res = await rt.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/decisions',
        '/v1/admin/campaigns',
        '/v1/admin/campaigns/{id}',
        '/v1/events/click',
      ]),
    );
  });
});
