/**
 * The Ledger contract: idempotency, group commit without loss, close() flushing, append-only.
 * See the guarantees in src/ports/ledger.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger, LedgerEvent } from '../../src/ports/ledger.js';

export interface LedgerHarness {
  ledger: Ledger;
  /** Opens a second ledger on the same database (another process, in effect). */
  another(): Ledger;
  /** Runs raw SQL against the ledger's database (to prove it refuses rewrites). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;
export function event(over: Partial<LedgerEvent> = {}): LedgerEvent {
  seq += 1;
  return {
    event_key: `impression:d${seq}-${Math.random().toString(36).slice(2)}`,
    kind: 'impression',
    decision_id: `d${seq}`,
    advertiser_id: 'adv_1',
    campaign_id: 'cmp_contract',
    creative_id: 'cre_1',
    placement_id: 'plc_1',
    spend_micros: 2500,
    occurred_at: '2026-06-01T12:00:00.000Z',
    ...over,
  };
}

export function ledgerContract(adapter: string, open: () => Promise<LedgerHarness>): void {
  describe(`Ledger contract: ${adapter}`, () => {
    let h: LedgerHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    it('records an event once: the same key again is not inserted', async () => {
      const e = event({ campaign_id: 'cmp_once' });
      expect(await h.ledger.record(e)).toEqual({ inserted: true });
      expect(await h.ledger.record(e)).toEqual({ inserted: false });
      expect(await h.ledger.totals({ campaign_id: 'cmp_once' })).toEqual({
        rows: 1,
        spend_micros: 2500,
      });
    });

    it('groups concurrent calls without losing or doubling any, duplicates in one batch included', async () => {
      const keys = Array.from({ length: 60 }, () =>
        event({ campaign_id: 'cmp_burst', spend_micros: 7 }),
      );
      const calls = [...keys, ...keys, ...keys].map((e) => h.ledger.record(e));
      const results = await Promise.all(calls);
      expect(results.filter((r) => r.inserted).length).toBe(60);
      expect(await h.ledger.totals({ campaign_id: 'cmp_burst' })).toEqual({
        rows: 60,
        spend_micros: 420,
      });
    });

    it('two writers on one database still keep one row per key', async () => {
      const other = h.another();
      const keys = Array.from({ length: 40 }, () => event({ campaign_id: 'cmp_two' }));
      const results = await Promise.all(keys.flatMap((e) => [h.ledger.record(e), other.record(e)]));
      expect(results.filter((r) => r.inserted).length).toBe(40);
      expect((await h.ledger.totals({ campaign_id: 'cmp_two' })).rows).toBe(40);
    });

    it('totals filter by kind', async () => {
      await h.ledger.record(
        event({ campaign_id: 'cmp_kinds', kind: 'click', spend_micros: 400_000 }),
      );
      await h.ledger.record(
        event({ campaign_id: 'cmp_kinds', kind: 'impression', spend_micros: 0 }),
      );
      expect(await h.ledger.totals({ campaign_id: 'cmp_kinds', kind: 'click' })).toEqual({
        rows: 1,
        spend_micros: 400_000,
      });
    });

    it('refuses to update or delete ledger rows', async () => {
      await h.ledger.record(event({ campaign_id: 'cmp_frozen' }));
      await expect(
        h.exec(`UPDATE ledger_events SET spend_micros = 0 WHERE campaign_id = 'cmp_frozen'`),
      ).rejects.toThrow(/append-only/);
      await expect(
        h.exec(`DELETE FROM ledger_events WHERE campaign_id = 'cmp_frozen'`),
      ).rejects.toThrow(/append-only/);
      expect((await h.ledger.totals({ campaign_id: 'cmp_frozen' })).rows).toBe(1);
    });

    it('close() waits for queued writes and then refuses new ones', async () => {
      const other = h.another();
      const pending = Array.from({ length: 100 }, () =>
        other.record(event({ campaign_id: 'cmp_close' })),
      );
      await other.close();
      const results = await Promise.all(pending);
      expect(results.every((r) => r.inserted)).toBe(true);
      expect((await h.ledger.totals({ campaign_id: 'cmp_close' })).rows).toBe(100);
      await expect(other.record(event())).rejects.toThrow(/closed/);
    });
  });
}
