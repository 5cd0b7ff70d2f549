/**
 * IAB code lists the exchange speaks, as closed enums (every "no" carries one; DESIGN.md §4).
 *
 * - NoBidReason: `BidResponse.nbr`. Source: OpenRTB 3.0 "Enumerations" list "No-Bid Reason
 *   Codes" (InteractiveAdvertisingBureau/openrtb @047a177), which OpenRTB 2.6 §4.2.1 and
 *   implementation.md §7.1 point to; OpenRTB 2.5 §5.24 had 0–10. Table in RULES.md §8.
 * - SeatNonBidStatus: `BidResponse.ext.seatnonbid[].nonbid[].statuscode`. Source: the IAB
 *   community extension `extensions/community_extensions/seat-non-bid.md`
 *   (InteractiveAdvertisingBureau/openrtb @0d8edb6). Table in RULES.md §8.
 * - Loss reasons (`${AUCTION_LOSS}`) live in src/core/reasons.ts (`LossReason`), shared with
 *   the auction engine.
 *
 * The values are wire codes and never change. Codes ≥ 500 are exchange/vendor specific; we
 * define none here.
 */
import { LossReason } from '../reasons.js';

export const NoBidReason = {
  UnknownError: 0,
  TechnicalError: 1,
  InvalidRequest: 2,
  KnownWebCrawler: 3,
  SuspectedNonHumanTraffic: 4,
  CloudDataCenterOrProxyIp: 5,
  UnsupportedDevice: 6,
  BlockedPublisherOrSite: 7,
  UnmatchedUser: 8,
  DailyUserCapMet: 9,
  DailyDomainCapMet: 10,
  AdsTxtAuthorizationUnavailable: 11,
  AdsTxtAuthorizationViolation: 12,
  AdsCertAuthenticationUnavailable: 13,
  AdsCertAuthenticationViolation: 14,
  InsufficientAuctionTime: 15,
  IncompleteSupplyChain: 16,
  BlockedSupplyChainNode: 17,
} as const;
export type NoBidReason = (typeof NoBidReason)[keyof typeof NoBidReason];

export const SeatNonBidStatus = {
  ErrorGeneral: 100,
  ErrorTimeout: 101,
  ErrorInvalidBidResponse: 102,
  ErrorBidderUnreachable: 103,
  RequestBlockedGeneral: 200,
  RequestBlockedUnsupportedChannel: 201,
  RequestBlockedUnsupportedMediaType: 202,
  RequestBlockedOptimized: 203,
  RequestBlockedPrivacy: 204,
  RequestBlockedUnsupportedCurrency: 205,
  ResponseRejectedGeneral: 300,
  ResponseRejectedBelowFloor: 301,
  ResponseRejectedDuplicate: 302,
  ResponseRejectedCategoryMappingInvalid: 303,
  ResponseRejectedBelowDealFloor: 304,
  InvalidCreative: 350,
  InvalidCreativeSizeNotAllowed: 351,
  InvalidCreativeNotSecure: 352,
  InvalidCreativeIncorrectFormat: 353,
  InvalidCreativeMalware: 354,
  InvalidCreativeAdvertiserExclusions: 355,
  InvalidCreativeAdvertiserBlocked: 356,
  InvalidCreativeCategoryExclusion: 357,
} as const;
/** 0–17 are the no-bid reasons, passed through from a bidder's `nbr` (seat-non-bid.md). */
export type SeatNonBidStatus =
  (typeof SeatNonBidStatus)[keyof typeof SeatNonBidStatus] | NoBidReason;

/**
 * Why one bid was dropped before or in the auction: the IAB loss reason reported to the bidder
 * (lurl `${AUCTION_LOSS}`) and the seat-non-bid status reported to the publisher. Where the
 * seat-non-bid list has no closer code the general one of the family is used (300 / 350).
 */
export const BidRejection = {
  invalid_bid: {
    loss: LossReason.InvalidBidResponse,
    status: SeatNonBidStatus.ErrorInvalidBidResponse,
  },
  unknown_impid: {
    loss: LossReason.InvalidBidResponse,
    status: SeatNonBidStatus.ErrorInvalidBidResponse,
  },
  invalid_auction_id: {
    loss: LossReason.InvalidAuctionId,
    status: SeatNonBidStatus.ErrorInvalidBidResponse,
  },
  missing_price: {
    loss: LossReason.MissingBidPrice,
    status: SeatNonBidStatus.ErrorInvalidBidResponse,
  },
  non_positive_price: {
    loss: LossReason.InvalidBidResponse,
    status: SeatNonBidStatus.ResponseRejectedGeneral,
  },
  missing_creative_id: {
    loss: LossReason.MissingCreativeId,
    status: SeatNonBidStatus.InvalidCreative,
  },
  missing_markup: { loss: LossReason.MissingMarkup, status: SeatNonBidStatus.InvalidCreative },
  incorrect_format: {
    loss: LossReason.CreativeFilteredIncorrectFormat,
    status: SeatNonBidStatus.InvalidCreativeIncorrectFormat,
  },
  media_type_not_offered: {
    loss: LossReason.CreativeFilteredAdTypeExclusions,
    status: SeatNonBidStatus.InvalidCreativeIncorrectFormat,
  },
  markup_too_large: {
    loss: LossReason.CreativeFilteredGeneral,
    status: SeatNonBidStatus.InvalidCreative,
  },
  invalid_currency: {
    loss: LossReason.InvalidBidResponse,
    status: SeatNonBidStatus.RequestBlockedUnsupportedCurrency,
  },
  currency_not_accepted: {
    loss: LossReason.InvalidBidResponse,
    status: SeatNonBidStatus.RequestBlockedUnsupportedCurrency,
  },
  duplicate_bid_id: {
    loss: LossReason.InvalidBidResponse,
    status: SeatNonBidStatus.ResponseRejectedDuplicate,
  },
  below_floor: {
    loss: LossReason.BelowAuctionFloor,
    status: SeatNonBidStatus.ResponseRejectedBelowFloor,
  },
  below_deal_floor: {
    loss: LossReason.BelowDealFloor,
    status: SeatNonBidStatus.ResponseRejectedBelowDealFloor,
  },
  invalid_deal: {
    loss: LossReason.InvalidDealId,
    status: SeatNonBidStatus.ResponseRejectedGeneral,
  },
  seat_blocked: {
    loss: LossReason.BuyerSeatBlocked,
    status: SeatNonBidStatus.RequestBlockedGeneral,
  },
  advertiser_blocked: {
    loss: LossReason.CreativeFilteredAdvertiserExclusions,
    status: SeatNonBidStatus.InvalidCreativeAdvertiserBlocked,
  },
  app_bundle_blocked: {
    loss: LossReason.CreativeFilteredAppBundleExclusions,
    status: SeatNonBidStatus.InvalidCreativeAdvertiserExclusions,
  },
  category_blocked: {
    loss: LossReason.CreativeFilteredCategoryExclusions,
    status: SeatNonBidStatus.InvalidCreativeCategoryExclusion,
  },
  attribute_blocked: {
    loss: LossReason.CreativeFilteredAttributeExclusions,
    status: SeatNonBidStatus.InvalidCreative,
  },
  not_secure: {
    loss: LossReason.CreativeFilteredNotSecure,
    status: SeatNonBidStatus.InvalidCreativeNotSecure,
  },
  size_not_allowed: {
    loss: LossReason.CreativeFilteredSizeNotAllowed,
    status: SeatNonBidStatus.InvalidCreativeSizeNotAllowed,
  },
} as const satisfies Record<string, { loss: LossReason; status: SeatNonBidStatus }>;
export type BidRejectionReason = keyof typeof BidRejection;

/** `Bid.mtype` (2.6 §4.2.3; AdCOM "Creative Subtypes – Markup"): 1 banner, 2 video, 3 audio, 4 native. */
export const MTYPE: Readonly<Record<number, 'banner' | 'video' | 'audio' | 'native'>> = {
  1: 'banner',
  2: 'video',
  3: 'audio',
  4: 'native',
};
