/**
 * Single-slot second-price auction in eCPM space with a reserve (the placement floor).
 *
 * Implementation notes
 * - Rank: eCPM desc, then raw bid desc, then id asc (deterministic tie-break).
 * - Candidates below the floor do not take part (loss reason 100).
 * - Clearing eCPM = max(runner-up eCPM + increment, floor), never above the winner's eCPM
 *   (seed Part 6, "Price Determination (Second-Price)").
 * - The price charged is the clearing eCPM converted into the winner's own billing unit,
 *   rounded half-up to micros and never above its bid.
 * The full engine (GSP/VCG, multi-slot, tiers) replaces this in its own issue.
 */
import type { PricingModel } from '../domain/entities.js';
import { LossReason } from '../reasons.js';
import { ecpmMicros, priceInModelUnitMicros, roundMicros, type Prediction } from './ecpm.js';

export interface AuctionCandidate {
  id: string;
  model: PricingModel;
  bid_micros: number;
  prediction: Prediction;
}

export interface RankedCandidate extends AuctionCandidate {
  ecpm_micros: number;
}

export interface AuctionOutcome {
  winner: (RankedCandidate & { clearing_ecpm_micros: number; price_micros: number }) | null;
  losers: { id: string; ecpm_micros: number; reason: LossReason }[];
}

export interface AuctionOptions {
  floor_cpm_micros: number;
  increment_micros: number;
}

export function compareRanked(a: RankedCandidate, b: RankedCandidate): number {
  if (a.ecpm_micros !== b.ecpm_micros) return b.ecpm_micros - a.ecpm_micros;
  if (a.bid_micros !== b.bid_micros) return b.bid_micros - a.bid_micros;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function runSecondPrice(
  candidates: readonly AuctionCandidate[],
  opts: AuctionOptions,
): AuctionOutcome {
  const losers: AuctionOutcome['losers'] = [];
  const eligible: RankedCandidate[] = [];
  for (const c of candidates) {
    const ecpm = ecpmMicros(c.model, c.bid_micros, c.prediction);
    if (ecpm < opts.floor_cpm_micros || ecpm <= 0) {
      losers.push({ id: c.id, ecpm_micros: ecpm, reason: LossReason.BelowAuctionFloor });
    } else {
      eligible.push({ ...c, ecpm_micros: ecpm });
    }
  }
  eligible.sort(compareRanked);
  const [top, second, ...rest] = eligible;
  if (top === undefined) return { winner: null, losers };

  const runnerUp = second === undefined ? 0 : second.ecpm_micros + opts.increment_micros;
  const clearing = Math.min(top.ecpm_micros, Math.max(runnerUp, opts.floor_cpm_micros));
  const price = Math.min(
    top.bid_micros,
    roundMicros(priceInModelUnitMicros(top.model, clearing, top.prediction)),
  );
  for (const l of second === undefined ? rest : [second, ...rest]) {
    losers.push({ id: l.id, ecpm_micros: l.ecpm_micros, reason: LossReason.LostToHigherBid });
  }
  return { winner: { ...top, clearing_ecpm_micros: clearing, price_micros: price }, losers };
}
