/**
 * Hourly rollups kept by the ledger insert trigger (migration 004) and read by PgReportStore,
 * on PGlite and on PostgreSQL: two ledgers (two processes, in effect) write overlapping events
 * concurrently; every unique event is counted exactly once in its hour, and keyset paging
 * returns every row once, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDriver } from '../../src/adapters/postgres/driver.js';
import { createPgLedger } from '../../src/adapters/postgres/ledger.js';
import { createPgReportStore } from '../../src/adapters/postgres/report-store.js';
import type { LedgerEvent } from '../../src/ports/ledger.js';
import type { ReportPosition, ReportRow } from '../../src/ports/report-store.js';
import { freshPglite, freshPostgresSchema, type TestDb } from '../helpers/databases.js';
import { requireService } from '../helpers/services.js';

function events(): LedgerEvent[] {
  const out: LedgerEvent[] = [];
  for (let i = 0; i < 240; i++) {
    const click = i % 4 === 0;
    out.push({
      event_key: `${click ? 'click' : 'impression'}:r${i}`,
      kind: click ? 'click' : 'impression',
      decision_id: `r${i}`,
      advertiser_id: i % 2 === 0 ? 'adv_a' : 'adv_b',
      campaign_id: i % 2 === 0 ? 'cmp_a' : 'cmp_b',
      creative_id: `cre_${i % 3}`,
      placement_id: 'plc_1',
      spend_micros: click ? 0 : 1000 + i,
      // Three hours; minutes inside the hour vary.
      occurred_at: new Date(Date.UTC(2026, 5, 1, 10 + (i % 3), i % 60, 7)).toISOString(),
    });
  }
  return out;
}

function expected(evs: LedgerEvent[]): Map<string, { imp: number; clk: number; spend: number }> {
  const m = new Map<string, { imp: number; clk: number; spend: number }>();
  for (const e of evs) {
    const hour = `${e.occurred_at.slice(0, 13)}:00:00.000Z`;
    const k = `${hour}|${e.campaign_id}|${e.creative_id}|${e.placement_id}`;
    const v = m.get(k) ?? { imp: 0, clk: 0, spend: 0 };
    if (e.kind === 'impression') v.imp++;
    else v.clk++;
    v.spend += e.spend_micros;
    m.set(k, v);
  }
  return m;
}

function suite(name: string, open: () => Promise<TestDb>): void {
  describe(`hourly report rollups: ${name}`, () => {
    let db: TestDb;
    let driver: SqlDriver;
    beforeAll(async () => {
      db = await open();
      driver = db.driver;
    });
    afterAll(async () => {
      await db.close();
    });

    it('counts each unique ledger row once, whatever the duplicates and writers', async () => {
      const a = createPgLedger(driver);
      const b = createPgLedger(driver);
      const evs = events();
      // Every event through both ledgers concurrently, some twice more.
      await Promise.all([
        ...evs.map((e) => a.record(e)),
        ...evs.map((e) => b.record(e)),
        ...evs.slice(0, 50).map((e) => a.record(e)),
      ]);
      await a.close();
      await b.close();
      const store = createPgReportStore(driver);
      const rows: ReportRow[] = [];
      let after: ReportPosition | undefined;
      for (let page = 0; page < 100; page++) {
        const r = await store.hourly({
          from: '2026-06-01T00:00:00Z',
          to: '2026-06-02T00:00:00Z',
          limit: 5,
          ...(after !== undefined ? { after } : {}),
        });
        rows.push(...r.rows);
        if (r.next === null) break;
        after = r.next;
      }
      const want = expected(evs);
      expect(rows).toHaveLength(want.size);
      const keys = rows.map((r) => `${r.hour}|${r.campaign_id}|${r.creative_id}|${r.placement_id}`);
      expect(keys).toEqual([...keys].sort());
      expect(new Set(keys).size).toBe(keys.length);
      for (const r of rows) {
        const w = want.get(`${r.hour}|${r.campaign_id}|${r.creative_id}|${r.placement_id}`);
        expect([r.impressions, r.clicks, r.spend_micros]).toEqual([w?.imp, w?.clk, w?.spend]);
      }
      const filtered = await store.hourly({
        from: '2026-06-01T11:00:00Z',
        to: '2026-06-01T12:00:00Z',
        campaign_id: 'cmp_a',
        advertiser_id: 'adv_a',
        limit: 100,
      });
      expect(filtered.rows.length).toBeGreaterThan(0);
      expect(
        filtered.rows.every(
          (r) => r.hour === '2026-06-01T11:00:00.000Z' && r.campaign_id === 'cmp_a',
        ),
      ).toBe(true);
    });
  });
}

suite('PGlite', freshPglite);
const available = await requireService('postgres');
describe.skipIf(!available)('PostgreSQL', () => {
  suite('PostgreSQL', freshPostgresSchema);
});
