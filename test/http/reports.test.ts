/**
 * Hourly reports end to end: impressions and clicks through the HTTP events API (in-process
 * log → ledger writer → PGlite, whose ledger insert trigger keeps `report_hourly`), then
 * `GET /v1/reports`: counts, spend, CTR, eCPM per hour, duplicates counted once, paging with a
 * cursor, tenancy, and 4xx for bad parameters.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReportRow } from '../../src/ports/report-store.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const CAMPAIGN = 'cmp_demo_stride_runners'; // CPM; wins the demo request
const HOUR = 3_600_000;
const RANGE = 'from=2026-06-01&to=2026-06-02';

interface Fill {
  campaign_id: string;
  tracking: { impression_url: string; click_url: string };
}

describe('GET /v1/reports', () => {
  let rt: TestRuntime;
  const admin = { 'x-api-key': ADMIN_KEY };
  const report = (query: string, headers: Record<string, string> = admin) =>
    rt.app.inject({ url: `/v1/reports?${query}`, headers });

  const serve = async (impressions: number, clicks: number): Promise<void> => {
    for (let i = 0; i < impressions; i++) {
      const res = await rt.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        payload: DEMO_REQUEST,
      });
      expect(res.statusCode).toBe(200);
      const fill = res.json() as Fill;
      expect(fill.campaign_id).toBe(CAMPAIGN);
      const imp = await rt.app.inject({ url: pathOf(fill.tracking.impression_url) });
      expect(imp.statusCode).toBe(200);
      if (i === 0) {
        // Opened twice: one ledger row, counted once in the report.
        expect(
          (await rt.app.inject({ url: pathOf(fill.tracking.impression_url) })).json(),
        ).toMatchObject({
          recorded: false,
        });
      }
      if (i < clicks) {
        const clk = await rt.app.inject({ url: pathOf(fill.tracking.click_url) });
        expect(clk.statusCode).toBe(302);
        await rt.app.inject({ url: pathOf(fill.tracking.click_url) }); // a repeated click
      }
    }
  };

  beforeAll(async () => {
    rt = await startTestRuntime();
    await serve(3, 1); // 2026-06-01T12:00Z hour
    rt.clock.advance(HOUR);
    await serve(2, 2); // 13:00Z hour
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('reports impressions, clicks, spend, CTR and eCPM per hour from the events', async () => {
    const res = await report(`${RANGE}&campaign_id=${CAMPAIGN}`);
    expect(res.statusCode).toBe(200);
    const { rows, next_cursor } = res.json() as { rows: ReportRow[]; next_cursor: string | null };
    expect(next_cursor).toBeNull();
    expect(rows.map((r) => [r.hour, r.impressions, r.clicks])).toEqual([
      ['2026-06-01T12:00:00.000Z', 3, 1],
      ['2026-06-01T13:00:00.000Z', 2, 2],
    ]);
    for (const r of rows) {
      expect(r).toMatchObject({
        advertiser_id: 'adv_demo_stride',
        campaign_id: CAMPAIGN,
        placement_id: DEMO_REQUEST.placement_id,
      });
      expect(r.ctr).toBeCloseTo(r.clicks / r.impressions, 12);
      expect(r.spend_micros).toBeGreaterThan(0);
      expect(r.ecpm_micros).toBe(Math.floor((r.spend_micros * 1000) / r.impressions + 0.5));
    }
    // Spend matches the ledger exactly (CPM: impressions pay, clicks pay 0).
    const totals = await rt.ledger.totals({ campaign_id: CAMPAIGN });
    expect(rows.reduce((s, r) => s + r.spend_micros, 0)).toBe(totals.spend_micros);
    expect(rows.reduce((s, r) => s + r.impressions + r.clicks, 0)).toBe(totals.rows);
  });

  it('the windowed aggregates consumer wrote per-ad CTR and advertiser spend pace', async () => {
    const totals = await rt.ledger.totals({ campaign_id: CAMPAIGN });
    const { rows } = (await report(`${RANGE}&campaign_id=${CAMPAIGN}`)).json() as {
      rows: ReportRow[];
    };
    const creative = rows[1]?.creative_id ?? '';
    // The consumer runs in the background: wait until it has seen the last events. At 13:00
    // the last hour, (12:00, 13:00], holds only the 13:00 events; the day holds all of them.
    await vi.waitFor(
      async () => {
        expect(await rt.userData.features.get('ad', creative)).toEqual({
          impressions_1h: 2,
          clicks_1h: 2,
          ctr_1h: 1,
        });
        expect(await rt.userData.features.get('advertiser', 'adv_demo_stride')).toEqual({
          spend_1h_micros: rows[1]?.spend_micros,
          spend_today_micros: totals.spend_micros,
        });
      },
      { timeout: 20_000, interval: 50 },
    );
  });

  it('pages with a cursor and filters by date range', async () => {
    const first = (await report(`${RANGE}&campaign_id=${CAMPAIGN}&limit=1`)).json();
    expect(first.rows).toHaveLength(1);
    expect(first.rows[0].hour).toBe('2026-06-01T12:00:00.000Z');
    expect(typeof first.next_cursor).toBe('string');
    const second = (
      await report(`${RANGE}&campaign_id=${CAMPAIGN}&limit=1&cursor=${first.next_cursor}`)
    ).json();
    expect(second.rows.map((r: ReportRow) => r.hour)).toEqual(['2026-06-01T13:00:00.000Z']);
    expect(second.next_cursor).toBeNull();
    const onlyLater = (
      await report(`from=2026-06-01T13:00:00Z&to=2026-06-01T14:00:00Z&campaign_id=${CAMPAIGN}`)
    ).json();
    expect(onlyLater.rows.map((r: ReportRow) => r.impressions)).toEqual([2]);
    expect((await report('from=2026-06-02&to=2026-06-03')).json().rows).toEqual([]);
  });

  it('an advertiser key sees only its own rows', async () => {
    const adv = (
      await rt.app.inject({
        method: 'POST',
        url: '/v1/admin/advertisers',
        headers: admin,
        payload: { name: 'reports-test advertiser' },
      })
    ).json() as { api_key: string };
    const key = { 'x-api-key': adv.api_key };
    const own = await report(`${RANGE}&campaign_id=${CAMPAIGN}`, key);
    expect(own.statusCode).toBe(200);
    expect(own.json().rows).toEqual([]);
    const other = await report(`${RANGE}&advertiser_id=adv_demo_stride`, key);
    expect([other.statusCode, other.json().error.code]).toEqual([403, 'ADS_ERR_FORBIDDEN']);
    const admins = await report(`${RANGE}&advertiser_id=adv_demo_stride`);
    expect(admins.json().rows).toHaveLength(2);
  });

  it('answers 4xx with stable codes for bad parameters', async () => {
    const cases: [string, number, string][] = [
      ['to=2026-06-02', 400, 'ADS_ERR_VALIDATION'],
      ['from=2026-06-02&to=2026-06-01', 400, 'ADS_ERR_VALIDATION'],
      ['from=yesterday&to=2026-06-01', 400, 'ADS_ERR_VALIDATION'],
      ['from=2026-13-45&to=2026-14-01', 400, 'ADS_ERR_VALIDATION'],
      ['from=2026-01-01&to=2026-06-01', 400, 'ADS_ERR_VALIDATION'],
      [`${RANGE}&limit=0`, 400, 'ADS_ERR_VALIDATION'],
      [`${RANGE}&limit=1001`, 400, 'ADS_ERR_VALIDATION'],
      [`${RANGE}&limit=ten`, 400, 'ADS_ERR_VALIDATION'],
      [`${RANGE}&sort=spend`, 400, 'ADS_ERR_VALIDATION'],
      [`${RANGE}&cursor=not-a-cursor`, 400, 'ADS_ERR_CURSOR_INVALID'],
      [
        `${RANGE}&cursor=${Buffer.from('["x","a","b","c"]').toString('base64url')}`,
        400,
        'ADS_ERR_CURSOR_INVALID',
      ],
    ];
    for (const [q, status, code] of cases) {
      const res = await report(q);
      expect([q, res.statusCode, res.json().error?.code]).toEqual([q, status, code]);
    }
    const anon = await rt.app.inject({ url: `/v1/reports?${RANGE}` });
    expect([anon.statusCode, anon.json().error.code]).toEqual([401, 'ADS_ERR_UNAUTHENTICATED']);
  });
});
