/**
 * Budgets in the decision path (issue 6): a campaign with a tiny daily budget serves until the
 * budget is spent, then the decision is a no-fill with the budget reason; the ledger never
 * holds more than the budget; the reconciliation job finds counters and ledger equal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const CAMPAIGN = 'cmp_demo_stride_runners'; // wins the demo request (CPM, bid 5 USD)
const OTHER = 'cmp_demo_wander_clicks'; // the runner-up, paused here
const DAILY = 10_000; // micros: with the runner-up paused the price is the floor (500 each)
// No user id: the campaign's frequency cap (5 a day) does not apply, only the budget does.
const { user: _user, ...REQUEST } = DEMO_REQUEST;

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
  for (const [id, patch] of [
    [CAMPAIGN, { daily_budget_micros: DAILY, pacing: 'asap' }], // no pacing throttle
    [OTHER, { status: 'paused' }],
  ] as const) {
    const r = await rt.app.inject({
      method: 'PATCH',
      url: `/v1/admin/campaigns/${id}`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: patch,
    });
    expect(r.statusCode).toBe(200);
  }
});
afterAll(async () => {
  await rt?.close();
});

describe('budget enforcement', () => {
  it('a tiny daily budget stops serving (no-fill budget_exhausted) once it is spent', async () => {
    const fills: { campaign_id: string; tracking: { impression_url: string } }[] = [];
    let noFill: { status: number; reason: string | undefined; body: string } | null = null;
    for (let i = 0; i < 40 && noFill === null; i++) {
      const res = await rt.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        payload: REQUEST,
      });
      if (res.statusCode === 200) {
        const fill = res.json() as (typeof fills)[number];
        fills.push(fill);
        const imp = await rt.app.inject({ url: pathOf(fill.tracking.impression_url) });
        expect(imp.statusCode).toBe(200);
      } else {
        noFill = {
          status: res.statusCode,
          reason: res.headers['x-adstack-no-fill'] as string | undefined,
          body: res.body,
        };
      }
    }
    // 10 000 / 500 = 20 impressions at most; leases of 5 000 strand a little at each refill.
    expect(fills.length).toBeGreaterThanOrEqual(10);
    expect(fills.length).toBeLessThanOrEqual(20);
    expect(fills.every((f) => f.campaign_id === CAMPAIGN)).toBe(true);
    expect(noFill?.status).toBe(204);
    expect(noFill?.reason).toBe('budget_exhausted');
    const spent = await rt.ledger.totals({ campaign_id: CAMPAIGN });
    expect(spent.spend_micros).toBeGreaterThan(0);
    expect(spent.spend_micros).toBeLessThanOrEqual(DAILY);

    const ex = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions?debug=1',
      payload: REQUEST,
      headers: { 'x-api-key': ADMIN_KEY },
    });
    const debug = ex.json() as {
      no_fill: string;
      debug: { candidates: { campaign_id: string; result: string; reason?: string }[] };
    };
    expect(debug.no_fill).toBe('budget_exhausted');
    expect(debug.debug.candidates).toContainEqual({
      campaign_id: CAMPAIGN,
      result: 'filtered',
      reason: 'budget_exhausted',
    });
  });

  it('reconciliation: the counters and the ledger agree on the spend', async () => {
    const rows = await rt.reconcileBudgets();
    const daily = rows.find((r) => r.campaignId === CAMPAIGN && r.period !== 'lifetime');
    expect(daily?.ledgerSpentMicros).toBeGreaterThan(0);
    expect(daily?.differenceMicros).toBe(0);
    const metrics = await rt.app.inject({ url: '/metrics' });
    expect(metrics.body).toContain(
      `adstack_budget_ledger_difference_micros{campaign_id="${CAMPAIGN}",period="${daily?.period}"} 0`,
    );
  });
});
