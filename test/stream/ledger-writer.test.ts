/**
 * LedgerWriter on the in-process log and an in-memory PGlite ledger: exactly-once rows under
 * redelivery, database failures and replays; skips by reason; commit waiters; batching.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryEventLog, type MemoryEventLog } from '../../src/adapters/memory/event-log.js';
import type { SqlDriver } from '../../src/adapters/postgres/driver.js';
import { PgLedger } from '../../src/adapters/postgres/ledger.js';
import { EVENT_SCHEMA_VERSIONS, type AnyEvent } from '../../src/ports/event-log.js';
import { toLedgerRow } from '../../src/stream/ledger-events.js';
import { CommitTimeoutError, LedgerWriter } from '../../src/stream/ledger-writer.js';
import { click, impression } from '../contract/event-log.contract.js';
import { freshPglite, type TestDb } from '../helpers/databases.js';
import { FlakyLedger } from './flaky-ledger.js';

/** Counts INSERT statements, to see the batching. */
function countingDriver(inner: SqlDriver): SqlDriver & { inserts: number } {
  const d = {
    kind: inner.kind,
    inserts: 0,
    query<R>(text: string, params?: unknown[]) {
      if (text.trimStart().startsWith('INSERT')) d.inserts++;
      return inner.query<R>(text, params);
    },
    exec: (sql: string) => inner.exec(sql),
    close: () => inner.close(),
  };
  return d;
}

let db: TestDb;
let driver: SqlDriver & { inserts: number };
let ledger: PgLedger;
let log: MemoryEventLog;
let writer: LedgerWriter | null = null;

beforeEach(async () => {
  db = await freshPglite();
  driver = countingDriver(db.driver);
  ledger = new PgLedger(driver);
  log = createMemoryEventLog();
});
afterEach(async () => {
  await writer?.stop();
  writer = null;
  await ledger.close();
  await log.close();
  await db.close();
});

function start(over: Partial<ConstructorParameters<typeof LedgerWriter>[0]> = {}): LedgerWriter {
  writer = new LedgerWriter({ log, ledger, backoffMs: 20, maxBackoffMs: 100, ...over });
  void writer.start();
  return writer;
}

describe('LedgerWriter', () => {
  it('writes each impression and click once and skips other events by reason', async () => {
    const events = [impression(), impression(), click()];
    const other: AnyEvent = {
      id: 'decision:d1',
      type: 'decision',
      v: EVENT_SCHEMA_VERSIONS.decision,
      occurred_at: '2026-06-01T12:00:00.000Z',
      data: {
        decision_id: 'd1',
        placement_id: 'plc_1',
        outcome: 'no_fill',
        reason: 'no_eligible_campaign',
      },
    };
    const bad = impression({ spend_micros: -5 });
    const future = { ...impression(), v: 99 } as AnyEvent;
    for (const e of [...events, other, bad, future]) await log.append(e);
    const w = start();
    await expect
      .poll(() => ledger.totals({}), { timeout: 5_000 })
      .toEqual({ rows: 3, spend_micros: 58_000 });
    // The future-version event is left for a newer writer (nak'ed, not acked): lag stays 1.
    await expect(w.waitForCatchUp(500)).rejects.toThrow(/behind/);
    const st = w.stats();
    expect(st.inserted).toBe(3);
    // The decision is filtered out by the consumer's type filter before it reaches the writer.
    expect(st.skipped).toMatchObject({ invalid_payload: 1, unsupported_version: 1 });
  });

  it('a replay of the whole log (new consumer) adds no row: duplicates only', async () => {
    const events = Array.from({ length: 50 }, () => impression({ spend_micros: 10 }));
    for (const e of events) await log.append(e);
    const w1 = start();
    await w1.waitForCatchUp(5_000);
    await w1.stop();
    const w2 = start({ consumerName: 'ledger-writer-replay' });
    await w2.waitForCatchUp(5_000);
    expect(w2.stats()).toMatchObject({ inserted: 0, duplicates: 50 });
    expect(await ledger.totals({})).toEqual({ rows: 50, spend_micros: 500 });
  });

  it('a commit whose ack is lost is redelivered and charged once', async () => {
    const flaky = new FlakyLedger(ledger);
    flaky.commitThenFail = 5;
    for (let i = 0; i < 5; i++) await log.append(impression({ spend_micros: 100 }));
    const w = start({ ledger: flaky });
    await w.waitForCatchUp(5_000);
    const st = w.stats();
    expect(st.writeFailures).toBe(5);
    expect(st.redelivered).toBe(5);
    expect(st.duplicates).toBe(5);
    expect(await ledger.totals({})).toEqual({ rows: 5, spend_micros: 500 });
  });

  it('a database outage becomes lag, not loss: everything lands once when it returns', async () => {
    const flaky = new FlakyLedger(ledger);
    flaky.down = true;
    const w = start({ ledger: flaky });
    const sent = Array.from({ length: 200 }, () => impression({ spend_micros: 3 }));
    await Promise.all(sent.map((e) => log.append(e)));
    await expect.poll(() => w.stats().writeFailures, { timeout: 5_000 }).toBeGreaterThan(0);
    expect((await ledger.totals({})).rows).toBe(0);
    flaky.down = false;
    await w.waitForCatchUp(10_000);
    expect(await ledger.totals({})).toEqual({ rows: 200, spend_micros: 600 });
  });

  it('writes a backlog in multi-row statements', async () => {
    for (let i = 0; i < 1_000; i++) await log.append(impression());
    const before = driver.inserts;
    const w = start();
    await w.waitForCatchUp(10_000);
    expect((await ledger.totals({})).rows).toBe(1_000);
    // 2 batches of 500; PgLedger writes the first call of a batch alone, then the rest.
    expect(driver.inserts - before).toBeLessThanOrEqual(6);
  });

  it('awaitCommit resolves once the row is committed; only the first waiter sees inserted', async () => {
    const w = start();
    const e = impression();
    const first = w.awaitCommit(e.id, 5_000);
    const second = w.awaitCommit(e.id, 5_000);
    await log.append(e);
    expect(await first.promise).toEqual({ inserted: true });
    expect(await second.promise).toEqual({ inserted: false });
    expect((await ledger.totals({})).rows).toBe(1);
  });

  it('awaitCommit times out when the row cannot be written, and can be cancelled', async () => {
    const flaky = new FlakyLedger(ledger);
    flaky.down = true;
    const w = start({ ledger: flaky });
    const e = impression();
    const waiting = w.awaitCommit(e.id, 300);
    await log.append(e);
    await expect(waiting.promise).rejects.toBeInstanceOf(CommitTimeoutError);
    const cancelled = w.awaitCommit('impression:nobody', 50);
    cancelled.cancel();
    flaky.down = false;
    await w.waitForCatchUp(5_000);
    expect((await ledger.totals({})).rows).toBe(1);
  });

  it('stop({drain}) writes every accepted event before returning', async () => {
    const w = start();
    await Promise.all(Array.from({ length: 300 }, () => log.append(impression())));
    await w.stop({ drain: true });
    writer = null;
    expect((await ledger.totals({})).rows).toBe(300);
  });

  it('maps impression v1 and v2 (v2 adds the optional user_key) and refuses a v3', () => {
    const v2 = impression({ user_key: 'a'.repeat(32) });
    expect(v2.v).toBe(2);
    const row = toLedgerRow(v2);
    expect('row' in row && row.row.event_key).toBe(v2.id);
    expect(JSON.stringify(row)).not.toContain('a'.repeat(32)); // not a ledger column
    expect('row' in toLedgerRow({ ...impression(), v: 1 })).toBe(true);
    expect(toLedgerRow({ ...impression(), v: 3 })).toEqual({ skip: 'unsupported_version' });
  });

  it('writes a conversion once (key conversion:<decision id>) and refuses one without its id', async () => {
    const conversion = (conversion_id: string): AnyEvent => ({
      id: 'conversion:d_cpa',
      type: 'conversion',
      v: EVENT_SCHEMA_VERSIONS.conversion,
      occurred_at: '2026-06-01T12:00:00.000Z',
      data: {
        decision_id: 'd_cpa',
        advertiser_id: 'adv_1',
        campaign_id: 'cmp_cpa',
        creative_id: 'cre_1',
        placement_id: 'plc_1',
        spend_micros: 400_000,
        conversion_id,
      },
    });
    expect(toLedgerRow(conversion(''))).toEqual({ skip: 'invalid_payload' });
    expect(toLedgerRow({ ...conversion('o1'), id: 'conversion:other' })).toEqual({
      skip: 'invalid_payload',
    });
    for (const e of [conversion('o1'), conversion('o2')]) await log.append(e);
    const w = start();
    await w.waitForCatchUp(5_000);
    expect(await ledger.totals({ kind: 'conversion' })).toEqual({ rows: 1, spend_micros: 400_000 });
  });
});
