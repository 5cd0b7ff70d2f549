/**
 * eCPM normalisation: every pricing model is ranked in one currency unit, micros per
 * 1000 impressions (seed Part 6: eCPM = bid × CTR × 1000).
 *
 *   cpm: eCPM = bid
 *   cpc: eCPM = bid × pCTR × 1000
 *   cpa: eCPM = bid × pCTR × pCVR × 1000
 *
 * eCPM values are real numbers (fractions of a micro are kept for ranking); only the price
 * charged is rounded, half-up to whole micros, when it leaves the engine.
 *
 * For ranking, eCPM is snapped to a grid of 1/1000 micro (rankingEcpmMicros): products of
 * decimal inputs that are equal in exact arithmetic (3 × 0.1 vs 0.3) can differ in the last bit
 * of a double, and a tie must stay a tie so that the tie-break rule (issue 3, item 6) decides
 * it. Snapping is a function of one value, so the order stays transitive.
 */
import type { PricingModel } from '../domain/entities.js';

export interface Prediction {
  ctr: number; // probability of a click given an impression
  cvr: number; // probability of an action given a click
}

export function ecpmMicros(model: PricingModel, bidMicros: number, p: Prediction): number {
  switch (model) {
    case 'cpm':
      return bidMicros;
    case 'cpc':
      return bidMicros * p.ctr * 1000;
    case 'cpa':
      return bidMicros * p.ctr * p.cvr * 1000;
  }
}

const ECPM_GRID = 1000; // steps per micro

/** eCPM as ranked by the auction: ecpmMicros snapped to 1/1000 micro. */
export function rankingEcpmMicros(model: PricingModel, bidMicros: number, p: Prediction): number {
  return Math.round(ecpmMicros(model, bidMicros, p) * ECPM_GRID) / ECPM_GRID;
}

const isProbability = (x: number): boolean => Number.isFinite(x) && x > 0 && x <= 1;

/**
 * A bid the engine can price: a non-negative safe-integer amount, and for cpc/cpa the
 * probabilities it is divided by when the price goes back into its unit are in (0, 1].
 */
export function isPriceableBid(model: PricingModel, bidMicros: number, p: Prediction): boolean {
  if (!Number.isSafeInteger(bidMicros) || bidMicros < 0) return false;
  switch (model) {
    case 'cpm':
      return true;
    case 'cpc':
      return isProbability(p.ctr);
    case 'cpa':
      return isProbability(p.ctr) && isProbability(p.cvr);
    default:
      return false; // an unknown model from untyped input
  }
}

/** Converts a clearing eCPM back into the model's own billing unit (inverse of ecpmMicros). */
export function priceInModelUnitMicros(
  model: PricingModel,
  clearingEcpmMicros: number,
  p: Prediction,
): number {
  switch (model) {
    case 'cpm':
      return clearingEcpmMicros;
    case 'cpc':
      return p.ctr > 0 ? clearingEcpmMicros / (p.ctr * 1000) : 0;
    case 'cpa':
      return p.ctr > 0 && p.cvr > 0 ? clearingEcpmMicros / (p.ctr * p.cvr * 1000) : 0;
  }
}

/** Half-up rounding to whole micros: the only place money becomes an integer. */
export function roundMicros(x: number): number {
  return Math.floor(x + 0.5);
}
