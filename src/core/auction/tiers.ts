/**
 * Priority tiers (issue 3, item 3): guaranteed/sponsorship > private deals > open auction >
 * house ads, with eCPM ranking inside a tier.
 *
 * Implementation notes
 * - A waterfall over the slots: the guaranteed tier takes the best slots first, the deal tier
 *   the best of what is left, and so on. House ads therefore fill only slots that no paid bid
 *   cleared ("house ads fill only when nothing else clears"), slot by slot.
 * - Each tier is priced on its own bids and the slots left to it. A bid in a lower tier could
 *   not take the slot at any price, so it does not set a higher tier's price: that is GSP's
 *   "least bid that keeps the slot" and VCG's externality within the tier. It keeps the
 *   per-tier guarantees (price ≤ bid, clearing ≥ reserve, monotone slots) intact.
 * - How a tier pays:
 *   guaranteed: its booked rate, i.e. its bid. A sponsorship or guaranteed line is a contract,
 *     not an auction; its bid is the rate agreed with the advertiser.
 *   deal: the configured mechanism among deal bids, each bid at least its deal floor
 *     (OpenRTB private auction; RULES.md rule 54: deals may be prioritised, never discounted).
 *   open: the configured mechanism.
 *   house: nothing. House ads are the publisher's own; they ignore reserves and floors.
 * - The reserve and the impression floor apply to every paid tier; for a deal bid the deal
 *   floor replaces the impression floor (RULES.md rule 46: "Floor precedence for a deal bid:
 *   Deal floor, then … imp.bidfloor"), the seller's reserve still applies.
 */
import type { Entry, Segment } from './rank.js';
import type { Tier } from './types.js';

export type TierPricing = 'booked' | 'auction' | 'free';

export const TIER_PRICING: Readonly<Record<Tier, TierPricing>> = {
  guaranteed: 'booked',
  deal: 'auction',
  open: 'auction',
  house: 'free',
};

/**
 * Tier → its position in TIERS, i.e. in the waterfall (0 = first to take slots); -1 for a value
 * that is not a tier (untyped input). A switch rather than a keyed lookup: it runs once per bid.
 */
export function tierIndexOf(tier: Tier): number {
  switch (tier) {
    case 'open':
      return 2;
    case 'deal':
      return 1;
    case 'guaranteed':
      return 0;
    case 'house':
      return 3;
    default:
      return -1;
  }
}

export interface TierShare {
  tier: Tier;
  firstSlot: number;
  segment: Segment;
}

/**
 * Splits the slots between tiers in priority order. `tops[t]` holds tier t's best bids, best
 * first (at least slots+1 of them when the tier has that many). Tiers that take no slot are
 * left out.
 */
export function allocateTiers(
  tops: readonly (readonly Entry[])[],
  tiers: readonly Tier[],
  slotFactors: readonly number[],
  reserveByTier: (tier: Tier) => number,
): TierShare[] {
  const shares: TierShare[] = [];
  let firstSlot = 0;
  for (let t = 0; t < tiers.length && firstSlot < slotFactors.length; t++) {
    const ranked = tops[t] ?? [];
    if (ranked.length === 0) continue;
    const tier = tiers[t] as Tier;
    const alphas = slotFactors.slice(firstSlot);
    const winners = Math.min(alphas.length, ranked.length);
    shares.push({
      tier,
      firstSlot,
      segment: { ranked, winners, alphas, reserveEcpm: reserveByTier(tier) },
    });
    firstSlot += winners;
  }
  return shares;
}
