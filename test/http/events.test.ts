import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt.close();
});

async function decision(body: object = DEMO_REQUEST) {
  const res = await rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: body });
  expect(res.statusCode).toBe(200);
  return res.json() as {
    decision_id: string;
    campaign_id: string;
    tracking: { impression_url: string; click_url: string };
    price: { model: string; price_micros: number };
  };
}

describe('tracking events', () => {
  it('an impression adds exactly one ledger row, however often its URL is opened', async () => {
    const d = await decision();
    const before = await rt.ledger.totals({});
    const first = await rt.app.inject({ url: pathOf(d.tracking.impression_url) });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ recorded: true, decision_id: d.decision_id });
    const again = await rt.app.inject({ url: pathOf(d.tracking.impression_url) });
    expect(again.statusCode).toBe(200);
    expect(again.json().recorded).toBe(false);
    const after = await rt.ledger.totals({});
    expect(after.rows - before.rows).toBe(1);
    // CPM $4.00 second price → 4_000_000 / 1000 = 4_000 micros for this impression.
    expect(after.spend_micros - before.spend_micros).toBe(4_000);
  });

  it('concurrent opens of one impression URL still add one row', async () => {
    const d = await decision();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => rt.app.inject({ url: pathOf(d.tracking.impression_url) })),
    );
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    expect(results.filter((r) => r.json().recorded === true).length).toBe(1);
  });

  it('a click redirects to the landing URL and records once; CPC clicks carry the click price', async () => {
    const d = await decision({ ...DEMO_REQUEST, keywords: ['cooking'] }); // CPC campaign wins
    expect(d.campaign_id).toBe('cmp_demo_wander_clicks');
    const before = await rt.ledger.totals({ campaign_id: d.campaign_id, kind: 'click' });
    const res = await rt.app.inject({ url: pathOf(d.tracking.click_url) });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://wander.example/lisbon');
    await rt.app.inject({ url: pathOf(d.tracking.click_url) });
    const after = await rt.ledger.totals({ campaign_id: d.campaign_id, kind: 'click' });
    expect(after.rows - before.rows).toBe(1);
    expect(after.spend_micros - before.spend_micros).toBe(50_000);
  });

  it('a tampered token is 400 ADS_ERR_TOKEN_INVALID and records nothing', async () => {
    const d = await decision();
    const before = await rt.ledger.totals({});
    const url = new URL(d.tracking.impression_url);
    const [body, sig] = (url.searchParams.get('t') ?? '').split('.');
    const claims = JSON.parse(Buffer.from(body ?? '', 'base64url').toString());
    claims.pr = 1; // cheaper impression, same signature
    const forged = `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
    for (const t of [forged, `${body}.AAAA`, 'garbage', `${body}`, `${body}.${sig}.x`]) {
      const res = await rt.app.inject({ url: `/v1/events/impression?t=${encodeURIComponent(t)}` });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('ADS_ERR_TOKEN_INVALID');
    }
    expect(await rt.ledger.totals({})).toEqual(before);
  });

  it('an impression token does not work as a click token', async () => {
    const d = await decision();
    const t = new URL(d.tracking.impression_url).searchParams.get('t') ?? '';
    const res = await rt.app.inject({ url: `/v1/events/click?t=${t}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('ADS_ERR_TOKEN_INVALID');
  });

  it('an expired token is 410 ADS_ERR_TOKEN_EXPIRED and records nothing', async () => {
    const d = await decision();
    const before = await rt.ledger.totals({});
    rt.clock.advance(86_400_000 + 1);
    const res = await rt.app.inject({ url: pathOf(d.tracking.impression_url) });
    expect(res.statusCode).toBe(410);
    expect(res.json().error.code).toBe('ADS_ERR_TOKEN_EXPIRED');
    expect(await rt.ledger.totals({})).toEqual(before);
  });

  it('a missing token is 400 ADS_ERR_VALIDATION', async () => {
    const res = await rt.app.inject({ url: '/v1/events/impression' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('ADS_ERR_VALIDATION');
  });

  it('a CPA conversion goes through the event log and is charged once in the ledger, even sent twice', async () => {
    // Pacing 'asap' so the $12 CPA bid is not throttled by the demo's even pacing at start.
    const paced = await rt.app.inject({
      method: 'PATCH',
      url: '/v1/admin/campaigns/cmp_demo_stride_signups',
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { pacing: 'asap', daily_budget_micros: 1_000_000_000 },
    });
    expect(paced.statusCode).toBe(200);
    const d = await decision({ ...DEMO_REQUEST, placement_id: 'plc_demo_native' });
    expect(d.campaign_id).toBe('cmp_demo_stride_signups');
    expect(d.price.model).toBe('cpa');
    const charge = d.price.price_micros; // the cleared price per action
    expect(charge).toBeGreaterThan(0);
    const consumer = await rt.userData.eventLog.consumer('test-conversions', {
      types: ['conversion'],
      deliver: 'new',
    });
    const before = await rt.ledger.totals({ campaign_id: d.campaign_id, kind: 'conversion' });
    const t = encodeURIComponent(new URL(d.tracking.click_url).searchParams.get('t') ?? '');
    const first = await rt.app.inject({ url: `/v1/events/conversion?t=${t}&cid=order-1` });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ recorded: true, decision_id: d.decision_id });
    // The same postback again, and one with another conversion id: nothing more is charged.
    for (const cid of ['order-1', 'order-2']) {
      const again = await rt.app.inject({ url: `/v1/events/conversion?t=${t}&cid=${cid}` });
      expect(again.statusCode).toBe(200);
      expect(again.json().recorded).toBe(false);
    }
    const after = await rt.ledger.totals({ campaign_id: d.campaign_id, kind: 'conversion' });
    expect(after.rows - before.rows).toBe(1);
    expect(after.spend_micros - before.spend_micros).toBe(charge);
    const got = await consumer.fetch(10, 2_000);
    expect(got.map((g) => g.event.id)).toEqual([`conversion:${d.decision_id}`]);
    expect(got[0]?.event).toMatchObject({
      type: 'conversion',
      v: 1,
      data: { campaign_id: d.campaign_id, spend_micros: charge, conversion_id: 'order-1' },
    });
    await Promise.all(got.map((g) => g.ack()));
    await consumer.close();
  });

  it('a conversion needs the click token and a conversion id', async () => {
    const d = await decision();
    const imp = encodeURIComponent(new URL(d.tracking.impression_url).searchParams.get('t') ?? '');
    const wrongKind = await rt.app.inject({ url: `/v1/events/conversion?t=${imp}&cid=x` });
    expect(wrongKind.statusCode).toBe(400);
    expect(wrongKind.json().error.code).toBe('ADS_ERR_TOKEN_INVALID');
    const clk = encodeURIComponent(new URL(d.tracking.click_url).searchParams.get('t') ?? '');
    const noId = await rt.app.inject({ url: `/v1/events/conversion?t=${clk}` });
    expect(noId.statusCode).toBe(400);
    expect(noId.json().error.code).toBe('ADS_ERR_VALIDATION');
  });
});
