/** Derived report metrics (issue 7, hourly rollups). Pure; money in integer micros. */
import { roundMicros } from '../auction/ecpm.js';

/** Clicks per impression; 0 when there were no impressions. */
export function ctr(impressions: number, clicks: number): number {
  return impressions > 0 ? clicks / impressions : 0;
}

/** Effective CPM in micros: spend per thousand impressions, rounded half-up; 0 without impressions. */
export function ecpmMicros(impressions: number, spendMicros: number): number {
  return impressions > 0 ? roundMicros((spendMicros * 1000) / impressions) : 0;
}
