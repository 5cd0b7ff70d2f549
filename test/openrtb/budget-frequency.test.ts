/**
 * Budgets and frequency caps on the OpenRTB endpoint's internal demand (issues 4 + 6): our
 * campaigns bid in `POST /openrtb2/auction` only through the same budget and frequency steps as
 * `POST /v1/decisions`, and a win reserves its charge before the response leaves, so the
 * impression (`burl`) records the spend against the reserved lease. Real composition root
 * (in-memory PGlite, demo data, memory counters, fake clock), no DSPs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BidRequest, BidResponse } from '../../src/core/openrtb/types.js';
import { userKey } from '../../src/exchange/user-key.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const CAMPAIGN = 'cmp_demo_stride_runners'; // CPM 5 USD: wins the request below
const RUNNER_UP = 'cmp_demo_wander_clicks'; // CPC: eCPM 4 USD on the same request

async function patch(rt: TestRuntime, id: string, body: Record<string, unknown>): Promise<void> {
  const r = await rt.app.inject({
    method: 'PATCH',
    url: `/v1/admin/campaigns/${id}`,
    headers: { 'x-api-key': ADMIN_KEY },
    payload: body,
  });
  expect(r.statusCode).toBe(200);
}

let seq = 0;
function bidRequest(userId: string | null): BidRequest {
  return {
    id: `ortb-${++seq}`,
    // A generous tmax: the internal demand is cut at the auction deadline (real time).
    tmax: 1000,
    imp: [{ id: '1', tagid: 'plc_demo_banner', banner: { w: 300, h: 250 } }],
    site: { page: 'https://news.example/run', keywords: 'running' },
    device: { geo: { country: 'USA' }, devicetype: 2 },
    ...(userId === null ? {} : { user: { id: userId } }),
  };
}

/** The winning bid of a 200 answer, or null for a 204 no-bid. */
async function auction(rt: TestRuntime, userId: string | null) {
  const res = await rt.app.inject({
    method: 'POST',
    url: '/openrtb2/auction',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(bidRequest(userId)),
  });
  if (res.statusCode === 204) return null;
  expect(res.statusCode, res.body).toBe(200);
  const bid = (res.json() as BidResponse).seatbid?.[0]?.bid[0];
  expect(bid?.burl).toMatch(/^http:\/\/ads\.test\/v1\/events\/impression\?t=/);
  return bid ?? null;
}

async function fireImpression(rt: TestRuntime, burl: string | undefined): Promise<void> {
  const r = await rt.app.inject({ url: pathOf(burl ?? '') });
  expect(r.statusCode).toBe(200);
  expect((r.json() as { recorded: boolean }).recorded).toBe(true);
}

describe('OpenRTB internal demand: budgets', () => {
  const DAILY = 10_000; // micros; alone, the campaign clears at the placement floor: 500 each
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime();
    await patch(rt, CAMPAIGN, { daily_budget_micros: DAILY, pacing: 'asap' });
    await patch(rt, RUNNER_UP, { status: 'paused' });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('a tiny daily budget stops winning OpenRTB auctions once it is spent', async () => {
    let wins = 0;
    let noBid = false;
    // No user id: the campaign's frequency cap does not apply, only the budget does.
    for (let i = 0; i < 40 && !noBid; i++) {
      const bid = await auction(rt, null);
      if (bid === null) {
        noBid = true;
        continue;
      }
      expect(bid.cid).toBe(CAMPAIGN);
      wins++;
      await fireImpression(rt, bid.burl);
    }
    // 10 000 / 500 = 20 impressions at most; leases strand a little at each refill.
    expect(noBid).toBe(true);
    expect(wins).toBeGreaterThanOrEqual(10);
    expect(wins).toBeLessThanOrEqual(20);
    const spent = await rt.ledger.totals({ campaign_id: CAMPAIGN });
    expect(spent.spend_micros).toBe(wins * 500);
    expect(spent.spend_micros).toBeLessThanOrEqual(DAILY);
    // Still no bid afterwards; the decision API sees the same exhausted budget.
    expect(await auction(rt, null)).toBeNull();
    const { user: _user, ...request } = DEMO_REQUEST;
    const ex = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions?debug=1',
      payload: request,
      headers: { 'x-api-key': ADMIN_KEY },
    });
    const debug = ex.json() as { debug: { candidates: { campaign_id: string }[] } };
    expect(debug.debug.candidates).toContainEqual({
      campaign_id: CAMPAIGN,
      result: 'filtered',
      reason: 'budget_exhausted',
    });
  });

  it('the OpenRTB spend was recorded against the leases: counters and ledger agree', async () => {
    const rows = await rt.reconcileBudgets();
    const daily = rows.find((r) => r.campaignId === CAMPAIGN && r.period !== 'lifetime');
    expect(daily?.ledgerSpentMicros).toBeGreaterThan(0);
    expect(daily?.differenceMicros).toBe(0);
  });
});

describe('OpenRTB internal demand: frequency caps', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime();
    await patch(rt, CAMPAIGN, {
      frequency_cap: { max_impressions: 2, period_seconds: 86_400 },
      pacing: 'asap',
    });
    await patch(rt, RUNNER_UP, { pacing: 'asap' });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('a capped user is not served the capped campaign; other users still are', async () => {
    for (let i = 0; i < 2; i++) {
      const bid = await auction(rt, 'ortb-user-a');
      expect(bid?.cid).toBe(CAMPAIGN);
      await fireImpression(rt, bid?.burl);
    }
    // At the cap: the runner-up wins for this user, in the OpenRTB auction and in a decision.
    const capped = await auction(rt, 'ortb-user-a');
    expect(capped?.cid).toBe(RUNNER_UP);
    const decision = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: { ...DEMO_REQUEST, user: { id: 'ortb-user-a' } },
    });
    expect((decision.json() as { campaign_id: string }).campaign_id).toBe(RUNNER_UP);
    // Another user, and a request without a user id, are not capped.
    expect((await auction(rt, 'ortb-user-b'))?.cid).toBe(CAMPAIGN);
    expect((await auction(rt, null))?.cid).toBe(CAMPAIGN);
  });

  it('wins not yet shown do not count: the cap counts impressions, as in decisions', async () => {
    const bid = await auction(rt, 'ortb-user-c');
    expect(bid?.cid).toBe(CAMPAIGN);
    // Not fired: the next request of the same user still gets the campaign.
    expect((await auction(rt, 'ortb-user-c'))?.cid).toBe(CAMPAIGN);
  });
});

describe('OpenRTB internal demand: per-user engagement', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('our ad’s impression event carries the hashed user key (pu), none without a user id', async () => {
    const consumer = await rt.userData.eventLog.consumer('test-ortb-impressions', {
      types: ['impression'],
      deliver: 'new',
    });
    for (const user of ['ortb-engaged-user', null]) {
      const bid = await auction(rt, user);
      expect(bid?.cid).toBe(CAMPAIGN);
      await fireImpression(rt, bid?.burl);
    }
    const keys: (string | undefined)[] = [];
    for (let i = 0; i < 20 && keys.length < 2; i++) {
      for (const d of await consumer.fetch(10, 1_000)) {
        if (d.event.type === 'impression') keys.push(d.event.data.user_key);
        await d.ack();
      }
    }
    await consumer.close();
    expect(keys).toEqual([userKey('ortb-engaged-user'), undefined]);
  });
});
