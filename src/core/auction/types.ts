/**
 * The auction engine's data: bids in, winners and losers out.
 *
 * Field names are snake_case with the unit in the name, like the rest of the domain
 * (docs/decisions/0002-snake-case-domain.md), because outcomes leave the engine as events, logs
 * and the `adstack auction --explain` output. Money is integer micros (1 unit = 1_000_000);
 * eCPM values are real numbers in micros per 1000 impressions (see ecpm.ts).
 */
import type { PricingModel } from '../domain/entities.js';
import type { LossReason } from '../reasons.js';
import type { Prediction } from './ecpm.js';

/**
 * "first_price": each winner pays its bid. "second_price": single-slot second price plus
 * increment; with several slots it is GSP, its generalisation. "gsp": generalised second price
 * over K slots. "vcg": each winner pays the externality it imposes (seed Part 6).
 */
export type Mechanism = 'first_price' | 'second_price' | 'gsp' | 'vcg';
export const MECHANISMS: readonly Mechanism[] = ['first_price', 'second_price', 'gsp', 'vcg'];

/**
 * Priority tiers, highest first (issue 3, item 3): guaranteed/sponsorship > private deals >
 * open auction > house ads. A higher tier takes the slots first; eCPM ranks within a tier.
 */
export type Tier = 'guaranteed' | 'deal' | 'open' | 'house';
export const TIERS: readonly Tier[] = ['guaranteed', 'deal', 'open', 'house'];

export interface AuctionBid {
  id: string;
  model: PricingModel;
  /** Integer micros in the model's own unit: per mille (cpm), per click (cpc), per action (cpa). */
  bid_micros: number;
  /** pCTR (cpc, cpa) and pCVR (cpa); ignored for cpm. */
  prediction: Prediction;
  /** Default 'open'. */
  tier?: Tier;
  /**
   * Deal tier only: the deal's floor in eCPM micros of the auction currency (OpenRTB
   * `pmp.deals[].bidfloor` after conversion). It takes precedence over the impression floor
   * (openrtb-corpus/RULES.md rule 46); a deal bid below it loses with reason 101.
   */
  deal_floor_cpm_micros?: number;
}

/** Equal eCPM → higher raw bid → lower id (default), or a seed-derived order (production). */
export type TieBreak = { kind: 'bid_then_id' } | { kind: 'seeded'; seed: number };

export interface AuctionConfig {
  mechanism: Mechanism;
  /** Position factors α₁ ≥ α₂ ≥ … in (0, 1]; a bid's value in slot k is α_k × eCPM. */
  slot_factors: readonly number[];
  /** Seller reserve in eCPM micros: the minimum eCPM to take part and to clear at. */
  reserve_cpm_micros: number;
  /** Per-impression floor in eCPM micros (OpenRTB `imp.bidfloor` in the auction currency). */
  floor_cpm_micros?: number;
  /** Added to second-price/GSP prices, in the winner's own unit (seed: "+ ε, e.g. $0.01"). */
  increment_micros: number;
  tie_break?: TieBreak;
}

export interface AuctionWinner {
  id: string;
  slot: number; // 0-based, in slot order
  tier: Tier;
  model: PricingModel;
  bid_micros: number;
  ecpm_micros: number;
  /** The eCPM the mechanism cleared at, before the increment, rounding and the bid cap. */
  clearing_ecpm_micros: number;
  /** What the winner is charged, integer micros in its own unit; never above bid_micros. */
  price_micros: number;
}

export interface AuctionLoser {
  id: string;
  tier: Tier;
  ecpm_micros: number;
  reason: LossReason;
}

export interface AuctionResult {
  winners: AuctionWinner[]; // in slot order
  losers: AuctionLoser[]; // in input order; every bid that did not win is here, with a reason
}
