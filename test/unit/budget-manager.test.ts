/**
 * BudgetManager invariants (issue 6): several "processes" (managers) share one BudgetCounters;
 * random decisions, impressions (some duplicated, some never fired), monitor ticks, clock jumps
 * and crashes (a manager dropped without returning its leases). After every step:
 *   - the ledger's spend never exceeds the budget (daily and lifetime): overspend 0 for CPM;
 *   - the counters conserve money: budget = remaining + leased + spent;
 *   - the counters' spend equals the ledger's (both idempotent by the event key).
 * After the last step, once every lease has expired and been reclaimed, nothing is leased.
 * Also: counters lost (Redis restarted empty) fail closed, are rebuilt from the ledger + open
 * leases, and outstanding impressions are charged to the hold lease without overspend.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryBudgetCounters } from '../../src/adapters/memory/budget-counters.js';
import type { Campaign } from '../../src/core/domain/entities.js';
import {
  BudgetManager,
  holdLeaseId,
  LIFETIME_PERIOD,
  type BudgetRebuildSource,
  type BudgetReservation,
  type LeaseEvent,
} from '../../src/exchange/budget.js';
import type { BudgetCounters, CampaignPeriod } from '../../src/ports/budget-counters.js';
import { FakeClock } from '../helpers/fake-clock.js';

const TTL_MS = 600_000; // tracking token lifetime
const CHARGE = 5_000; // CPM 5 USD: 5000 micros per impression

function campaign(over: Partial<Campaign> = {}): Campaign {
  return {
    id: 'cmp_budget',
    advertiser_id: 'adv_1',
    name: 'budget test',
    status: 'active',
    start_at: null,
    end_at: null,
    time_zone: 'UTC',
    daily_budget_micros: 103_000, // not a multiple of the charge: the last micros strand
    lifetime_budget_micros: 180_000,
    pacing: 'asap',
    pricing_model: 'cpm',
    bid_micros: 5_000_000,
    targeting: {},
    frequency_cap: null,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...over,
  } as Campaign;
}

/** Counters whose backing store can be wiped (a Redis restart with no data). */
class SwappableCounters implements BudgetCounters {
  inner: BudgetCounters = createMemoryBudgetCounters();
  wipe(): void {
    this.inner = createMemoryBudgetCounters();
  }
  setBudget: BudgetCounters['setBudget'] = (k, b) => this.inner.setBudget(k, b);
  grantLease: BudgetCounters['grantLease'] = (r) => this.inner.grantLease(r);
  recordSpend: BudgetCounters['recordSpend'] = (r) => this.inner.recordSpend(r);
  returnLease: BudgetCounters['returnLease'] = (k, id) => this.inner.returnLease(k, id);
  reclaimExpired: BudgetCounters['reclaimExpired'] = (k, n) => this.inner.reclaimExpired(k, n);
  state: BudgetCounters['state'] = (k) => this.inner.state(k);
}

interface Served {
  key: string;
  reservation: BudgetReservation;
  expMs: number;
}

/** A ledger and an event path like src/exchange/events.ts, on the shared counters. */
class World {
  readonly clock = new FakeClock();
  readonly counters = new SwappableCounters();
  readonly ledger = new Map<string, { campaignId: string; period: string[]; micros: number }>();
  readonly leaseLog: LeaseEvent[] = [];
  managers: BudgetManager[] = [];
  served: Served[] = [];
  private seq = 0;

  constructor(
    readonly c: Campaign,
    n: number,
  ) {
    for (let i = 0; i < n; i++) this.managers.push(this.newManager(i));
  }

  rebuild: BudgetRebuildSource = async (key, _budget, day) => {
    let spent = 0;
    for (const row of this.ledger.values()) {
      if (row.campaignId !== key.campaignId) continue;
      if (day !== null && !row.period.includes(key.period)) continue;
      spent += row.micros;
    }
    const returned = new Set(
      this.leaseLog.filter((e) => e.kind === 'return').map((e) => e.leaseId),
    );
    let held = 0;
    let until = 0;
    for (const e of this.leaseLog) {
      if (e.kind !== 'grant' || e.period !== key.period || returned.has(e.leaseId)) continue;
      if (e.expiresAtMs <= this.clock.nowMs()) continue;
      held += e.micros;
      until = Math.max(until, e.expiresAtMs);
    }
    return { spentMicros: spent, heldMicros: held, heldUntilMs: until };
  };

  newManager(i: number): BudgetManager {
    return new BudgetManager({
      counters: this.counters,
      clock: this.clock,
      serverId: `p${i}-${this.seq++}`,
      trackingTtlMs: TTL_MS,
      servers: 3,
      random: () => 0.5,
      leaseServeWindowMs: 30_000,
      expiryGraceMs: 1_000,
      chunkFraction: 0.1,
      onLease: (e) => this.leaseLog.push(e),
      rebuild: this.rebuild,
    });
  }

  async decide(i: number): Promise<boolean> {
    const m = this.managers[i % this.managers.length];
    if (m === undefined) return false;
    const nowMs = this.clock.nowMs();
    let reason = m.check(this.c, nowMs);
    if (reason === 'budget_unavailable' && m.pending(this.c.id).length > 0) {
      await Promise.all(m.pending(this.c.id));
      reason = m.check(this.c, nowMs);
    }
    await m.idle();
    if (reason !== null) return false;
    const key = `d${this.seq++}`;
    const r = m.reserve(this.c, key, CHARGE, nowMs + TTL_MS);
    if (r === null) return false;
    this.served.push({ key, reservation: r, expMs: nowMs + TTL_MS });
    return true;
  }

  /** The impression of served[j] arrives at process i (like EventService.impression). */
  async fire(j: number, i: number): Promise<void> {
    const s = this.served[j % Math.max(1, this.served.length)];
    if (s === undefined || this.clock.nowMs() >= s.expMs) return; // 410 Gone: token expired
    const spendKey = `impression:${s.key}`;
    for (const [period, leaseId] of s.reservation.leases) {
      const req = { campaignId: this.c.id, period, spendKey, amountMicros: CHARGE };
      let r = await this.counters.recordSpend({ ...req, leaseId });
      if (r.status === 'unknown_lease') {
        r = await this.counters.recordSpend({ ...req, leaseId: holdLeaseId(period) });
      }
      expect(r.status).not.toBe('exceeds_lease');
    }
    if (!this.ledger.has(spendKey)) {
      this.ledger.set(spendKey, {
        campaignId: this.c.id,
        period: s.reservation.leases.map(([p]) => p),
        micros: CHARGE,
      });
    }
    const m = this.managers[i % this.managers.length];
    m?.settleLocal(this.c.id, s.reservation.leases, s.key, CHARGE);
  }

  ledgerSpent(period: string | null): number {
    let sum = 0;
    for (const row of this.ledger.values()) {
      if (period === null || row.period.includes(period)) sum += row.micros;
    }
    return sum;
  }

  async checkInvariants(): Promise<void> {
    const day = this.ledgerSpent(null);
    expect(day).toBeLessThanOrEqual(this.c.daily_budget_micros ?? Infinity);
    expect(day).toBeLessThanOrEqual(this.c.lifetime_budget_micros ?? Infinity);
    for (const period of ['2026-06-01', LIFETIME_PERIOD]) {
      const s = await this.counters.state({ campaignId: this.c.id, period });
      if (s === null) continue;
      expect(s.remainingMicros + s.leasedMicros + s.spentMicros).toBe(s.budgetMicros);
      expect(s.spentMicros).toBeLessThanOrEqual(s.budgetMicros);
      expect(s.spentMicros).toBe(this.ledgerSpent(period));
    }
  }
}

type Op =
  | { k: 'decide'; i: number }
  | { k: 'fire'; j: number; i: number; twice: boolean }
  | { k: 'tick'; i: number }
  | { k: 'advance'; ms: number }
  | { k: 'crash'; i: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('decide' as const), i: fc.nat(5) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('fire' as const),
      j: fc.nat(200),
      i: fc.nat(5),
      twice: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tick' as const), i: fc.nat(5) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 200_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('crash' as const), i: fc.nat(5) }) },
);

async function run(w: World, ops: Op[]): Promise<void> {
  for (const m of w.managers) await m.sync([w.c]);
  for (const o of ops) {
    switch (o.k) {
      case 'decide':
        await w.decide(o.i);
        break;
      case 'fire':
        await w.fire(o.j, o.i);
        if (o.twice) await w.fire(o.j, o.i + 1);
        break;
      case 'tick': {
        const m = w.managers[o.i % w.managers.length];
        await m?.tick();
        break;
      }
      case 'advance':
        w.clock.advance(o.ms);
        break;
      case 'crash': {
        // Dropped without returning anything; a fresh process takes its place.
        const idx = o.i % w.managers.length;
        const fresh = w.newManager(idx);
        await fresh.sync([w.c]);
        w.managers[idx] = fresh;
        break;
      }
    }
    await w.checkInvariants();
  }
}

describe('BudgetManager with shared counters', () => {
  it('never spends more than the budget, conserves money and matches the ledger (random traffic, crashes)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 120 }), async (ops) => {
        const w = new World(campaign(), 3);
        await run(w, ops);
        // Quiesce: every token expires, every lease expires and is reclaimed by a live monitor.
        w.clock.advance(TTL_MS + 120_000);
        for (const m of w.managers) await m.tick();
        // The live processes shut down (a tick may have taken fresh leases): they return them.
        for (const m of w.managers) await m.close();
        for (const period of ['2026-06-01', LIFETIME_PERIOD]) {
          const s = await w.counters.state({ campaignId: w.c.id, period });
          expect(s?.leasedMicros ?? 0).toBe(0);
          expect(s?.openLeases ?? 0).toBe(0);
        }
        await w.checkInvariants();
      }),
      { numRuns: 60 },
    );
  });

  it('serves until the budget is spent, then filters the campaign as budget_exhausted', async () => {
    const w = new World(campaign({ lifetime_budget_micros: null, daily_budget_micros: 20_000 }), 2);
    for (const m of w.managers) await m.sync([w.c]);
    let served = 0;
    for (let n = 0; n < 20; n++) {
      if (await w.decide(n)) {
        served++;
        await w.fire(w.served.length - 1, n);
      }
    }
    // 20_000 / 5_000 = 4 impressions, whichever process served them.
    expect(served).toBe(4);
    expect(w.ledgerSpent(null)).toBe(20_000);
    for (const m of w.managers) {
      for (const mm of w.managers) await mm.tick();
      expect(m.check(w.c, w.clock.nowMs())).toBe('budget_exhausted');
    }
  });

  it('counters lost: fail closed until rebuilt from the ledger and open leases; no overspend after', async () => {
    const w = new World(campaign({ lifetime_budget_micros: null, daily_budget_micros: 60_000 }), 2);
    for (const m of w.managers) await m.sync([w.c]);
    for (let n = 0; n < 4; n++) await w.decide(n);
    expect(w.served.length).toBe(4);
    // Two of the four impressions are recorded before the loss, two arrive after it.
    await w.fire(0, 0);
    await w.fire(1, 1);
    w.counters.wipe();
    const m0 = w.managers[0];
    if (m0 === undefined) throw new Error('no manager');
    // Without the rebuild source nothing would bring the counters back; with it the tick
    // notices the loss and the next setup rebuilds.
    await m0.tick();
    const key: CampaignPeriod = { campaignId: w.c.id, period: '2026-06-01' };
    const rebuilt = await w.counters.state(key);
    expect(rebuilt?.spentMicros).toBe(10_000);
    // The outstanding impressions are charged to the hold lease, not lost and not extra.
    await w.fire(2, 0);
    await w.fire(3, 1);
    await w.checkInvariants();
    for (let n = 0; n < 40; n++) {
      if (await w.decide(n)) await w.fire(w.served.length - 1, n);
      await w.checkInvariants();
    }
    expect(w.ledgerSpent(null)).toBeLessThanOrEqual(60_000);
  });

  it('a manager refuses to recreate counters it had set when they vanish and no rebuild exists', async () => {
    const counters = new SwappableCounters();
    const clock = new FakeClock();
    const c = campaign({ lifetime_budget_micros: null });
    const m = new BudgetManager({ counters, clock, serverId: 'p', trackingTtlMs: TTL_MS });
    await m.sync([c]);
    expect(m.check(c, clock.nowMs())).toBeNull();
    counters.wipe();
    await m.tick();
    expect(m.check(c, clock.nowMs())).toBe('budget_unavailable');
    await m.idle();
    expect(await counters.state({ campaignId: c.id, period: '2026-06-01' })).toBeNull();
  });

  it('even pacing throttles a campaign ahead of its target curve', async () => {
    const counters = createMemoryBudgetCounters();
    const clock = new FakeClock(Date.parse('2026-06-01T01:00:00Z')); // 1/24 of the day
    const c = campaign({
      pacing: 'even',
      lifetime_budget_micros: null,
      daily_budget_micros: 1_000_000,
    });
    const m = new BudgetManager({
      counters,
      clock,
      serverId: 'p',
      trackingTtlMs: TTL_MS,
      random: () => 0.5,
    });
    await m.sync([c]);
    let served = 0;
    for (let n = 0; n < 100; n++) {
      if (
        m.check(c, clock.nowMs()) === null &&
        m.reserve(c, `k${n}`, CHARGE, clock.nowMs() + TTL_MS)
      ) {
        served++;
      }
    }
    // Target at 01:00 is 1/24 of 1 000 000 ≈ 41 667; with the 2 % band the throttle closes
    // (p ≥ 0.5) at target: 8 impressions of 5000 = 40 000 fit, the 9th would pass the target.
    expect(served).toBeGreaterThanOrEqual(8);
    expect(served).toBeLessThanOrEqual(9);
    expect(m.check(c, clock.nowMs())).toBe('pacing_throttled');
  });
});
