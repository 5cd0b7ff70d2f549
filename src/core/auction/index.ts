/**
 * The auction and pricing engine (issue 3; seed Part 6). Pure: no I/O, no clock, no ambient
 * randomness. Callers import from here; the files behind it are split by mechanism.
 */
export {
  ecpmMicros,
  isPriceableBid,
  priceInModelUnitMicros,
  rankingEcpmMicros,
  roundMicros,
  type Prediction,
} from './ecpm.js';
export { MICROS_PER_UNIT, microsToUnits, unitsToMicros } from './money.js';
export {
  clearingPriceInBidCurrencyMicros,
  externalBidCpmMicros,
  floorToAuctionMicros,
  type ExchangeRates,
} from './currency.js';
export { seededTieKey } from './rank.js';
export { AuctionConfigError, runAuction, validateAuctionConfig } from './run-auction.js';
export {
  empiricalRevenue,
  learnReserve,
  type ReserveEstimate,
  type ReserveEstimator,
  type ReserveLearningOptions,
} from './reserve.js';
export { TIER_PRICING } from './tiers.js';
export {
  MECHANISMS,
  TIERS,
  type AuctionBid,
  type AuctionConfig,
  type AuctionLoser,
  type AuctionResult,
  type AuctionWinner,
  type Mechanism,
  type Tier,
  type TieBreak,
} from './types.js';
