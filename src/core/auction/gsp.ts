/**
 * Generalised second price over K slots (seed Part 6, "Generalized Second-Price (GSP) Auction").
 *
 * Implementation notes
 * - The winner of slot k pays the least it could have bid and still kept slot k: the eCPM of
 *   the bid ranked next, or the reserve if that is higher, turned back into its own unit by
 *   the caller. Per click that is eCPM_{k+1} / (CTR_k × 1000), the seed's
 *   p_w = eCPM_2nd / (CTR_w × 1000); the position factor α multiplies both the value and the
 *   clicks of slot k, so it cancels out of the per-unit price.
 * - "Next" means next in the same tier: a lower tier could not take the slot at any bid, so it
 *   does not set the price (tiers.ts).
 * - Never above the winner's own eCPM: the next bid ranks below it and the reserve is a
 *   condition for taking part.
 */
import type { Segment } from './rank.js';

export function gspClearingEcpm(seg: Segment): number[] {
  const out: number[] = [];
  for (let i = 0; i < seg.winners; i++) {
    const next = seg.ranked[i + 1];
    out.push(Math.max(next === undefined ? 0 : next.ecpm, seg.reserveEcpm));
  }
  return out;
}
