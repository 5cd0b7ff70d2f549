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
} as const;
export type FilterReason = (typeof FilterReason)[keyof typeof FilterReason];

/** Why a decision returned no ad (HTTP 204 with header `x-adstack-no-fill`). */
export const NoFillReason = {
  NoEligibleCampaign: 'no_eligible_campaign',
  AllBelowFloor: 'all_below_floor',
} as const;
export type NoFillReason = (typeof NoFillReason)[keyof typeof NoFillReason];

/**
 * IAB OpenRTB loss-reason codes (OpenRTB 2.5 §5.25 / AdCOM), the subset used so far.
 * Source: IAB Tech Lab, "OpenRTB API Specification Version 2.5", list 5.25 "Loss Reason Codes".
 */
export const LossReason = {
  BidWon: 0,
  InternalError: 1,
  BelowAuctionFloor: 100,
  LostToHigherBid: 102,
} as const;
export type LossReason = (typeof LossReason)[keyof typeof LossReason];
