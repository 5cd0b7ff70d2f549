/**
 * One auction: bids in any pricing model → eCPM → eligibility → tiers → mechanism → prices in
 * each winner's own unit, and a loss reason for every other bid (issue 3; seed Part 6).
 *
 * Implementation notes
 * - Eligibility, in this order: a bid the engine cannot price (negative or fractional micros,
 *   a CTR/CVR outside (0, 1] for cpc/cpa) loses with 3 "Invalid Bid Response"; a paid bid under
 *   its deal floor loses with 101, under the reserve or impression floor (or with eCPM 0) with
 *   100. House ads skip the floors (tiers.ts).
 * - Prices: the mechanism gives a clearing eCPM per winner (first-price.ts, gsp.ts, vcg.ts),
 *   raised to the bid's own floor and never above its own eCPM. It goes back into the winner's
 *   unit, rounded half-up to whole micros (the one rounding step, issue 3 item 5), plus the
 *   increment for second price/GSP ("+ ε", seed Part 6; issue 3 item 8: "max(next eligible
 *   eCPM, reserve) converted to the winner's unit, plus the increment, capped at the bid"), and
 *   capped at the bid. First price and booked lines pay the bid itself, with no conversion.
 * - Loss reasons for bids that took part but won nothing: 103 when the bid out-ranked, on eCPM,
 *   a deal that took a slot (it lost to a deal's priority), 500 (ours) when it out-ranked some
 *   other higher-priority winner, otherwise 102 "Lost to Higher Bid".
 * - Cost: O(N·K) for N bids and K slots. Per bid: its eCPM and a state code in two arrays, and
 *   its outcome object; the ranking record (rank.ts Entry) is made only for bids that can still
 *   enter their tier's top K+1 when they are seen, which is few of them in a large auction.
 */
import { LossReason } from '../reasons.js';
import { isPriceableBid, priceInModelUnitMicros, rankingEcpmMicros, roundMicros } from './ecpm.js';
import { firstPriceClearingEcpm } from './first-price.js';
import { gspClearingEcpm } from './gsp.js';
import { insertTop, makeOutranks, type Entry, type Segment } from './rank.js';
import { secondPriceClearingEcpm } from './second-price.js';
import { allocateTiers, TIER_PRICING, tierIndexOf } from './tiers.js';
import {
  MECHANISMS,
  TIERS,
  type AuctionBid,
  type AuctionConfig,
  type AuctionLoser,
  type AuctionResult,
  type AuctionWinner,
  type Mechanism,
  type Tier,
} from './types.js';
import { vcgClearingEcpm } from './vcg.js';

/** A configuration the engine cannot run (a programming or configuration error, not a bid). */
export class AuctionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuctionConfigError';
  }
}

const CLEARING: Readonly<Record<Mechanism, (seg: Segment) => number[]>> = {
  first_price: firstPriceClearingEcpm,
  second_price: secondPriceClearingEcpm,
  gsp: gspClearingEcpm,
  vcg: vcgClearingEcpm,
};

const isNonNegativeNumber = (x: unknown): x is number =>
  typeof x === 'number' && Number.isFinite(x) && x >= 0;

export function validateAuctionConfig(config: AuctionConfig): void {
  if (!MECHANISMS.includes(config.mechanism)) {
    throw new AuctionConfigError(`unknown mechanism '${String(config.mechanism)}'`);
  }
  const alphas = config.slot_factors;
  if (alphas.length === 0) throw new AuctionConfigError('slot_factors must not be empty');
  let previous = 1;
  for (let k = 0; k < alphas.length; k++) {
    const a = alphas[k];
    if (typeof a !== 'number' || !(a > 0 && a <= 1)) {
      throw new AuctionConfigError(`slot_factors[${k}] must be in (0, 1], got ${String(a)}`);
    }
    if (a > previous) {
      throw new AuctionConfigError(
        `slot_factors must be non-increasing (α₁ ≥ α₂ ≥ …): slot_factors[${k}] = ${a} > ${previous}`,
      );
    }
    previous = a;
  }
  if (!isNonNegativeNumber(config.reserve_cpm_micros)) {
    throw new AuctionConfigError('reserve_cpm_micros must be a finite number ≥ 0');
  }
  if (config.floor_cpm_micros !== undefined && !isNonNegativeNumber(config.floor_cpm_micros)) {
    throw new AuctionConfigError('floor_cpm_micros must be a finite number ≥ 0');
  }
  if (!Number.isSafeInteger(config.increment_micros) || config.increment_micros < 0) {
    throw new AuctionConfigError('increment_micros must be a whole number of micros ≥ 0');
  }
  const tb = config.tie_break;
  if (tb !== undefined && tb.kind === 'seeded' && !Number.isInteger(tb.seed)) {
    throw new AuctionConfigError('tie_break.seed must be an integer');
  }
}

// Per-bid states besides a loss reason (≥ 0) decided before allocation.
const TOOK_PART = -1;
const WON = -2;

export function runAuction(bids: readonly AuctionBid[], config: AuctionConfig): AuctionResult {
  validateAuctionConfig(config);
  const slotFactors = config.slot_factors;
  const capacity = slotFactors.length + 1;
  const outranks = makeOutranks(config.tie_break);
  const reserve = config.reserve_cpm_micros;
  const impressionFloor = Math.max(reserve, config.floor_cpm_micros ?? 0);

  const n = bids.length;
  // Per bid, in input order: its ranking eCPM, and its state (a loss reason decided up front,
  // TOOK_PART or WON). Plain packed arrays: small typed arrays cost more to create than a whole
  // 10-bid auction's ranking.
  const ecpms: number[] = [];
  const state: number[] = [];
  const tops: Entry[][] = [[], [], [], []]; // one per tier, in TIERS order
  // Entry objects are made only for bids that may reach their tier's top K+1 (and for the
  // rare exact eCPM tie later): most bids of a large auction never need one.
  const entryFor = (i: number): Entry => {
    const bid = bids[i] as AuctionBid;
    const tier: Tier = bid.tier ?? 'open';
    const dealFloor = tier === 'deal' ? bid.deal_floor_cpm_micros : undefined;
    return {
      bid,
      index: i,
      tier,
      ecpm: ecpms[i] as number,
      thresholdEcpm:
        tier === 'house'
          ? 0
          : dealFloor !== undefined
            ? Math.max(reserve, dealFloor)
            : impressionFloor,
      tieKey: -1,
    };
  };

  for (let i = 0; i < n; i++) {
    const bid = bids[i] as AuctionBid;
    const tier: Tier = bid.tier ?? 'open';
    const tierIndex = tierIndexOf(tier);
    const dealFloor = tier === 'deal' ? bid.deal_floor_cpm_micros : undefined;
    if (
      tierIndex < 0 ||
      !isPriceableBid(bid.model, bid.bid_micros, bid.prediction) ||
      (dealFloor !== undefined && !isNonNegativeNumber(dealFloor))
    ) {
      ecpms.push(0);
      state.push(LossReason.InvalidBidResponse);
      continue;
    }
    const ecpm = rankingEcpmMicros(bid.model, bid.bid_micros, bid.prediction);
    ecpms.push(ecpm);
    if (tier !== 'house') {
      const threshold = dealFloor !== undefined ? Math.max(reserve, dealFloor) : impressionFloor;
      if (ecpm <= 0 || ecpm < threshold) {
        state.push(
          dealFloor !== undefined && ecpm < dealFloor
            ? LossReason.BelowDealFloor
            : LossReason.BelowAuctionFloor,
        );
        continue;
      }
    }
    state.push(TOOK_PART);
    const top = tops[tierIndex] as Entry[];
    const last = top.length === capacity ? top[capacity - 1] : undefined;
    if (last !== undefined && ecpm < last.ecpm) continue; // cannot enter the top K+1
    insertTop(top, entryFor(i), capacity, outranks);
  }

  const shares = allocateTiers(tops, TIERS, slotFactors, (tier) =>
    tier === 'deal' ? reserve : impressionFloor,
  );

  const winners: AuctionWinner[] = [];
  let worstWinner: Entry | undefined;
  let worstDealWinner: Entry | undefined;
  for (const { tier, firstSlot, segment } of shares) {
    const pricing = TIER_PRICING[tier];
    const clearings =
      pricing === 'auction' && config.mechanism !== 'first_price'
        ? CLEARING[config.mechanism](segment)
        : undefined;
    for (let i = 0; i < segment.winners; i++) {
      const e = segment.ranked[i] as Entry;
      const { bid } = e;
      let clearingEcpm: number;
      let priceMicros: number;
      if (pricing === 'free') {
        clearingEcpm = 0;
        priceMicros = 0;
      } else if (clearings === undefined) {
        // Booked lines and first price: the bid itself, no round trip through eCPM.
        clearingEcpm = e.ecpm;
        priceMicros = bid.bid_micros;
      } else {
        clearingEcpm = Math.min(e.ecpm, Math.max(clearings[i] as number, e.thresholdEcpm));
        const unitMicros = roundMicros(
          priceInModelUnitMicros(bid.model, clearingEcpm, bid.prediction),
        );
        const increment = config.mechanism === 'vcg' ? 0 : config.increment_micros;
        priceMicros = Math.min(bid.bid_micros, unitMicros + increment);
      }
      state[e.index] = WON;
      if (worstWinner === undefined || outranks(worstWinner, e)) worstWinner = e;
      if (tier === 'deal' && (worstDealWinner === undefined || outranks(worstDealWinner, e))) {
        worstDealWinner = e;
      }
      winners.push({
        id: bid.id,
        slot: firstSlot + i,
        tier,
        model: bid.model,
        bid_micros: bid.bid_micros,
        ecpm_micros: e.ecpm,
        clearing_ecpm_micros: clearingEcpm,
        price_micros: priceMicros,
      });
    }
  }

  // `beats(i, w)`: bid i out-ranks winner w; an Entry is built only for an exact eCPM tie.
  const beats = (i: number, w: Entry | undefined): boolean => {
    if (w === undefined) return false;
    const ecpm = ecpms[i] as number;
    return ecpm !== w.ecpm ? ecpm > w.ecpm : outranks(entryFor(i), w);
  };
  const losers: AuctionLoser[] = [];
  for (let i = 0; i < n; i++) {
    const s = state[i] as number;
    if (s === WON) continue;
    const bid = bids[i] as AuctionBid;
    const tier: Tier = bid.tier ?? 'open';
    let reason: LossReason;
    if (s !== TOOK_PART) reason = s as LossReason;
    else if (tier !== 'deal' && beats(i, worstDealWinner)) reason = LossReason.LostToDeal;
    else if (beats(i, worstWinner)) reason = LossReason.LostToHigherPriority;
    else reason = LossReason.LostToHigherBid;
    losers.push({ id: bid.id, tier, ecpm_micros: ecpms[i] as number, reason });
  }
  return { winners, losers };
}
