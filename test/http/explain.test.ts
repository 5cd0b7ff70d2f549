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

const debug = (payload: object, key: string | null = ADMIN_KEY) =>
  rt.app.inject({
    method: 'POST',
    url: '/v1/decisions?debug=1',
    payload,
    headers: key === null ? {} : { 'x-api-key': key },
  });

describe('explain a decision (?debug=1)', () => {
  it('lists every campaign with why it won, lost or was filtered, and the stage timings', async () => {
    const res = await debug(DEMO_REQUEST);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.campaign_id).toBe('cmp_demo_stride_runners');
    const byCampaign = Object.fromEntries(
      (body.debug.candidates as { campaign_id: string }[]).map((c) => [c.campaign_id, c]),
    );
    expect(byCampaign.cmp_demo_stride_runners).toMatchObject({
      result: 'won',
      ecpm_micros: 5_000_000,
      clearing_cpm_micros: 4_000_000,
      price_micros: 4_000_000,
    });
    expect(byCampaign.cmp_demo_wander_clicks).toMatchObject({
      result: 'lost',
      reason: 102,
      reason_name: 'lost_to_higher_bid',
      ecpm_micros: 4_000_000,
    });
    // The video and native campaigns have no creative that fits a 300×250 banner.
    expect(byCampaign.cmp_demo_wander_video).toEqual({
      campaign_id: 'cmp_demo_wander_video',
      result: 'filtered',
      reason: 'no_matching_creative',
    });
    expect(Object.keys(byCampaign).sort()).toEqual([
      'cmp_demo_stride_runners',
      'cmp_demo_stride_signups',
      'cmp_demo_wander_clicks',
      'cmp_demo_wander_video',
    ]);
    expect(Object.keys(body.debug.stage_ms)).toEqual([
      'placement',
      'candidates',
      'predict',
      'auction',
      'render',
    ]);
    expect(body.debug.floor_cpm_micros).toBe(500_000);
    expect(body.debug.prediction).toEqual({ ctr: 0.01, cvr: 0.05, source: 'constant_prior' });
  });

  it('explains a no-fill with 200 and the targeting reason of each campaign', async () => {
    const res = await debug({
      ...DEMO_REQUEST,
      placement_id: 'plc_demo_video',
      device: { type: 'fridge' },
    });
    expect(res.statusCode).toBe(400); // bad input is still bad input
    const nf = await debug({
      placement_id: 'plc_demo_video',
      geo: { country: 'FR' },
      device: { type: 'other' },
    });
    expect(nf.statusCode).toBe(200);
    expect(nf.json().no_fill).toBe('no_eligible_campaign');
    const video = nf
      .json()
      .debug.candidates.find(
        (c: { campaign_id: string }) => c.campaign_id === 'cmp_demo_wander_video',
      );
    expect(video).toEqual({
      campaign_id: 'cmp_demo_wander_video',
      result: 'filtered',
      reason: 'device_not_targeted',
    });
  });

  it('needs the admin key: none → 401, an advertiser key → 403', async () => {
    expect((await debug(DEMO_REQUEST, null)).statusCode).toBe(401);
    const adv = await debug(DEMO_REQUEST, 'demo-advertiser-key-stride');
    expect(adv.statusCode).toBe(403);
    expect(adv.json().error.code).toBe('ADS_ERR_FORBIDDEN');
  });

  it('leaves the normal path unchanged: no debug field without ?debug=1', async () => {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: DEMO_REQUEST,
    });
    expect(res.json().debug).toBeUndefined();
  });
});
