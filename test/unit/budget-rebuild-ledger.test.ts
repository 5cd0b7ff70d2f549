/**
 * The budget rebuild source on the ledger database (src/wiring/budget.ts, migration 010):
 * open leases are re-created with only their unspent part — the grant minus the ledger's spend
 * on that lease in the rebuild's range — so a rebuild after a Redis loss no longer holds the
 * spent part twice, nor the part a lease gave back early (a `shrink` row). Rows without lease
 * ids, and spend outside the range, subtract nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPgBudgetLedger,
  type PgBudgetLedger,
} from '../../src/adapters/postgres/budget-ledger.js';
import { createPgLedger, type PgLedger } from '../../src/adapters/postgres/ledger.js';
import { localDay } from '../../src/core/pacing/index.js';
import type { LedgerEvent } from '../../src/ports/ledger.js';
import { toLedgerRow } from '../../src/stream/ledger-events.js';
import { ledgerRebuildSource } from '../../src/wiring/budget.js';
import { freshPglite, type TestDb } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';

const NOON = Date.parse('2026-06-01T12:00:00Z');
const DAY = '2026-06-01';

describe('ledger rebuild source: open leases minus their spent part', () => {
  let db: TestDb;
  let ledger: PgLedger;
  let leases: PgBudgetLedger;
  beforeAll(async () => {
    db = await freshPglite();
    ledger = createPgLedger(db.driver);
    leases = createPgBudgetLedger(db.driver);
  });
  afterAll(async () => {
    await ledger.close();
    await db.close();
  });

  const row = (key: string, micros: number, atMs: number, leaseIds?: string[]): LedgerEvent => ({
    event_key: key,
    kind: 'impression',
    decision_id: key,
    advertiser_id: 'adv',
    campaign_id: 'cmp_r',
    creative_id: 'cr',
    placement_id: 'pl',
    spend_micros: micros,
    occurred_at: new Date(atMs).toISOString(),
    ...(leaseIds !== undefined ? { lease_ids: leaseIds } : {}),
  });
  const grant = (leaseId: string, micros: number, period = DAY) =>
    leases.recordLease({
      kind: 'grant',
      leaseId,
      campaignId: 'cmp_r',
      period,
      serverId: 's1',
      micros,
      expiresAtMs: NOON + 3_600_000,
      atMs: NOON - 60_000,
    });

  it('re-creates each open lease with grant − its spend in the range; others held whole', async () => {
    await grant('L1', 10_000);
    await grant('L2', 8_000);
    await grant('L3', 5_000);
    await grant('LT', 50_000, 'lifetime');
    await leases.recordLease({
      kind: 'return',
      leaseId: 'L3',
      campaignId: 'cmp_r',
      period: DAY,
      serverId: 's1',
      micros: 5_000,
      expiresAtMs: null,
      atMs: NOON - 30_000,
    });
    // L2 stopped serving and gave 2 000 unreserved micros back early.
    await leases.recordLease({
      kind: 'shrink',
      leaseId: 'L2',
      campaignId: 'cmp_r',
      period: DAY,
      serverId: 's1',
      micros: 2_000,
      expiresAtMs: null,
      atMs: NOON - 20_000,
    });
    await ledger.record(row('impression:a', 3_000, NOON - 10_000, ['L1', 'LT']));
    await ledger.record(row('impression:b', 2_000, NOON - 9_000, ['L1', 'LT']));
    // The day before (outside the daily range): not subtracted from L1's daily hold.
    await ledger.record(row('impression:c', 1_000, NOON - 86_400_000, ['L1', 'LT']));
    // No lease ids (written before migration 010): subtracts nothing.
    await ledger.record(row('impression:d', 4_000, NOON - 8_000));
    // Via the event stream: the optional lease_ids reach the row too.
    const mapped = toLedgerRow({
      id: 'impression:e',
      type: 'impression',
      v: 2,
      occurred_at: new Date(NOON - 7_000).toISOString(),
      data: {
        decision_id: 'e',
        advertiser_id: 'adv',
        campaign_id: 'cmp_r',
        creative_id: 'cr',
        placement_id: 'pl',
        spend_micros: 1_500,
        lease_ids: ['L2', 'LT'],
      },
    });
    if (!('row' in mapped)) throw new Error(`not mapped: ${mapped.skip}`);
    expect(mapped.row.lease_ids).toEqual(['L2', 'LT']);
    await ledger.record(mapped.row);

    const clock = new FakeClock(NOON);
    const source = ledgerRebuildSource(leases, clock);
    const daily = await source(
      { campaignId: 'cmp_r', period: DAY },
      100_000,
      localDay(NOON, 'UTC'),
    );
    expect(daily.spentMicros).toBe(3_000 + 2_000 + 4_000 + 1_500);
    const byId = Object.fromEntries((daily.openLeases ?? []).map((l) => [l.leaseId, l.micros]));
    expect(byId).toEqual({ L1: 10_000 - 5_000, L2: 8_000 - 2_000 - 1_500 });

    const life = await source({ campaignId: 'cmp_r', period: 'lifetime' }, 200_000, null);
    expect(life.spentMicros).toBe(3_000 + 2_000 + 1_000 + 4_000 + 1_500);
    expect(life.openLeases?.map((l) => [l.leaseId, l.micros])).toEqual([
      ['LT', 50_000 - 3_000 - 2_000 - 1_000 - 1_500],
    ]);
  });

  it('never re-creates a lease with less than 0 micros', async () => {
    await grant('L9', 1_000);
    await ledger.record(row('impression:z', 4_000, NOON - 5_000, ['L9']));
    const source = ledgerRebuildSource(leases, new FakeClock(NOON));
    const daily = await source(
      { campaignId: 'cmp_r', period: DAY },
      100_000,
      localDay(NOON, 'UTC'),
    );
    expect(daily.openLeases?.find((l) => l.leaseId === 'L9')?.micros).toBe(0);
  });
});
