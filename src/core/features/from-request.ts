/**
 * Serving side of the feature pipeline: one decision's request, the user's profile and one
 * candidate become a `CtrInput`. Training reads the same `CtrInput` back from the impression log
 * (it is logged as JSON at decision time), so both sides run `vectorize` on identical inputs.
 *
 * Time comes in as an argument (`nowMs`, `utcOffsetMinutes`): core reads no clock.
 */
import type { AdRequest } from '../domain/ad-request.js';
import type { Campaign, Creative } from '../domain/entities.js';
import {
  CATEGORIES,
  type AdInput,
  type CtrInput,
  type HistoryInput,
  type UserInput,
} from './input.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface DecisionFeatureArgs {
  request: AdRequest;
  /** From the profile store (L1/L2/L3 cache); absent for unknown users. */
  profile?: UserInput;
  campaign: Pick<Campaign, 'id' | 'advertiser_id' | 'pricing_model' | 'bid_micros'>;
  creative: Pick<Creative, 'format'>;
  /** Catalog and near-real-time aggregates of the ad (global CTR, quality, category …). */
  adFacts?: Omit<AdInput, 'advertiserId' | 'campaignId' | 'creativeType' | 'bidCpm'>;
  history?: HistoryInput;
  /** The placement's kind (feed, story, search …) when the publisher declares one. */
  placementKind?: string;
  nowMs: number;
  /** Offset of the user's local time from UTC, in minutes (e.g. -300 for New York in winter). */
  utcOffsetMinutes?: number;
  connection?: string;
  screenWidth?: number;
}

/** Local hour (0..23) and day of week (0 = Sunday) of an instant. */
export function localHourAndDay(
  nowMs: number,
  utcOffsetMinutes: number,
): { hour: number; dayOfWeek: number } {
  const local = nowMs + utcOffsetMinutes * 60_000;
  const hour = Math.floor((((local % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS);
  // 1970-01-01 was a Thursday (4).
  const dayOfWeek = (((Math.floor(local / DAY_MS) + 4) % 7) + 7) % 7;
  return { hour, dayOfWeek };
}

export function fromDecision(a: DecisionFeatureArgs): CtrInput {
  const { request } = a;
  const user: UserInput = { ...a.profile };
  if (request.geo?.country !== undefined) user.country = request.geo.country;
  if (request.geo?.region !== undefined) user.region = request.geo.region;
  // Interests listed in the request are known: listed → 1, unlisted → 0. A profile's graded
  // scores win. Without either, interests stay missing (NaN), not 0.
  const listed = request.user?.interests;
  if (user.interests === undefined && listed !== undefined) {
    const set = new Set(listed.map((s) => s.toLowerCase()));
    user.interests = Object.fromEntries(CATEGORIES.map((c) => [c, set.has(c) ? 1 : 0]));
  }
  const { hour, dayOfWeek } = localHourAndDay(a.nowMs, a.utcOffsetMinutes ?? 0);
  const ad: AdInput = {
    ...a.adFacts,
    advertiserId: a.campaign.advertiser_id,
    campaignId: a.campaign.id,
    creativeType: a.creative.format,
    // Only a CPM bid is a price per impression; CPC/CPA bids would be a different feature.
    bidCpm: a.campaign.pricing_model === 'cpm' ? a.campaign.bid_micros / 1e6 : undefined,
  };
  return {
    user,
    ad,
    context: {
      hour,
      dayOfWeek,
      device: request.device?.type,
      os: request.device?.os?.toLowerCase(),
      connection: a.connection,
      placement: a.placementKind,
      screenWidth: a.screenWidth,
    },
    history: a.history,
  };
}

/**
 * The `CtrInput` the decision path scores (src/exchange/prediction.ts) and the one training
 * from the event ledger rebuilds (src/ml/ledger/): `fromDecision`, then the local hour and
 * weekday are cleared, because a request carries no time zone and the UTC hour is not the
 * user's hour. One function for both sides, so a change here moves training and serving
 * together (test/ml/ledger-train.test.ts checks the two vectors are equal).
 */
export function servingInput(a: DecisionFeatureArgs): CtrInput {
  const input = fromDecision(a);
  input.context.hour = undefined;
  input.context.dayOfWeek = undefined;
  return input;
}
