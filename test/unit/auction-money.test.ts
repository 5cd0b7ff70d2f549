/**
 * Money at the engine's boundaries (issue 3 items 1 and 5): decimal units ↔ integer micros,
 * and external OpenRTB bids through currency conversion and bid adjustment.
 */
import { describe, expect, it } from 'vitest';
import {
  clearingPriceInBidCurrencyMicros,
  externalBidCpmMicros,
  floorToAuctionMicros,
  microsToUnits,
  runAuction,
  unitsToMicros,
  type ExchangeRates,
} from '../../src/core/auction/index.js';

describe('unitsToMicros: half-up on the decimal as written', () => {
  it.each([
    [10, 10_000_000],
    [3.333333, 3_333_333],
    [0.0000005, 1], // half a micro rounds up
    [0.0000004999, 0],
    [0.1250005, 125_001], // the double is just below …0005; naive x × 1e6 + 0.5 gives 125_000
    [0.0040005, 4_001],
    [1e-7, 0],
    [123456.7654325, 123_456_765_433],
    [0.1 + 0.2, 300_000], // 0.30000000000000004
    [2.5e-6, 3],
    [0, 0],
    [-1.5, -1_500_000],
  ])('%d → %d', (units, micros) => {
    expect(unitsToMicros(units)).toBe(micros);
  });

  it('gives NaN for non-finite amounts and amounts beyond safe-integer micros', () => {
    expect(unitsToMicros(Number.NaN)).toBeNaN();
    expect(unitsToMicros(Number.POSITIVE_INFINITY)).toBeNaN();
    expect(unitsToMicros(1e12)).toBeNaN();
  });

  it('microsToUnits prints at most six decimals', () => {
    expect(JSON.stringify([3_333_333, 6_833_333, 4_200_000, 1].map(microsToUnits))).toBe(
      '[3.333333,6.833333,4.2,0.000001]',
    );
  });
});

describe('external OpenRTB bids', () => {
  const rates: ExchangeRates = { auction_currency: 'USD', rates: { EUR: 1.1, JPY: 0.0067 } };

  it('converts the bid price into the auction currency and applies the bidder adjustment', () => {
    // €2.00 CPM × 1.1 $/€ × 0.9 adjustment = $1.98 CPM.
    expect(externalBidCpmMicros(2_000_000, 'EUR', rates, 0.9)).toBe(1_980_000);
    expect(externalBidCpmMicros(2_000_000, 'usd', rates)).toBe(2_000_000);
    expect(externalBidCpmMicros(300_000_000, 'JPY', rates)).toBe(2_010_000);
  });

  it('returns null for an unknown currency or an unusable adjustment (the caller drops the bid)', () => {
    expect(externalBidCpmMicros(1_000_000, 'TYR', rates)).toBeNull();
    expect(externalBidCpmMicros(1_000_000, 'EUR', rates, 0)).toBeNull();
    expect(externalBidCpmMicros(1_000_000, 'toString', rates)).toBeNull();
  });

  it('converts floors without the adjustment', () => {
    expect(floorToAuctionMicros(1_000_000, 'EUR', rates)).toBe(1_100_000);
    expect(floorToAuctionMicros(1_000_000, 'XXX', rates)).toBeNull();
  });

  it('reports ${AUCTION_PRICE} in the bid currency, undoing the adjustment, never above the bid', () => {
    // The €2.00 bid ranks at $1.98 and clears at $1.50: 1.5 / (1.1 × 0.9) = €1.515151… → 1_515_152.
    expect(clearingPriceInBidCurrencyMicros(1_500_000, 2_000_000, 'EUR', rates, 0.9)).toBe(
      1_515_152,
    );
    expect(clearingPriceInBidCurrencyMicros(1_980_000, 2_000_000, 'EUR', rates, 0.9)).toBe(
      2_000_000,
    );
  });

  it('an external bid competes with internal CPC demand in one eCPM space', () => {
    const dsp = externalBidCpmMicros(2_000_000, 'EUR', rates, 0.9) as number; // $1.98 CPM
    const out = runAuction(
      [
        { id: 'dsp', model: 'cpm', bid_micros: dsp, prediction: { ctr: 0, cvr: 0 } },
        { id: 'cpc', model: 'cpc', bid_micros: 150_000, prediction: { ctr: 0.01, cvr: 0 } },
      ],
      { mechanism: 'second_price', slot_factors: [1], reserve_cpm_micros: 0, increment_micros: 0 },
    );
    expect(out.winners[0]).toMatchObject({ id: 'dsp', price_micros: 1_500_000 });
    expect(clearingPriceInBidCurrencyMicros(1_500_000, 2_000_000, 'EUR', rates, 0.9)).toBe(
      1_515_152,
    );
  });
});
