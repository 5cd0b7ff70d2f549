/** Shared by the BudgetManager invariant tests (memory and Redis counters). */
import fc from 'fast-check';
import { expect } from 'vitest';
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
import type { BudgetCounters } from '../../src/ports/budget-counters.js';
import { FakeClock } from '../helpers/fake-clock.js';

export const TTL_MS = 600_000; // tracking token lifetime
export const CHARGE = 5_000; // CPM 5 USD: 5000 micros per impression

export function campaign(over: Partial<Campaign> = {}): Campaign {
  return {
    id: 'cmp_budget',
    advertiser_id: 'adv_1',
    name: 'budget test',
    status: 'active',
    start_at: null,
    end_at: null,
    time_zone: 'UTC',
    daily_budget_micros: 53_000, // not a multiple of the charge: the last micros strand
    lifetime_budget_micros: 90_000,
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
export class SwappableCounters implements BudgetCounters {
  inner: BudgetCounters = createMemoryBudgetCounters();
  wipe(): void {
    this.inner = createMemoryBudgetCounters();
  }
  setBudget: BudgetCounters['setBudget'] = (k, b) => this.inner.setBudget(k, b);
  grantLease: BudgetCounters['grantLease'] = (r) => this.inner.grantLease(r);
  recordSpend: BudgetCounters['recordSpend'] = (r) => this.inner.recordSpend(r);
  returnLease: BudgetCounters['returnLease'] = (k, id) => this.inner.returnLease(k, id);
  shrinkLease: BudgetCounters['shrinkLease'] = (k, id, m) => this.inner.shrinkLease(k, id, m);
  reclaimExpired: BudgetCounters['reclaimExpired'] = (k, n) => this.inner.reclaimExpired(k, n);
  state: BudgetCounters['state'] = (k) => this.inner.state(k);
  restore: BudgetCounters['restore'] = (r) => this.inner.restore(r);
}

interface Served {
  key: string;
  reservation: BudgetReservation;
  expMs: number;
}

/** A ledger and an event path like src/exchange/events.ts, on the shared counters. */
export class World {
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
    const spends: { key: string; micros: number }[] = [];
    for (const [k, row] of this.ledger) {
      if (row.campaignId !== key.campaignId) continue;
      if (day !== null && !row.period.includes(key.period)) continue;
      spent += row.micros;
      spends.push({ key: k, micros: row.micros });
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
    return { spentMicros: spent, heldMicros: held, heldUntilMs: until, spends };
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
      onLease: (e) => {
        this.leaseLog.push(e);
      },
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

export type Op =
  | { k: 'decide'; i: number }
  | { k: 'fire'; j: number; i: number; twice: boolean }
  | { k: 'fireAll'; i: number }
  | { k: 'tick'; i: number }
  | { k: 'advance'; ms: number }
  | { k: 'crash'; i: number };

export const op: fc.Arbitrary<Op> = fc.oneof(
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
  { weight: 2, arbitrary: fc.record({ k: fc.constant('fireAll' as const), i: fc.nat(5) }) },
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

export async function run(w: World, ops: Op[]): Promise<void> {
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
      case 'fireAll':
        // Every impression served so far arrives (duplicates of earlier ones count once).
        for (let j = 0; j < w.served.length; j++) await w.fire(j, o.i + j);
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
