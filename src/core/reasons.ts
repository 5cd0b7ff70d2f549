/**
 * Closed enums for every "no": why a campaign was filtered, why a decision has no fill.
 * Each value is stable and appears in metrics labels, logs and (later) the debug explain output.
 */

/** Why one campaign (or creative) was not a candidate for one request. */
export const FilterReason = {
  CampaignNotActive: 'campaign_not_active',
  FlightNotStarted: 'flight_not_started',
  FlightEnded: 'flight_ended',
  PlacementNotTargeted: 'placement_not_targeted',
  CountryNotTargeted: 'country_not_targeted',
  RegionNotTargeted: 'region_not_targeted',
  DeviceNotTargeted: 'device_not_targeted',
  OsNotTargeted: 'os_not_targeted',
  InterestNotTargeted: 'interest_not_targeted',
  OutsideDaypart: 'outside_daypart',
  NoMatchingCreative: 'no_matching_creative',
  BelowFloor: 'below_floor',
  FrequencyCapped: 'frequency_capped',
  /** The campaign's budget (daily or lifetime) is spent or held in other processes' leases. */
  BudgetExhausted: 'budget_exhausted',
  /**
   * No budget lease is ready in this process (first lease still being granted, counters
   * unreachable or lost and not rebuilt yet): fail closed, never serve unbudgeted.
   */
  BudgetUnavailable: 'budget_unavailable',
  /** Even/frontloaded pacing sat this auction out (spend ahead of the target curve). */
  PacingThrottled: 'pacing_throttled',
} as const;
export type FilterReason = (typeof FilterReason)[keyof typeof FilterReason];

/** Why a decision returned no ad (HTTP 204 with header `x-adstack-no-fill`). */
export const NoFillReason = {
  NoEligibleCampaign: 'no_eligible_campaign',
  AllBelowFloor: 'all_below_floor',
  /**
   * Candidates passed targeting but the budget step filtered every one of them, or no ranked
   * winner could reserve its charge from its budget lease.
   */
  BudgetExhausted: 'budget_exhausted',
} as const;
export type NoFillReason = (typeof NoFillReason)[keyof typeof NoFillReason];

/**
 * IAB OpenRTB loss-reason codes, the `${AUCTION_LOSS}` macro and the code sent in a loss notice.
 * Source: IAB Tech Lab, "OpenRTB API Specification Version 2.5", list 5.25 "Loss Reason Codes";
 * OpenRTB 2.6 §4.4 points to the same list in AdCOM / OpenRTB 3.0 "Enumerations" (the 2021
 * errata re-aligned 206–212 with 2.x and added 214 and 215). Table copied in
 * openrtb-corpus/RULES.md §8. Values are the wire codes and never change.
 *
 * Codes 500 and up are exchange specific (list 5.25: "should be communicated to bidders a
 * priori"); ours are listed at the end and documented in docs/decisions/0005-auction-engine.md.
 */
export const LossReason = {
  BidWon: 0,
  InternalError: 1,
  ImpressionOpportunityExpired: 2,
  InvalidBidResponse: 3,
  InvalidDealId: 4,
  InvalidAuctionId: 5,
  InvalidAdvertiserDomain: 6,
  MissingMarkup: 7,
  MissingCreativeId: 8,
  MissingBidPrice: 9,
  MissingMinimumCreativeApprovalData: 10,
  BelowAuctionFloor: 100,
  BelowDealFloor: 101,
  LostToHigherBid: 102,
  LostToDeal: 103,
  BuyerSeatBlocked: 104,
  CreativeFilteredGeneral: 200,
  CreativeFilteredPendingProcessing: 201,
  CreativeFilteredDisapproved: 202,
  CreativeFilteredSizeNotAllowed: 203,
  CreativeFilteredIncorrectFormat: 204,
  CreativeFilteredAdvertiserExclusions: 205,
  CreativeFilteredAppStoreIdExclusions: 206,
  CreativeFilteredNotSecure: 207,
  CreativeFilteredLanguageExclusions: 208,
  CreativeFilteredCategoryExclusions: 209,
  CreativeFilteredAttributeExclusions: 210,
  CreativeFilteredAdTypeExclusions: 211,
  CreativeFilteredAnimationTooLong: 212,
  CreativeFilteredNotAllowedInDeal: 213,
  CreativeFilteredInvalidSkadnetwork: 214,
  CreativeFilteredAppBundleExclusions: 215,
  /**
   * Exchange specific: the slot went to a higher-priority line that the bid out-bid on eCPM
   * (guaranteed/sponsorship over deals and open auction, or any paid bid over a house ad).
   * A bid displaced by a deal gets the IAB code 103 instead.
   */
  LostToHigherPriority: 500,
} as const;
export type LossReason = (typeof LossReason)[keyof typeof LossReason];

const LOSS_REASON_NAMES = new Map<number, string>(
  Object.entries(LossReason).map(([name, code]) => [
    code,
    name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`)),
  ]),
);

/** snake_case name of a loss-reason code (`102` → `lost_to_higher_bid`), for logs and --explain. */
export function lossReasonName(code: LossReason): string {
  return LOSS_REASON_NAMES.get(code) ?? `exchange_${code}`;
}
