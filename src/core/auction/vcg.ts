/**
 * VCG over K slots (seed Part 6, "VCG (Vickrey-Clarke-Groves) Auction"): each winner pays the
 * externality it imposes on the others.
 *
 * Implementation notes
 * - Values are separable: bid i in slot k is worth α_k × eCPM_i, and the efficient allocation
 *   is the eCPM order (the same allocation as GSP). Removing the winner of slot k moves every
 *   bid below it up one slot, so its externality per mille of impressions is the telescoping
 *   sum (Varian 2007; Edelman, Ostrovsky & Schwarz 2007):
 *
 *     P_k = Σ_{j=k+1}^{m+1} (α_{j-1} − α_j) × e_j,   α_{m+1} = 0,
 *
 *   with m the number of slots and e_j the eCPM ranked j-th. This is the seed's "welfare of the
 *   others without k minus with k" computed in O(K) per slot, not by re-running the auction.
 *   Worked example (α = .3/.2/.1; eCPM A 2.0, B 2.0, C 1.2, D 0.9 per impression):
 *   P_A = .1×2.0 + .1×1.2 + .1×0.9 = 0.41, as the seed finds (0.93 − 0.52).
 * - The reserve is the seller bidding r in every slot: positions that no bid fills are filled
 *   by the seller at r, and a bid below r takes no slot. So e_j above is max(e_j, r), and
 *   j-th positions past the last bid count as r. With one slot this is max(second, r): the
 *   second price. It also makes P_k ≥ α_k × r (clearing at least the reserve) and, since each
 *   term is at most the next bid's eCPM, P_k ≤ α_k × e_{k+1} (never above GSP).
 * - The charge per unit of the winner's own billing event is P_k / α_k converted back into its
 *   unit: for CPC, P_k / (α_k × CTR × 1000) per click, the seed's "$0.41 / (0.20 × 0.3)".
 *   This function returns the clearing eCPM P_k / α_k.
 */
import type { Segment } from './rank.js';

export function vcgClearingEcpm(seg: Segment): number[] {
  const { ranked, alphas, reserveEcpm: r } = seg;
  const m = alphas.length;
  // value[j] = max(e_j, r) for positions 0..m (0-based), r where no bid is ranked there.
  const value: number[] = [];
  for (let j = 0; j <= m; j++) {
    const e = ranked[j];
    value.push(e === undefined ? r : Math.max(e.ecpm, r));
  }
  const out: number[] = [];
  for (let k = 0; k < seg.winners; k++) {
    let payment = 0;
    for (let j = k + 1; j <= m; j++) {
      const above = alphas[j - 1] as number;
      const here = j < m ? (alphas[j] as number) : 0;
      payment += (above - here) * (value[j] as number);
    }
    out.push(payment / (alphas[k] as number));
  }
  return out;
}
