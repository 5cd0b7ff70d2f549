/**
 * The raw inputs of one (user, ad, context) impression, in the seed's four groups (Part 4,
 * "Feature Vector Construction"): user, ad, context, and the user × ad history used for crosses.
 *
 * This one shape is what both paths fill: serving builds it from the request, the profile and
 * the candidate (`fromDecision` in from-request.ts); training reads it back from logged
 * impressions or from the synthetic generator. `vectorize` turns it into numbers, so there is a
 * single code path from raw input to feature vector.
 *
 * Missing is explicit: every field is optional and an absent field becomes NaN in the vector
 * (GBDT models send NaN along each split's learned default direction; XGBoost / LightGBM do the
 * same). Nothing is silently replaced by 0.
 */

/** Shared vocabulary of interests and ad categories (IAB-like, simplified). */
export const CATEGORIES = [
  'gaming',
  'fashion',
  'sports',
  'travel',
  'finance',
  'food',
  'auto',
  'tech',
  'health',
  'beauty',
  'home',
  'education',
  'entertainment',
  'music',
  'news',
  'pets',
  'parenting',
  'real_estate',
  'shopping',
  'books',
  'fitness',
  'outdoors',
  'movies',
  'crypto',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const GENDERS = ['female', 'male', 'other'] as const;
export const SEGMENTS = [
  'new',
  'casual',
  'engaged',
  'power',
  'lapsed',
  'bargain',
  'premium',
  'bot_suspect',
] as const;
export const CREATIVE_TYPES = ['banner', 'video', 'native', 'carousel'] as const;
export const DEVICES = ['mobile', 'desktop', 'tablet', 'ctv'] as const;
export const OSES = ['ios', 'android', 'windows', 'macos', 'linux', 'other'] as const;
export const CONNECTIONS = [
  'wifi',
  'cellular_4g',
  'cellular_5g',
  'ethernet',
  'cellular_3g',
] as const;
export const PLACEMENTS = [
  'feed',
  'story',
  'search',
  'banner_top',
  'sidebar',
  'interstitial',
] as const;

export interface UserInput {
  age?: number;
  gender?: string;
  country?: string;
  region?: string;
  segment?: string;
  /** Interest scores in [0, 1] by category; a category absent here is missing, not 0. */
  interests?: Partial<Record<string, number>>;
  /** Historical CTR on similar ads (clicks / impressions over 30 days). */
  histCtr?: number;
  histImpressions?: number;
  ctr7d?: number;
  clicks7d?: number;
  sessions7d?: number;
  daysSinceFirstSeen?: number;
  avgSessionMinutes?: number;
  conversionRate30d?: number;
}

export interface AdInput {
  creativeType?: string;
  category?: string;
  advertiserId?: string;
  campaignId?: string;
  globalCtr?: number;
  qualityScore?: number;
  ageDays?: number;
  impressions1h?: number;
  ctr1h?: number;
  bidCpm?: number;
  /** Category-level CTR trend over the last hour (seed: "category-level CTR trends"). */
  categoryCtr1h?: number;
  landingLoadMs?: number;
}

export interface ContextInput {
  /** Local hour 0..23 and day of week 0 (Sunday)..6 of the impression. */
  hour?: number;
  dayOfWeek?: number;
  device?: string;
  os?: string;
  connection?: string;
  placement?: string;
  screenWidth?: number;
  sessionDepth?: number;
  secondsSinceLastClick?: number;
}

/** What the user did with this advertiser and category before (cross features). */
export interface HistoryInput {
  userAdvertiserImpressions?: number;
  userAdvertiserClicks?: number;
  userCategoryCtr?: number;
}

export interface CtrInput {
  user: UserInput;
  ad: AdInput;
  context: ContextInput;
  history?: HistoryInput;
}
