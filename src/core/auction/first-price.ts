/**
 * First price (OpenRTB `at` = 1): every winner pays its own bid, so its clearing eCPM is its own
 * eCPM. Slot factors only order the slots; they do not change a first price.
 */
import type { Entry, Segment } from './rank.js';

export function firstPriceClearingEcpm(seg: Segment): number[] {
  const out: number[] = [];
  for (let i = 0; i < seg.winners; i++) out.push((seg.ranked[i] as Entry).ecpm);
  return out;
}
