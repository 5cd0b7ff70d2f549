/**
 * The pacing simulator (src/exchange/pacing-sim.ts) driving real BudgetManagers on shared memory
 * counters over one simulated day: CPM overspend is 0 (with lost and duplicated impressions and
 * a crashed process), even pacing follows its target curve on a stable (flat) forecast within
 * the tolerance stated below, asap spends earlier than even, a crash costs stranded budget and
 * never overspend, and a seed gives the same result twice.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryBudgetCounters } from '../../src/adapters/memory/budget-counters.js';
import {
  DIURNAL_SHAPE,
  simulatePacing,
  type PacingSimOptions,
  type SimCampaign,
} from '../../src/exchange/pacing-sim.js';

const CHARGE = 2_000; // 2 USD CPM
const FLAT = Array.from({ length: 24 }, () => 1);
/** Even pacing on a flat forecast stays within this many % of budget of the target curve. */
const EVEN_TOLERANCE_PCT = 3;

function campaigns(impressions: number): SimCampaign[] {
  return (['even', 'frontloaded', 'asap'] as const).map((pacing) => ({
    id: `cmp_${pacing}`,
    pacing,
    dailyBudgetMicros: impressions * CHARGE + 777, // not a multiple of the charge
    bidMicros: CHARGE * 1000,
  }));
}

function opts(over: Partial<PacingSimOptions> = {}): PacingSimOptions {
  return {
    counters: createMemoryBudgetCounters(),
    campaigns: campaigns(4_000), // supply 12 000 requests: 3× the budget
    seed: 7,
    requestsPerDay: 12_000,
    hourlyShape: FLAT,
    processes: 3,
    tickMs: 20_000,
    lossRate: 0.02,
    duplicateRate: 0.05,
    ...over,
  };
}

describe('pacing simulator', () => {
  it('CPM: overspend 0, ledger == counters, even and frontloaded follow the curve, asap spends first', async () => {
    const r = await simulatePacing(opts());
    expect(r.requests).toBe(12_000);
    expect(r.duplicatesIgnored).toBeGreaterThan(0);
    expect(r.impressionsLost).toBeGreaterThan(0);
    expect(r.refusedSpend).toBe(0);
    expect(r.lateSpend).toBe(0);
    expect(r.ledgerCounterDiffMicros).toBe(0);
    expect(r.days).toHaveLength(3);
    const by = new Map(r.days.map((d) => [d.pacing, d]));
    for (const d of r.days) {
      expect(d.overspendMicros).toBe(0);
      expect(d.spentMicros).toBeLessThanOrEqual(d.budgetMicros);
      // Supply is 3× the budget: everything but the last partial charge is delivered.
      expect(d.budgetMicros - d.spentMicros).toBeLessThan(CHARGE);
    }
    const even = by.get('even');
    const front = by.get('frontloaded');
    const asap = by.get('asap');
    if (!even || !front || !asap) throw new Error('missing campaign');
    expect(even.maxAbsDeviationPct).not.toBeNull();
    expect(even.maxAbsDeviationPct ?? Infinity).toBeLessThanOrEqual(EVEN_TOLERANCE_PCT);
    expect(even.p95AbsDeviationPct ?? Infinity).toBeLessThanOrEqual(even.maxAbsDeviationPct ?? 0);
    expect(asap.maxAbsDeviationPct).toBeNull();
    expect(front.maxAbsDeviationPct ?? Infinity).toBeLessThanOrEqual(EVEN_TOLERANCE_PCT);
    // asap reaches half its budget long before even (which needs about half the day).
    expect(asap.halfSpentByHour ?? 99).toBeLessThan(even.halfSpentByHour ?? 99);
    expect(even.halfSpentByHour).toBeGreaterThanOrEqual(12);
    // frontloaded is ahead of even in the morning.
    expect(front.hourlyCumulativePct[5] ?? 0).toBeGreaterThan(even.hourlyCumulativePct[5] ?? 0);
  });

  it('a crashed process strands its leases until expiry: under-delivery, never overspend', async () => {
    // asap with a budget equal to the supply: the budget binds at the end of the day. The crash
    // comes 7 minutes before midnight; the dead process's lease expires (serve window + token
    // lifetime + grace) after the day is over, so its unspent part is lost for the day.
    const tight: SimCampaign[] = [
      {
        id: 'cmp_tight',
        pacing: 'asap',
        dailyBudgetMicros: 12_000 * CHARGE,
        bidMicros: CHARGE * 1000,
      },
    ];
    const common = { campaigns: tight, lossRate: 0, duplicateRate: 0 };
    const base = await simulatePacing(opts(common));
    const crashed = await simulatePacing(
      opts({ ...common, crash: { process: 1, atDayFraction: 0.995, restartAfterMs: 120_000 } }),
    );
    expect(crashed.crashedLeaseMicros).toBeGreaterThan(0);
    const b = base.days[0];
    const c = crashed.days[0];
    if (!b || !c) throw new Error('no report');
    expect(b.overspendMicros).toBe(0);
    expect(c.overspendMicros).toBe(0);
    expect(crashed.lateSpend).toBe(0);
    expect(crashed.refusedSpend).toBe(0);
    expect(crashed.ledgerCounterDiffMicros).toBe(0);
    // Stranded in leases at midnight, and delivered less than without the crash.
    expect(c.leasedAtEndMicros).toBeGreaterThan(0);
    expect(c.spentMicros).toBeLessThan(b.spentMicros);
    expect(c.spentMicros).toBeLessThanOrEqual(c.budgetMicros);
  });

  it('diurnal traffic: from day 2 even and frontloaded follow the learned-forecast curve within 3 % at p95', async () => {
    const r = await simulatePacing(
      opts({
        hourlyShape: DIURNAL_SHAPE,
        dailyNoise: 0.1,
        days: 2,
        campaigns: campaigns(3_000), // supply 12 000 a day: 4× the budget
      }),
    );
    expect(r.ledgerCounterDiffMicros).toBe(0);
    const paced = r.days.filter((d) => d.pacing !== 'asap');
    expect(paced).toHaveLength(4);
    for (const d of paced) {
      expect(d.overspendMicros).toBe(0);
      expect(d.liveProcesses).toBe(3);
      if (d.day === '2026-06-01') {
        // Day 1: nothing learned yet, the flat curve; diurnal traffic cannot follow it.
        expect(d.learnedForecastProcesses).toBe(0);
        expect(d.p95AbsDeviationVsTrafficPct ?? 0).toBeGreaterThan(EVEN_TOLERANCE_PCT);
      } else {
        expect(d.learnedForecastProcesses).toBe(3);
        expect(d.p95AbsDeviationPct ?? Infinity).toBeLessThanOrEqual(EVEN_TOLERANCE_PCT);
        // The learned curve is not the flat one: at 06:00 it is well below 6/24 = 25 %.
        if (d.pacing === 'even') expect(d.hourlyTargetPct[5] ?? 100).toBeLessThan(15);
      }
    }
  });

  it('is deterministic for a seed', async () => {
    const small = { requestsPerDay: 3_000, campaigns: campaigns(1_000), tickMs: 60_000 };
    const a = await simulatePacing(opts(small));
    const b = await simulatePacing(opts(small));
    expect(b).toEqual(a);
    const c = await simulatePacing(opts({ ...small, seed: 8 }));
    expect(c.days.map((d) => d.hourlyCumulativePct)).not.toEqual(
      a.days.map((d) => d.hourlyCumulativePct),
    );
  });
});
