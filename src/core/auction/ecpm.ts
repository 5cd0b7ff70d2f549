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
