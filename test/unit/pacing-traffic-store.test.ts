/**
 * The learned pacing traffic survives a restart (issue 6 item 6): a whole day a history learns
 * is handed to its listener and stored (src/adapters/postgres/pacing-traffic.ts, migration
 * 010); a new process seeds its history from the store and its BudgetManager paces the new day
 * on the learned forecast at once, not on the flat one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPgPacingTraffic,
  type PgPacingTraffic,
} from '../../src/adapters/postgres/pacing-traffic.js';
import { createMemoryBudgetCounters } from '../../src/adapters/memory/budget-counters.js';
import { FLAT_FORECAST, HourlyTrafficHistory } from '../../src/core/pacing/index.js';
import { BudgetManager } from '../../src/exchange/budget.js';
import { freshPglite, type TestDb } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { campaign } from './budget-world.js';

const shape = (hour: number): number => (hour >= 18 ? 4 : 1);

function feed(h: HourlyTrafficHistory, id: string, day: string, scale: number): void {
  for (let hour = 0; hour < 24; hour++) {
    for (let i = 0; i < shape(hour) * scale; i++) h.observe(id, day, hour);
  }
}

describe('HourlyTrafficHistory.seed', () => {
  it('adds stored days it has not got, in day order, keeping the last keepDays', () => {
    const h = new HourlyTrafficHistory(2);
    const day = (k: string, n: number) => ({ dayKey: k, counts: new Array<number>(24).fill(n) });
    h.seed('c', [day('2026-06-02', 1), day('2026-06-01', 1), day('2026-06-03', 1)]);
    expect(h.learnedDays('c')).toBe(2);
    h.seed('c', [day('2026-06-03', 9)]); // already there: not added twice
    expect(h.learnedDays('c')).toBe(2);
    h.seed('d', [{ dayKey: '2026-06-01', counts: new Array<number>(24).fill(0) }]);
    expect(h.forecast('d')).toBe(FLAT_FORECAST); // an empty day teaches nothing
  });
});

describe('pacing traffic store (PGlite)', () => {
  let db: TestDb;
  let store: PgPacingTraffic;
  beforeAll(async () => {
    db = await freshPglite();
    store = createPgPacingTraffic(db.driver);
  });
  afterAll(async () => {
    await db.close();
  });

  it('a restarted process paces on the forecast learned before, not flat', async () => {
    const c = campaign({ id: 'cmp_traffic', pacing: 'even', lifetime_budget_micros: null });
    // Two processes count their shares of 2026-05-31 and store it when the day ends.
    const writes: Promise<void>[] = [];
    for (const [server, scale] of [
      ['p1', 1],
      ['p2', 2],
    ] as const) {
      const h = new HourlyTrafficHistory(7, (id, dayKey, counts) => {
        writes.push(store.recordDay(id, dayKey, server, counts));
      });
      h.startDay(c.id, '2026-05-31', true);
      feed(h, c.id, '2026-05-31', scale);
      h.startDay(c.id, '2026-06-01', true); // closes 05-31: learned and stored
      expect(h.learnedDays(c.id)).toBe(1);
    }
    await Promise.all(writes);
    // A retry of the same write changes nothing.
    await store.recordDay(c.id, '2026-05-31', 'p1', new Array<number>(24).fill(100));

    const stored = await store.recentDays(7);
    const days = stored.get(c.id);
    expect(days?.map((d) => d.dayKey)).toEqual(['2026-05-31']);
    expect(days?.[0]?.counts[0]).toBe(3); // 1 + 2
    expect(days?.[0]?.counts[20]).toBe(12); // 4 + 8

    // The restarted process: seeded before its first sync, it plans 2026-06-01 on that shape.
    const fresh = new HourlyTrafficHistory(7);
    for (const [id, d] of stored) fresh.seed(id, d);
    const m = new BudgetManager({
      counters: createMemoryBudgetCounters(),
      clock: new FakeClock(Date.parse('2026-06-01T00:30:00Z')),
      serverId: 'restarted',
      trackingTtlMs: 600_000,
      traffic: fresh,
    });
    await m.sync([c]);
    const plan = m.pacingForecast(c.id);
    expect(plan?.learnedDays).toBe(1);
    expect(plan?.forecast).not.toBe(FLAT_FORECAST);
    expect(plan?.forecast[20]).toBeCloseTo(4 * (plan?.forecast[3] ?? 0), 12);
    // Without the seed the same start is flat.
    const cold = new BudgetManager({
      counters: createMemoryBudgetCounters(),
      clock: new FakeClock(Date.parse('2026-06-01T00:30:00Z')),
      serverId: 'cold',
      trackingTtlMs: 600_000,
    });
    await cold.sync([c]);
    expect(cold.pacingForecast(c.id)?.forecast).toBe(FLAT_FORECAST);
  });
});
