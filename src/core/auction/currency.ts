/**
 * External OpenRTB bids in the auction: currency conversion and per-bidder bid adjustment
 * (issue 3, item 1: "external OpenRTB bids → price (CPM) after currency conversion and
 * per-bidder bid adjustment").
 *
 * Implementation notes
 * - An OpenRTB `bid.price` is CPM in `BidResponse.cur` (default USD, 2.6 §4.2.1). It enters
 *   the auction as a cpm bid: price × rate(cur → auction currency) × adjustment, rounded
 *   half-up to micros. The adjustment is prebid-server's `bidadjustmentfactors`: a per-bidder
 *   multiplier (e.g. 0.9 for a bidder known to bid gross of its fee).
 * - Floors (`imp.bidfloor` in `bidfloorcur`, `deal.bidfloor` in its own `bidfloorcur`, which
 *   does not inherit the impression's; RULES.md rule 30) are converted the same way, without
 *   the adjustment.
 * - The price charged goes back through the inverse: `${AUCTION_PRICE}` is "the clearing price
 *   in the bid's currency and units" (2.6 §4.4), never above the bid's own price.
 * - An unknown currency gives `null`: the caller drops the bid (RULES.md rule 44; PBS drops the
 *   seatbid), which is data, not an exception.
 */
import { roundMicros } from './ecpm.js';

/** Units of the auction currency per unit of each currency; the auction currency is 1. */
export interface ExchangeRates {
  auction_currency: string; // ISO 4217, e.g. "USD"
  rates: Readonly<Record<string, number>>;
}

function rate(rates: ExchangeRates, currency: string): number | null {
  const cur = currency.toUpperCase();
  if (cur === rates.auction_currency) return 1;
  const r = Object.hasOwn(rates.rates, cur) ? rates.rates[cur] : undefined;
  return r !== undefined && Number.isFinite(r) && r > 0 ? r : null;
}

/** A floor in its own currency → eCPM micros of the auction currency (null: unknown currency). */
export function floorToAuctionMicros(
  floorMicros: number,
  currency: string,
  rates: ExchangeRates,
): number | null {
  const r = rate(rates, currency);
  return r === null ? null : roundMicros(floorMicros * r);
}

/** An OpenRTB bid price (CPM micros in `currency`) → the cpm bid the auction ranks. */
export function externalBidCpmMicros(
  priceMicros: number,
  currency: string,
  rates: ExchangeRates,
  adjustment = 1,
): number | null {
  const r = rate(rates, currency);
  if (r === null || !(Number.isFinite(adjustment) && adjustment > 0)) return null;
  return roundMicros(priceMicros * r * adjustment);
}

/**
 * A clearing price (CPM micros in the auction currency) → `${AUCTION_PRICE}` in the bid's own
 * currency, undoing the adjustment, never above the original bid price.
 */
export function clearingPriceInBidCurrencyMicros(
  clearingMicros: number,
  bidPriceMicros: number,
  currency: string,
  rates: ExchangeRates,
  adjustment = 1,
): number | null {
  const r = rate(rates, currency);
  if (r === null || !(Number.isFinite(adjustment) && adjustment > 0)) return null;
  return Math.min(bidPriceMicros, roundMicros(clearingMicros / (r * adjustment)));
}
