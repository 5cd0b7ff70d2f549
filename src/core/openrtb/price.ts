/**
 * OpenRTB prices are CPM floats on the wire (`bid.price`, `imp.bidfloor`, `deal.bidfloor`);
 * inside, money is integer micros (DESIGN.md §1 item 4). These are the only conversions.
 * 2.6 §4.2.3 asks for decimal, not binary-float, math on prices: unitsToMicros rounds the
 * decimal as written, half-up at the sixth place.
 */
import { microsToUnits, unitsToMicros } from '../auction/index.js';

/** A floor (CPM float, ≥ 0 by validation) → micros; a non-finite value counts as no floor. */
export function floorCpmMicros(cpm: number): number {
  const m = unitsToMicros(cpm);
  return Number.isSafeInteger(m) && m > 0 ? m : 0;
}

/** Micros → the CPM float written on the wire (exact to the micro: at most six decimals). */
export function microsToCpm(micros: number): number {
  return microsToUnits(micros);
}
