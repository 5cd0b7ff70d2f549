import { describe, expect, it } from 'vitest';
import { ecpmMicros, roundMicros } from '../../src/core/auction/ecpm.js';
import { runAuction, type AuctionBid, type AuctionConfig } from '../../src/core/auction/index.js';
import { LossReason } from '../../src/core/reasons.js';

const p = (ctr: number, cvr = 0) => ({ ctr, cvr });
/** The decision pipeline's auction: one slot, second price, the placement floor as reserve. */
const secondPrice = (reserveMicros = 0, incrementMicros = 0): AuctionConfig => ({
  mechanism: 'second_price',
  slot_factors: [1],
  reserve_cpm_micros: reserveMicros,
  increment_micros: incrementMicros,
});

describe('eCPM', () => {
  it('normalises CPM, CPC and CPA into micros per 1000 impressions', () => {
    expect(ecpmMicros('cpm', 2_500_000, p(0.5))).toBe(2_500_000);
    expect(ecpmMicros('cpc', 5_000_000, p(0.1))).toBeCloseTo(500_000_000);
    expect(ecpmMicros('cpa', 40_000_000, p(0.02, 0.05))).toBeCloseTo(40_000_000);
  });
  it('rounds half-up to whole micros', () => {
    expect([roundMicros(1.5), roundMicros(2.4999), roundMicros(0)]).toEqual([2, 2, 0]);
  });
});

describe('second price', () => {
  it("reproduces the seed's worked example: B wins and pays $3.33 per click", () => {
    // Seed Part 6: A $5.00 × 0.10, B $4.00 × 0.15, C $6.00 × 0.05 (CPC bids).
    const bids: AuctionBid[] = [
      { id: 'A', model: 'cpc', bid_micros: 5_000_000, prediction: p(0.1) },
      { id: 'B', model: 'cpc', bid_micros: 4_000_000, prediction: p(0.15) },
      { id: 'C', model: 'cpc', bid_micros: 6_000_000, prediction: p(0.05) },
    ];
    const out = runAuction(bids, secondPrice());
    expect(out.winners.map((w) => [w.id, w.price_micros])).toEqual([['B', 3_333_333]]);
    expect(out.losers.map((l) => [l.id, l.reason])).toEqual([
      ['A', LossReason.LostToHigherBid],
      ['C', LossReason.LostToHigherBid],
    ]);
  });

  it('never charges above the bid, and adds the increment to the runner-up price', () => {
    const out = runAuction(
      [
        { id: 'a', model: 'cpm', bid_micros: 1_000_000, prediction: p(0) },
        { id: 'b', model: 'cpm', bid_micros: 999_990, prediction: p(0) },
      ],
      secondPrice(0, 10_000),
    );
    expect(out.winners[0]?.price_micros).toBe(1_000_000);
  });

  it('drops candidates under the floor (loss reason 100) and charges the floor to a lone bidder', () => {
    const out = runAuction(
      [
        { id: 'low', model: 'cpm', bid_micros: 400_000, prediction: p(0) },
        { id: 'ok', model: 'cpm', bid_micros: 900_000, prediction: p(0) },
      ],
      secondPrice(500_000),
    );
    expect(out.winners[0]).toMatchObject({ id: 'ok', price_micros: 500_000 });
    expect(out.losers).toEqual([
      { id: 'low', tier: 'open', ecpm_micros: 400_000, reason: LossReason.BelowAuctionFloor },
    ]);
  });

  it('breaks eCPM ties by raw bid, then by id, whatever the input order', () => {
    const tied: AuctionBid[] = [
      { id: 'z', model: 'cpm', bid_micros: 1_000_000, prediction: p(0) },
      { id: 'y', model: 'cpc', bid_micros: 10_000_000, prediction: p(0.0001) }, // eCPM 1_000_000
      { id: 'x', model: 'cpm', bid_micros: 1_000_000, prediction: p(0) },
    ];
    const winner = (bids: AuctionBid[]) => runAuction(bids, secondPrice()).winners[0]?.id;
    expect(winner(tied)).toBe('y');
    expect(winner([...tied].reverse())).toBe('y');
    expect(winner(tied.filter((t) => t.id !== 'y'))).toBe('x');
  });

  it('has no winner when nothing clears', () => {
    expect(runAuction([], secondPrice()).winners).toEqual([]);
  });
});
