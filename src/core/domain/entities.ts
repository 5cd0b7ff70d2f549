/**
 * The management domain: advertisers, campaigns, creatives, placements.
 *
 * Field names are snake_case and identical in the JSON API, the SQL columns and these types,
 * so one object flows from the store to the wire without a mapping layer
 * (docs/decisions/0002-snake-case-domain.md). Money is always integer micros
 * (1 USD = 1_000_000 micros); `*_micros` names carry the unit.
 */

export type EntityStatus = 'active' | 'paused' | 'archived';
export type PricingModel = 'cpm' | 'cpc' | 'cpa';
/** Budget pacing (src/core/pacing/target-curve.ts): follow traffic, spend at once, or morning-heavy. */
export type PacingMode = 'even' | 'asap' | 'frontloaded';
export type DeviceType = 'desktop' | 'mobile' | 'tablet' | 'ctv' | 'other';
export type CreativeFormat = 'banner' | 'video' | 'native';
export type CreativeApproval = 'pending' | 'approved' | 'rejected';

interface Timestamps {
  created_at: string;
  updated_at: string;
}

export interface Advertiser extends Timestamps {
  id: string;
  name: string;
  domain: string | null;
  status: EntityStatus;
}

/** One daypart window in the campaign's own time zone; hours are [start_hour, end_hour). */
export interface Daypart {
  days: number[]; // 0 = Sunday … 6 = Saturday
  start_hour: number; // 0..23
  end_hour: number; // 1..24
}

/** Every list is an allow-list; an absent or empty list means "no restriction". */
export interface Targeting {
  countries?: string[]; // ISO 3166-1 alpha-2, upper case
  regions?: string[]; // ISO 3166-2 subdivision codes, e.g. "US-CA"
  device_types?: DeviceType[];
  os?: string[]; // lower case, e.g. "ios", "android"
  interests?: string[];
  placement_ids?: string[];
  dayparts?: Daypart[];
}

export interface FrequencyCap {
  max_impressions: number;
  period_seconds: number;
}

export interface Campaign extends Timestamps {
  id: string;
  advertiser_id: string;
  name: string;
  status: EntityStatus;
  start_at: string | null;
  end_at: string | null;
  time_zone: string; // IANA name, for day boundaries and dayparts
  daily_budget_micros: number | null;
  lifetime_budget_micros: number | null;
  pacing: PacingMode;
  pricing_model: PricingModel;
  /** cpm: micros per 1000 impressions; cpc: micros per click; cpa: micros per action. */
  bid_micros: number;
  targeting: Targeting;
  frequency_cap: FrequencyCap | null;
}

export interface NativeAssets {
  title: string;
  description?: string;
  image_url?: string;
  icon_url?: string;
  cta?: string;
}

export interface Creative extends Timestamps {
  id: string;
  advertiser_id: string; // server-owned: copied from the campaign
  campaign_id: string;
  name: string;
  format: CreativeFormat;
  w: number | null;
  h: number | null;
  /** banner: HTML; video: VAST XML. Exactly one of markup / url (or native for native). */
  markup: string | null;
  /** banner: image or iframe URL; video: VAST tag URL. */
  url: string | null;
  native: NativeAssets | null;
  landing_url: string;
  approval: CreativeApproval; // server-owned
  status: EntityStatus;
}

export interface Placement extends Timestamps {
  id: string;
  publisher: string;
  name: string;
  format: CreativeFormat;
  w: number | null;
  h: number | null;
  floor_cpm_micros: number;
  status: EntityStatus;
  /**
   * External OpenRTB demand (the configured DSPs) competes in this placement's decisions
   * (`POST /v1/decisions`). Absent means false (objects built before the field existed).
   */
  rtb_enabled?: boolean;
}

export interface EntityByKind {
  advertisers: Advertiser;
  campaigns: Campaign;
  creatives: Creative;
  placements: Placement;
}
export type EntityKind = keyof EntityByKind;
export const ENTITY_KINDS: readonly EntityKind[] = [
  'advertisers',
  'campaigns',
  'creatives',
  'placements',
];

/** Fields the server owns: never accepted from clients on create or update. */
type ServerOwned = 'id' | 'created_at' | 'updated_at';
export type NewEntity<K extends EntityKind> = Omit<EntityByKind[K], ServerOwned> & { id?: string };
export type EntityPatch<K extends EntityKind> = Partial<Omit<EntityByKind[K], ServerOwned>>;
