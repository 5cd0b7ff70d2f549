import type { Creative, Placement } from '../domain/entities.js';

/** A creative fits a placement when it is approved, active, of the same format and size. */
export function creativeFits(creative: Creative, placement: Placement): boolean {
  if (creative.status !== 'active' || creative.approval !== 'approved') return false;
  if (creative.format !== placement.format) return false;
  if (placement.w !== null && creative.w !== null && creative.w !== placement.w) return false;
  if (placement.h !== null && creative.h !== null && creative.h !== placement.h) return false;
  return true;
}
