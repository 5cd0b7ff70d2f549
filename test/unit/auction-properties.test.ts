/**
 * Property tests of the auction engine with fast-check (issue 3 item 9): price ≤ own bid;
 * clearing eCPM ≥ reserve; VCG price ≤ GSP price per slot; VCG is truthful against any
 * unilateral bid change; raising a bid never moves a bidder to a worse slot. Plus the
 * bookkeeping every caller relies on: each bid gets exactly one outcome.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ecpmMicros,
  MECHANISMS,
  runAuction,
  TIERS,
  type AuctionBid,
  type AuctionConfig,
  type AuctionResult,
} from '../../src/core/auction/index.js';

const RUNS = { numRuns: 300 };

// CTR/CVR values as a model would predict them; the engine requires (0, 1] for cpc/cpa.
const probability = fc.constantFrom(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1);

const bidShape = fc.record({
  model: fc.constantFrom('cpm' as const, 'cpc' as const, 'cpa' as const),
  bid_micros: fc.integer({ min: 0, max: 20_000_000 }),
  ctr: probability,
  cvr: probability,
});

/** Open-auction bids with unique ids; amounts small enough to tie often. */
const openBids = fc.array(bidShape, { minLength: 0, maxLength: 12 }).map((shapes): AuctionBid[] =>
  shapes.map((s, i) => ({
    id: `b${i}`,
    model: s.model,
    bid_micros: s.bid_micros,
    prediction: { ctr: s.ctr, cvr: s.cvr },
  })),
);

/** Bids in every tier, some deals with floors. */
const tieredBids = fc
  .array(
    fc.record({
      shape: bidShape,
      tier: fc.constantFrom(...TIERS),
      dealFloor: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
    }),
    { minLength: 0, maxLength: 12 },
  )
  .map((rows): AuctionBid[] =>
    rows.map(({ shape: s, tier, dealFloor }, i) => {
      const bid: AuctionBid = {
        id: `b${i}`,
        model: s.model,
        bid_micros: s.bid_micros,
        prediction: { ctr: s.ctr, cvr: s.cvr },
        tier,
      };
      if (tier === 'deal' && dealFloor !== undefined) bid.deal_floor_cpm_micros = dealFloor;
      return bid;
    }),
  );

/** Non-increasing position factors in (0, 1], 1 to 5 slots. */
const slotFactors = fc
  .array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 })
  .map((xs) => xs.sort((a, b) => b - a).map((x) => x / 100));

const config = (over: Partial<AuctionConfig> = {}) =>
  fc.record({
    mechanism: fc.constantFrom(...MECHANISMS),
    slot_factors: slotFactors,
    reserve_cpm_micros: fc.integer({ min: 0, max: 8_000_000 }),
    floor_cpm_micros: fc.integer({ min: 0, max: 8_000_000 }),
    increment_micros: fc.integer({ min: 0, max: 20_000 }),
    tie_break: fc.oneof(
      fc.constant({ kind: 'bid_then_id' as const }),
      fc.integer().map((seed) => ({ kind: 'seeded' as const, seed })),
    ),
    ...Object.fromEntries(Object.entries(over).map(([k, v]) => [k, fc.constant(v)])),
  }) as fc.Arbitrary<AuctionConfig>;

const slotOf = (r: AuctionResult, id: string): number =>
  r.winners.find((w) => w.id === id)?.slot ?? Number.POSITIVE_INFINITY;

describe('auction properties', () => {
  it('every bid gets exactly one outcome; winners fill slots 0..n-1 in order, n ≤ K', () => {
    fc.assert(
      fc.property(tieredBids, config(), (bids, c) => {
        const out = runAuction(bids, c);
        const ids = [...out.winners.map((w) => w.id), ...out.losers.map((l) => l.id)];
        expect(ids.sort()).toEqual(bids.map((b) => b.id).sort());
        expect(out.winners.map((w) => w.slot)).toEqual(out.winners.map((_, i) => i));
        expect(out.winners.length).toBeLessThanOrEqual(c.slot_factors.length);
        expect(out.losers.map((l) => l.id)).toEqual(
          bids.filter((b) => out.losers.some((l) => l.id === b.id)).map((b) => b.id),
        );
      }),
      RUNS,
    );
  });

  it('price ≤ own bid, always a whole number of micros ≥ 0', () => {
    fc.assert(
      fc.property(tieredBids, config(), (bids, c) => {
        for (const w of runAuction(bids, c).winners) {
          expect(Number.isSafeInteger(w.price_micros)).toBe(true);
          expect(w.price_micros).toBeGreaterThanOrEqual(0);
          expect(w.price_micros).toBeLessThanOrEqual(w.bid_micros);
        }
      }),
      RUNS,
    );
  });

  it('clearing eCPM ≥ reserve (and ≥ floor) for every paid winner, and the price holds it to rounding', () => {
    fc.assert(
      fc.property(tieredBids, config(), (bids, c) => {
        const byId = new Map(bids.map((b) => [b.id, b]));
        for (const w of runAuction(bids, c).winners) {
          if (w.tier === 'house') continue; // house ads are free and skip the floors
          const b = byId.get(w.id) as AuctionBid;
          const minimum =
            b.deal_floor_cpm_micros !== undefined
              ? Math.max(c.reserve_cpm_micros, b.deal_floor_cpm_micros)
              : Math.max(c.reserve_cpm_micros, c.floor_cpm_micros ?? 0);
          expect(w.clearing_ecpm_micros).toBeGreaterThanOrEqual(minimum);
          expect(w.clearing_ecpm_micros).toBeLessThanOrEqual(w.ecpm_micros);
          // Rounding half-up loses at most half a micro of the winner's unit.
          const priceEcpm = ecpmMicros(w.model, w.price_micros + 0.5, b.prediction);
          expect(priceEcpm).toBeGreaterThanOrEqual(minimum * (1 - 1e-12));
        }
      }),
      RUNS,
    );
  });

  it('on the same bids, every VCG price ≤ the GSP price for that slot (same winner per slot)', () => {
    fc.assert(
      fc.property(tieredBids, config({ increment_micros: 0 }), (bids, c) => {
        const vcg = runAuction(bids, { ...c, mechanism: 'vcg' }).winners;
        const gsp = runAuction(bids, { ...c, mechanism: 'gsp' }).winners;
        expect(vcg.map((w) => w.id)).toEqual(gsp.map((w) => w.id));
        vcg.forEach((w, k) => {
          // Both prices are the same real number in exact arithmetic at worst; each is rounded
          // half-up to micros on its own, so they may differ by one micro at a .5 boundary.
          expect(w.price_micros).toBeLessThanOrEqual((gsp[k] as (typeof gsp)[0]).price_micros + 1);
          expect(w.clearing_ecpm_micros).toBeLessThanOrEqual(
            (gsp[k] as (typeof gsp)[0]).clearing_ecpm_micros * (1 + 1e-12),
          );
        });
      }),
      RUNS,
    );
  });

  it('VCG: no unilateral bid change raises a bidder’s utility (truthfulness)', () => {
    // True value = the bid as first submitted. Utility per mille of impressions in slot k is
    // α_k × (true eCPM − clearing eCPM): the bidder gets α_k × CTR × 1000 clicks and pays its
    // per-click price on each (seed Part 6, "VCG is truthful").
    const utility = (
      out: AuctionResult,
      id: string,
      trueEcpm: number,
      alphas: readonly number[],
    ) => {
      const w = out.winners.find((x) => x.id === id);
      return w === undefined ? 0 : (alphas[w.slot] as number) * (trueEcpm - w.clearing_ecpm_micros);
    };
    fc.assert(
      fc.property(
        openBids.filter((b) => b.length > 0),
        config({ mechanism: 'vcg', floor_cpm_micros: 0 }),
        fc.nat(),
        fc.integer({ min: 0, max: 40_000_000 }),
        (bids, c, pick, deviation) => {
          const i = pick % bids.length;
          const me = bids[i] as AuctionBid;
          const truthful = runAuction(bids, c);
          const trueEcpm = ecpmMicros(me.model, me.bid_micros, me.prediction);
          const lied = runAuction(
            bids.map((b, j) => (j === i ? { ...b, bid_micros: deviation } : b)),
            c,
          );
          const honest = utility(truthful, me.id, trueEcpm, c.slot_factors);
          const strategic = utility(lied, me.id, trueEcpm, c.slot_factors);
          expect(strategic).toBeLessThanOrEqual(honest + 1e-6 * Math.max(1, trueEcpm));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('raising a bid never moves the bidder to a worse slot (any mechanism, any tier)', () => {
    fc.assert(
      fc.property(
        tieredBids.filter((b) => b.length > 0),
        config(),
        fc.nat(),
        fc.integer({ min: 1, max: 20_000_000 }),
        (bids, c, pick, raise) => {
          const i = pick % bids.length;
          const me = bids[i] as AuctionBid;
          const before = slotOf(runAuction(bids, c), me.id);
          const raised = bids.map((b, j) =>
            j === i ? { ...b, bid_micros: b.bid_micros + raise } : b,
          );
          expect(slotOf(runAuction(raised, c), me.id)).toBeLessThanOrEqual(before);
        },
      ),
      RUNS,
    );
  });

  it('the outcome does not depend on the order of the bids', () => {
    fc.assert(
      fc.property(tieredBids, config(), fc.nat(), (bids, c, rot) => {
        const k = bids.length === 0 ? 0 : rot % bids.length;
        const rotated = [...bids.slice(k), ...bids.slice(0, k)];
        const key = (r: AuctionResult) => ({
          winners: r.winners,
          losers: [...r.losers].sort((a, b) => (a.id < b.id ? -1 : 1)),
        });
        expect(key(runAuction(rotated, c))).toEqual(key(runAuction(bids, c)));
      }),
      RUNS,
    );
  });

  it('first price charges exactly the bid', () => {
    fc.assert(
      fc.property(openBids, config({ mechanism: 'first_price' }), (bids, c) => {
        for (const w of runAuction(bids, c).winners) expect(w.price_micros).toBe(w.bid_micros);
      }),
      RUNS,
    );
  });
});
