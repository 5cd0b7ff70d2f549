import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt.close();
});

const decide = (body: unknown) =>
  rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: body as object });
const admin = (method: 'POST' | 'PATCH', url: string, payload: object) =>
  rt.app.inject({ method, url, payload, headers: { 'x-api-key': ADMIN_KEY } });

describe('POST /v1/decisions', () => {
  it("returns the demo creative for the README's example, with signed tracking URLs", async () => {
    const res = await decide(DEMO_REQUEST);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      placement_id: 'plc_demo_banner',
      campaign_id: 'cmp_demo_stride_runners',
      creative_id: 'cre_demo_stride_mpu',
      format: 'banner',
      w: 300,
      h: 250,
    });
    expect(body.markup).toContain('Stride');
    expect(body.tracking.impression_url).toMatch(
      /^http:\/\/ads\.test\/v1\/events\/impression\?t=[\w-]+\.[\w-]+$/,
    );
    expect(body.tracking.click_url).toMatch(/^http:\/\/ads\.test\/v1\/events\/click\?t=/);
  });

  it("charges the second price: the runner-up eCPM, in the winner's own unit", async () => {
    // Stride CPM $5.00 vs Wander CPC $0.40 × prior CTR 0.01 × 1000 = $4.00 eCPM.
    const body = (await decide(DEMO_REQUEST)).json();
    expect(body.price).toEqual({
      model: 'cpm',
      price_micros: 4_000_000,
      clearing_cpm_micros: 4_000_000,
    });
  });

  it('a lone bidder pays the placement floor, converted into its CPC unit', async () => {
    // No running keyword: Stride is filtered by interest; Wander (CPC) clears at the
    // $0.50 floor: 500_000 / (0.01 × 1000) = 50_000 micros per click.
    const res = await decide({ ...DEMO_REQUEST, keywords: ['cooking'] });
    expect(res.statusCode).toBe(200);
    expect(res.json().campaign_id).toBe('cmp_demo_wander_clicks');
    expect(res.json().price).toEqual({
      model: 'cpc',
      price_micros: 50_000,
      clearing_cpm_micros: 500_000,
    });
  });

  it('targets by country: a GB user still gets Stride, an FR user does not', async () => {
    expect((await decide({ ...DEMO_REQUEST, geo: { country: 'GB' } })).json().campaign_id).toBe(
      'cmp_demo_stride_runners',
    );
    expect((await decide({ ...DEMO_REQUEST, geo: { country: 'FR' } })).json().campaign_id).toBe(
      'cmp_demo_wander_clicks',
    );
  });

  it('answers 404 ADS_ERR_PLACEMENT_NOT_FOUND for an unknown placement', async () => {
    const res = await decide({ placement_id: 'plc_nowhere' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('ADS_ERR_PLACEMENT_NOT_FOUND');
  });

  it('answers 204 with a closed-enum reason when no creative fits the placement', async () => {
    const pl = await admin('POST', '/v1/admin/placements', {
      publisher: 'p.example',
      name: 'Skyscraper',
      format: 'banner',
      w: 160,
      h: 600,
    });
    expect(pl.statusCode).toBe(201);
    const res = await decide({ placement_id: pl.json().id });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['x-adstack-no-fill']).toBe('no_eligible_campaign');
  });

  it('answers 204 all_below_floor when every candidate is under the floor', async () => {
    const pl = await admin('POST', '/v1/admin/placements', {
      publisher: 'p.example',
      name: 'Premium MPU',
      format: 'banner',
      w: 300,
      h: 250,
      floor_cpm_micros: 100_000_000,
    });
    const res = await decide({ ...DEMO_REQUEST, placement_id: pl.json().id });
    expect(res.statusCode).toBe(204);
    expect(res.headers['x-adstack-no-fill']).toBe('all_below_floor');
  });

  it('honours dayparts in the campaign time zone, reading the injected clock', async () => {
    const adv = (await admin('POST', '/v1/admin/advertisers', { name: 'Night owl' })).json();
    const pl = (
      await admin('POST', '/v1/admin/placements', {
        publisher: 'p',
        name: 'Leader',
        format: 'banner',
        w: 970,
        h: 250,
      })
    ).json();
    const cmp = (
      await admin('POST', '/v1/admin/campaigns', {
        advertiser_id: adv.id,
        name: 'Evenings in Tokyo',
        pricing_model: 'cpm',
        bid_micros: 1_000_000,
        time_zone: 'Asia/Tokyo',
        targeting: {
          placement_ids: [pl.id],
          dayparts: [{ days: [0, 1, 2, 3, 4, 5, 6], start_hour: 18, end_hour: 23 }],
        },
      })
    ).json();
    await admin('POST', '/v1/admin/creatives', {
      campaign_id: cmp.id,
      name: 'b',
      format: 'banner',
      w: 970,
      h: 250,
      url: 'https://cdn.example/b.png',
      landing_url: 'https://owl.example',
    });
    rt.clock.set('2026-06-01T10:00:00Z'); // 19:00 in Tokyo
    const inside = await decide({ placement_id: pl.id });
    expect(inside.statusCode).toBe(200);
    expect(inside.json().campaign_id).toBe(cmp.id);
    rt.clock.set('2026-06-01T03:00:00Z'); // 12:00 in Tokyo
    const outside = await decide({ placement_id: pl.id });
    expect(outside.statusCode).toBe(204);
  });

  it('serves an advertiser-made creative only after the admin approves it', async () => {
    rt.clock.set('2026-06-01T12:00:00Z');
    const pl = (
      await admin('POST', '/v1/admin/placements', {
        publisher: 'p',
        name: 'Half page',
        format: 'banner',
        w: 300,
        h: 600,
      })
    ).json();
    const create = await rt.app.inject({
      method: 'POST',
      url: '/v1/admin/creatives',
      headers: { 'x-api-key': 'demo-advertiser-key-stride' },
      payload: {
        campaign_id: 'cmp_demo_stride_runners',
        name: 'Half page',
        format: 'banner',
        w: 300,
        h: 600,
        url: 'https://cdn.stride.example/hp.png',
        landing_url: 'https://stride.example',
      },
    });
    expect(create.statusCode).toBe(201);
    expect(create.json().approval).toBe('pending');
    expect((await decide({ ...DEMO_REQUEST, placement_id: pl.id })).statusCode).toBe(204);
    const approve = await admin('POST', `/v1/admin/creatives/${create.json().id}/approval`, {
      approval: 'approved',
    });
    expect(approve.statusCode).toBe(200);
    const served = await decide({ ...DEMO_REQUEST, placement_id: pl.id });
    expect(served.statusCode).toBe(200);
    expect(served.json().creative_id).toBe(create.json().id);
  });

  it('a paused campaign stops serving at once in this process', async () => {
    const r = await admin('PATCH', '/v1/admin/campaigns/cmp_demo_stride_runners', {
      status: 'paused',
    });
    expect(r.statusCode).toBe(200);
    expect((await decide(DEMO_REQUEST)).json().campaign_id).toBe('cmp_demo_wander_clicks');
    await admin('PATCH', '/v1/admin/campaigns/cmp_demo_stride_runners', { status: 'active' });
  });
});
