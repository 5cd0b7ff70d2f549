/**
 * The BudgetCounters contract (src/ports/budget-counters.ts): check-and-decrement grants that
 * never exceed the budget (also under many concurrent grants, exact in integer micros),
 * idempotent grants and spend, returns, reclaim of expired leases, late spend, budget changes,
 * and conservation (budget = remaining + leased + spent) after every step, also over random
 * operation sequences (fast-check) where only `late` spend may take spend past the budget.
 * Run by budget-counters.memory.test.ts and budget-counters.redis.test.ts.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  BudgetCounters,
  BudgetState,
  CampaignPeriod,
} from '../../src/ports/budget-counters.js';

export interface BudgetCountersHarness {
  counters: BudgetCounters;
  /** A second handle on the same store (another process's view), or the same object. */
  other: BudgetCounters;
  close(): Promise<void>;
}

const T0 = Date.parse('2026-06-01T12:00:00Z');

export function budgetCountersContract(
  adapter: string,
  open: () => Promise<BudgetCountersHarness>,
): void {
  describe(`BudgetCounters contract: ${adapter}`, () => {
    let h: BudgetCountersHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });
    const period = (): CampaignPeriod => ({ campaignId: randomUUID(), period: '2026-06-01' });
    const conserved = (s: BudgetState | null) => {
      expect(s).not.toBeNull();
      if (s === null) return;
      expect(s.remainingMicros + s.leasedMicros + s.spentMicros).toBe(s.budgetMicros);
    };
    const grant = (
      k: CampaignPeriod,
      leaseId: string,
      requestedMicros: number,
      expiresAtMs = T0 + 60_000,
    ) => h.counters.grantLease({ ...k, leaseId, serverId: 's1', requestedMicros, expiresAtMs });

    it('refuses a grant when no budget was set (fail closed), and state is null', async () => {
      const k = period();
      expect(await grant(k, 'l1', 1000)).toEqual({
        status: 'unknown_budget',
        grantedMicros: 0,
        remainingMicros: 0,
        duplicate: false,
      });
      expect(await h.counters.state(k)).toBeNull();
    });

    it('grants min(requested, remaining) and then nothing', async () => {
      const k = period();
      expect(await h.counters.setBudget(k, 10_000)).toEqual({
        budgetMicros: 10_000,
        remainingMicros: 10_000,
        leasedMicros: 0,
        spentMicros: 0,
        openLeases: 0,
      });
      expect(await grant(k, 'a', 6_000)).toMatchObject({
        status: 'granted',
        grantedMicros: 6_000,
        remainingMicros: 4_000,
      });
      expect(await grant(k, 'b', 6_000)).toMatchObject({
        status: 'granted',
        grantedMicros: 4_000,
        remainingMicros: 0,
      });
      expect(await grant(k, 'c', 1)).toMatchObject({ status: 'exhausted', grantedMicros: 0 });
      const s = await h.other.state(k);
      expect(s).toEqual({
        budgetMicros: 10_000,
        remainingMicros: 0,
        leasedMicros: 10_000,
        spentMicros: 0,
        openLeases: 2,
      });
      conserved(s);
    });

    it('is idempotent by lease id: a retried grant takes nothing more', async () => {
      const k = period();
      await h.counters.setBudget(k, 5_000);
      await grant(k, 'same', 2_000);
      expect(await grant(k, 'same', 3_000)).toMatchObject({
        status: 'granted',
        grantedMicros: 2_000,
        duplicate: true,
      });
      expect((await h.counters.state(k))?.remainingMicros).toBe(3_000);
    });

    it('records spend from a lease once per spend key and refuses more than the lease holds', async () => {
      const k = period();
      await h.counters.setBudget(k, 10_000);
      await grant(k, 'l', 3_000);
      const spend = (spendKey: string, amountMicros: number) =>
        h.counters.recordSpend({ ...k, leaseId: 'l', spendKey, amountMicros });
      expect(await spend('impression:1', 1_000)).toEqual({ status: 'recorded' });
      expect(await spend('impression:1', 1_000)).toEqual({ status: 'duplicate' });
      expect(await spend('impression:2', 2_001)).toEqual({ status: 'exceeds_lease' });
      expect(await spend('impression:2', 2_000)).toEqual({ status: 'recorded' });
      expect(
        await h.counters.recordSpend({ ...k, leaseId: 'nope', spendKey: 'x', amountMicros: 1 }),
      ).toEqual({
        status: 'unknown_lease',
      });
      const s = await h.counters.state(k);
      expect(s).toMatchObject({ remainingMicros: 7_000, leasedMicros: 0, spentMicros: 3_000 });
      conserved(s);
    });

    it('returns the unspent part of a lease once', async () => {
      const k = period();
      await h.counters.setBudget(k, 10_000);
      await grant(k, 'l', 4_000);
      await h.counters.recordSpend({ ...k, leaseId: 'l', spendKey: 'e1', amountMicros: 1_500 });
      expect(await h.counters.returnLease(k, 'l')).toEqual({
        status: 'returned',
        returnedMicros: 2_500,
      });
      expect(await h.other.returnLease(k, 'l')).toEqual({
        status: 'already_closed',
        returnedMicros: 0,
      });
      expect(await h.counters.returnLease(k, 'zzz')).toEqual({
        status: 'unknown_lease',
        returnedMicros: 0,
      });
      const s = await h.counters.state(k);
      expect(s).toEqual({
        budgetMicros: 10_000,
        remainingMicros: 8_500,
        leasedMicros: 0,
        spentMicros: 1_500,
        openLeases: 0,
      });
    });

    it('shrinks an open lease early: gives back at most its unspent part, keeps it open', async () => {
      const k = period();
      await h.counters.setBudget(k, 10_000);
      await grant(k, 'l', 4_000);
      await h.counters.recordSpend({ ...k, leaseId: 'l', spendKey: 'e1', amountMicros: 1_000 });
      expect(await h.counters.shrinkLease(k, 'l', 2_000)).toEqual({
        status: 'returned',
        returnedMicros: 2_000,
      });
      let s = await h.counters.state(k);
      expect(s).toMatchObject({ remainingMicros: 8_000, leasedMicros: 1_000, openLeases: 1 });
      conserved(s);
      // The lowered grant bounds later spend: 1 000 unspent remain on it.
      expect(
        await h.other.recordSpend({ ...k, leaseId: 'l', spendKey: 'e2', amountMicros: 1_001 }),
      ).toEqual({ status: 'exceeds_lease' });
      expect(
        await h.other.recordSpend({ ...k, leaseId: 'l', spendKey: 'e3', amountMicros: 600 }),
      ).toEqual({ status: 'recorded' });
      // Asking for more than is unspent gives only the unspent part.
      expect(await h.other.shrinkLease(k, 'l', 5_000)).toEqual({
        status: 'returned',
        returnedMicros: 400,
      });
      expect(await h.counters.returnLease(k, 'l')).toEqual({
        status: 'returned',
        returnedMicros: 0,
      });
      expect(await h.counters.shrinkLease(k, 'l', 1)).toEqual({
        status: 'already_closed',
        returnedMicros: 0,
      });
      expect(await h.counters.shrinkLease(k, 'zzz', 1)).toEqual({
        status: 'unknown_lease',
        returnedMicros: 0,
      });
      s = await h.counters.state(k);
      expect(s).toEqual({
        budgetMicros: 10_000,
        remainingMicros: 8_400,
        leasedMicros: 0,
        spentMicros: 1_600,
        openLeases: 0,
      });
    });

    it('returns a fully spent lease (nothing to give back) and closes it', async () => {
      const k = period();
      await h.counters.setBudget(k, 10_000);
      await grant(k, 'l', 2_000);
      await h.counters.recordSpend({ ...k, leaseId: 'l', spendKey: 'e1', amountMicros: 2_000 });
      expect(await h.counters.returnLease(k, 'l')).toEqual({
        status: 'returned',
        returnedMicros: 0,
      });
      const s = await h.counters.state(k);
      expect(s).toMatchObject({ remainingMicros: 8_000, leasedMicros: 0, openLeases: 0 });
      conserved(s);
    });

    it('restores lost counters atomically: spent with its keys, an open hold, once', async () => {
      const k = period();
      const req = {
        ...k,
        budgetMicros: 10_000,
        spentMicros: 3_000,
        spentLeaseId: 'rebuild',
        spendKeys: ['e1', 'e2'],
        heldMicros: 2_500,
        holdLeaseId: 'hold',
        holdUntilMs: T0 + 60_000,
        serverId: 's1',
      };
      expect(await h.counters.restore(req)).toBe('restored');
      // A second rebuild (another process) changes nothing.
      expect(await h.other.restore({ ...req, spentMicros: 9_000 })).toBe('exists');
      const s = await h.counters.state(k);
      expect(s).toEqual({
        budgetMicros: 10_000,
        remainingMicros: 4_500,
        leasedMicros: 2_500,
        spentMicros: 3_000,
        openLeases: 1,
      });
      // A duplicate of an event already in the spend is recognised; new spend goes to the hold.
      const spend = (spendKey: string, amountMicros: number) =>
        h.counters.recordSpend({ ...k, leaseId: 'hold', spendKey, amountMicros });
      expect((await spend('e2', 1_000)).status).toBe('duplicate');
      expect((await spend('e3', 2_500)).status).toBe('recorded');
      expect((await spend('e4', 1)).status).toBe('exceeds_lease');
      // The hold expires with the leases it stands for.
      expect(await h.counters.reclaimExpired(k, T0 + 60_000)).toEqual({
        leases: 1,
        returnedMicros: 0,
      });
      const after = await h.counters.state(k);
      expect(after).toMatchObject({ spentMicros: 5_500, leasedMicros: 0, remainingMicros: 4_500 });
      conserved(after);
    });

    it('restores open leases under their own ids, each reclaimed at its own expiry', async () => {
      const k = period();
      const base = {
        ...k,
        budgetMicros: 10_000,
        spentMicros: 1_000,
        spentLeaseId: 'rebuild',
        spendKeys: ['e1'],
        heldMicros: 0,
        holdLeaseId: 'hold',
        holdUntilMs: 0,
        serverId: 's1',
      };
      expect(
        await h.counters.restore({
          ...base,
          openLeases: [
            { leaseId: 'a', micros: 2_000, expiresAtMs: T0 + 10_000, serverId: 'p1' },
            { leaseId: 'b', micros: 3_000, expiresAtMs: T0 + 20_000, serverId: 'p2' },
          ],
        }),
      ).toBe('restored');
      expect(await h.counters.state(k)).toEqual({
        budgetMicros: 10_000,
        remainingMicros: 4_000,
        leasedMicros: 5_000,
        spentMicros: 1_000,
        openLeases: 2,
      });
      const spend = (leaseId: string, spendKey: string, amountMicros: number) =>
        h.counters.recordSpend({ ...k, leaseId, spendKey, amountMicros });
      expect((await spend('a', 'e1', 500)).status).toBe('duplicate');
      expect((await spend('a', 'e2', 1_500)).status).toBe('recorded');
      expect((await spend('a', 'e3', 600)).status).toBe('exceeds_lease');
      expect(await h.counters.reclaimExpired(k, T0 + 10_000)).toEqual({
        leases: 1,
        returnedMicros: 500,
      });
      const mid = await h.counters.state(k);
      expect(mid).toMatchObject({ remainingMicros: 4_500, leasedMicros: 3_000, openLeases: 1 });
      conserved(mid);
    });

    it('restores spend above the budget as a negative remaining (nothing more is granted)', async () => {
      const k = period();
      const many = Array.from({ length: 2_500 }, (_, i) => `e${i}`); // > one SADD chunk
      expect(
        await h.counters.restore({
          ...k,
          budgetMicros: 1_000,
          spentMicros: 1_200,
          spentLeaseId: 'rebuild',
          spendKeys: many,
          heldMicros: 0,
          holdLeaseId: 'hold',
          holdUntilMs: 0,
          serverId: 's1',
        }),
      ).toBe('restored');
      expect((await grant(k, 'l', 100)).status).toBe('exhausted');
      const s = await h.counters.state(k);
      expect(s).toMatchObject({ remainingMicros: -200, spentMicros: 1_200, openLeases: 0 });
      conserved(s);
      expect(
        (
          await h.counters.recordSpend({
            ...k,
            leaseId: 'rebuild',
            spendKey: 'e2499',
            amountMicros: 5,
          })
        ).status,
      ).toBe('duplicate');
    });

    it('counts spend reported after the lease closed as late, from remaining', async () => {
      const k = period();
      await h.counters.setBudget(k, 1_000);
      await grant(k, 'l', 1_000);
      await h.counters.returnLease(k, 'l');
      expect(
        await h.counters.recordSpend({ ...k, leaseId: 'l', spendKey: 'late-1', amountMicros: 400 }),
      ).toEqual({
        status: 'late',
      });
      const s = await h.counters.state(k);
      expect(s).toMatchObject({ remainingMicros: 600, spentMicros: 400, leasedMicros: 0 });
      conserved(s);
    });

    it('reclaims only leases whose expiry has passed', async () => {
      const k = period();
      await h.counters.setBudget(k, 10_000);
      await grant(k, 'early', 2_000, T0 + 1_000);
      await grant(k, 'late', 3_000, T0 + 5_000);
      await h.counters.recordSpend({ ...k, leaseId: 'early', spendKey: 'e', amountMicros: 500 });
      expect(await h.counters.reclaimExpired(k, T0 + 999)).toEqual({
        leases: 0,
        returnedMicros: 0,
      });
      expect(await h.counters.reclaimExpired(k, T0 + 1_000)).toEqual({
        leases: 1,
        returnedMicros: 1_500,
      });
      expect(await h.other.reclaimExpired(k, T0 + 1_000)).toEqual({ leases: 0, returnedMicros: 0 });
      const s = await h.counters.state(k);
      expect(s).toEqual({
        budgetMicros: 10_000,
        remainingMicros: 6_500,
        leasedMicros: 3_000,
        spentMicros: 500,
        openLeases: 1,
      });
      expect(await h.counters.returnLease(k, 'early')).toEqual({
        status: 'already_closed',
        returnedMicros: 0,
      });
    });

    it('moves remaining by the difference when the budget changes, without clawing back leases', async () => {
      const k = period();
      await h.counters.setBudget(k, 10_000);
      await grant(k, 'l', 8_000);
      expect(await h.counters.setBudget(k, 12_000)).toMatchObject({
        remainingMicros: 4_000,
        leasedMicros: 8_000,
      });
      const lowered = await h.counters.setBudget(k, 5_000);
      expect(lowered).toMatchObject({
        budgetMicros: 5_000,
        remainingMicros: -3_000,
        leasedMicros: 8_000,
      });
      conserved(lowered);
      expect(await grant(k, 'more', 1)).toMatchObject({ status: 'exhausted', grantedMicros: 0 });
    });

    it('keeps micros exact above 2^47 (no float formatting loss)', async () => {
      const k = period();
      const big = 2 ** 52 + 1;
      await h.counters.setBudget(k, big);
      expect(await grant(k, 'l', big - 2)).toMatchObject({
        grantedMicros: big - 2,
        remainingMicros: 2,
      });
      await h.counters.recordSpend({ ...k, leaseId: 'l', spendKey: 'b', amountMicros: big - 3 });
      const s = await h.counters.state(k);
      expect(s).toEqual({
        budgetMicros: big,
        remainingMicros: 2,
        leasedMicros: 1,
        spentMicros: big - 3,
        openLeases: 1,
      });
    });

    it('rejects amounts that are not non-negative safe integers', async () => {
      const k = period();
      await expect(h.counters.setBudget(k, 1.5)).rejects.toThrow(RangeError);
      await h.counters.setBudget(k, 100);
      await expect(grant(k, 'l', -1)).rejects.toThrow(RangeError);
    });

    it('never grants more than the budget under many concurrent grants from two handles (exact sum)', async () => {
      const k = period();
      const budget = 1_000_003;
      await h.counters.setBudget(k, budget);
      const requests = Array.from({ length: 300 }, (_, i) => 1_000 + ((i * 7_919) % 9_000));
      const results = await Promise.all(
        requests.map((requestedMicros, i) =>
          (i % 2 === 0 ? h.counters : h.other).grantLease({
            ...k,
            leaseId: `l${i}`,
            serverId: `s${i % 4}`,
            requestedMicros,
            expiresAtMs: T0 + 60_000,
          }),
        ),
      );
      const granted = results.reduce((sum, r) => sum + r.grantedMicros, 0);
      const asked = requests.reduce((a, b) => a + b, 0);
      expect(asked).toBeGreaterThan(budget);
      expect(granted).toBe(budget);
      for (let i = 0; i < results.length; i++) {
        const g = results[i]?.grantedMicros ?? 0;
        expect(g).toBeLessThanOrEqual(requests[i] ?? 0);
      }
      // Exactly one grant can be partial: the one that found less than it asked for.
      const partial = results.filter(
        (r, i) => r.grantedMicros > 0 && r.grantedMicros < (requests[i] ?? 0),
      );
      expect(partial.length).toBeLessThanOrEqual(1);
      const s = await h.counters.state(k);
      expect(s).toMatchObject({ remainingMicros: 0, leasedMicros: budget, spentMicros: 0 });
    });

    it('keeps conservation and never lets spend pass the budget except by late spend (random sequences)', async () => {
      const op = fc.oneof(
        fc.record({
          kind: fc.constant('grant' as const),
          lease: fc.integer({ min: 0, max: 5 }),
          micros: fc.integer({ min: 0, max: 4_000 }),
          exp: fc.integer({ min: 0, max: 10 }),
        }),
        fc.record({
          kind: fc.constant('spend' as const),
          lease: fc.integer({ min: 0, max: 5 }),
          key: fc.integer({ min: 0, max: 20 }),
          micros: fc.integer({ min: 0, max: 1_500 }),
        }),
        fc.record({ kind: fc.constant('return' as const), lease: fc.integer({ min: 0, max: 5 }) }),
        fc.record({
          kind: fc.constant('shrink' as const),
          lease: fc.integer({ min: 0, max: 5 }),
          micros: fc.integer({ min: 0, max: 3_000 }),
        }),
        fc.record({ kind: fc.constant('reclaim' as const), now: fc.integer({ min: 0, max: 10 }) }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 10_000 }),
          fc.array(op, { maxLength: 25 }),
          async (budget, ops) => {
            const k = period();
            await h.counters.setBudget(k, budget);
            let late = 0;
            let counted = 0;
            for (const o of ops) {
              if (o.kind === 'grant') {
                await h.counters.grantLease({
                  ...k,
                  leaseId: `l${o.lease}`,
                  serverId: 's',
                  requestedMicros: o.micros,
                  expiresAtMs: o.exp,
                });
              } else if (o.kind === 'spend') {
                const r = await h.other.recordSpend({
                  ...k,
                  leaseId: `l${o.lease}`,
                  spendKey: `e${o.key}`,
                  amountMicros: o.micros,
                });
                if (r.status === 'late') late += o.micros;
                if (r.status === 'late' || r.status === 'recorded') counted += o.micros;
              } else if (o.kind === 'return') {
                await h.other.returnLease(k, `l${o.lease}`);
              } else if (o.kind === 'shrink') {
                const r = await h.other.shrinkLease(k, `l${o.lease}`, o.micros);
                expect(r.returnedMicros).toBeLessThanOrEqual(o.micros);
              } else {
                await h.counters.reclaimExpired(k, o.now);
              }
              const s = await h.counters.state(k);
              conserved(s);
              expect(s?.leasedMicros).toBeGreaterThanOrEqual(0);
              expect(s?.spentMicros).toBe(counted);
              // Only late spend can take spend past the budget, and only by its own amount.
              expect((s?.spentMicros ?? 0) - late).toBeLessThanOrEqual(budget);
              expect((s?.remainingMicros ?? 0) + late).toBeGreaterThanOrEqual(0);
            }
          },
        ),
        { numRuns: 40 },
      );
    });

    it('keeps conservation under concurrent grants, spends, returns and reclaims', async () => {
      const k = period();
      const budget = 500_000;
      await h.counters.setBudget(k, budget);
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 60; i++) {
        const c = i % 2 === 0 ? h.counters : h.other;
        ops.push(
          (async () => {
            const g = await c.grantLease({
              ...k,
              leaseId: `m${i}`,
              serverId: 's',
              requestedMicros: 20_000,
              expiresAtMs: T0 + (i % 3) * 1000,
            });
            if (g.grantedMicros === 0) return;
            await c.recordSpend({
              ...k,
              leaseId: `m${i}`,
              spendKey: `imp:${i}`,
              amountMicros: Math.floor(g.grantedMicros / 3),
            });
            await c.recordSpend({ ...k, leaseId: `m${i}`, spendKey: `imp:${i}`, amountMicros: 1 }); // duplicate
            if (i % 5 === 0) await c.returnLease(k, `m${i}`);
            if (i % 7 === 0) await c.reclaimExpired(k, T0 + 1_000);
          })(),
        );
      }
      await Promise.all(ops);
      const s = await h.counters.state(k);
      conserved(s);
      expect(s?.remainingMicros).toBeGreaterThanOrEqual(0);
      expect(s?.spentMicros).toBeLessThanOrEqual(budget);
    });
  });
}
