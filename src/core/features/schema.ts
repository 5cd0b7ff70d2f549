/**
 * The versioned CTR feature schema and the one function that turns a `CtrInput` into a vector.
 *
 * Implementation notes
 * - The schema is a list of blocks; each block names the slots it writes and fills them. The
 *   feature names, their order and the schema hash are all derived from that one list, so the
 *   order in a model file cannot drift from the order the vectorizer writes.
 * - `schema.hash` covers the version, every name, kind and parameter (bucket counts, vocabularies).
 *   A model records the hash it was trained with; loading a model whose hash differs from the
 *   running schema is refused (training/serving skew caught at load time, not in the metrics).
 * - Encodings: numbers pass through (NaN when absent); categoricals with a small closed vocabulary
 *   are one-hot (absent → every slot NaN; a value outside the vocabulary → every slot 0);
 *   high-cardinality ids are hashed to a bucket number (absent → NaN). Trees split bucket numbers
 *   into ranges, which is coarse but stable; the FTRL baseline uses the buckets as sparse one-hot.
 * - Bump `FEATURE_SCHEMA_VERSION` whenever a block's meaning changes, even if names do not.
 */
import { hash32, hashBucket } from './hash.js';
import {
  CATEGORIES,
  CONNECTIONS,
  CREATIVE_TYPES,
  DEVICES,
  GENDERS,
  OSES,
  PLACEMENTS,
  SEGMENTS,
  type CtrInput,
} from './input.js';

export const FEATURE_SCHEMA_NAME = 'ctr';
export const FEATURE_SCHEMA_VERSION = 1;

export type FeatureGroup = 'user' | 'ad' | 'context' | 'cross';
export type FeatureKind = 'numeric' | 'onehot' | 'hashed';

export interface FeatureSpec {
  readonly name: string;
  readonly group: FeatureGroup;
  readonly kind: FeatureKind;
}

interface Block {
  readonly group: FeatureGroup;
  readonly kind: FeatureKind;
  readonly names: readonly string[];
  /** Canonical description of parameters that change the meaning (vocabulary, buckets). */
  readonly params: string;
  fill(input: CtrInput, out: Float64Array, at: number): void;
}

export interface FeatureSchema {
  readonly name: string;
  readonly version: number;
  /** 8 hex digits over version + every feature's name, kind and parameters. */
  readonly hash: string;
  readonly features: readonly FeatureSpec[];
  readonly size: number;
  /** Index of each feature name. */
  readonly indexOf: ReadonlyMap<string, number>;
}

const num = (v: number | undefined | null): number =>
  v === undefined || v === null || !Number.isFinite(v) ? NaN : v;

function numeric(
  group: FeatureGroup,
  name: string,
  get: (i: CtrInput) => number | undefined,
): Block {
  return {
    group,
    kind: 'numeric',
    names: [name],
    params: '',
    fill: (input, out, at) => {
      out[at] = num(get(input));
    },
  };
}

function onehot(
  group: FeatureGroup,
  name: string,
  vocab: readonly string[],
  get: (i: CtrInput) => string | undefined,
): Block {
  return {
    group,
    kind: 'onehot',
    names: vocab.map((v) => `${name}=${v}`),
    params: vocab.join(','),
    fill: (input, out, at) => {
      const v = get(input);
      if (v === undefined) {
        out.fill(NaN, at, at + vocab.length);
        return;
      }
      out.fill(0, at, at + vocab.length);
      const k = vocab.indexOf(v);
      if (k >= 0) out[at + k] = 1;
    },
  };
}

function hashed(
  group: FeatureGroup,
  name: string,
  buckets: number,
  get: (i: CtrInput) => string | undefined,
): Block {
  return {
    group,
    kind: 'hashed',
    names: [name],
    params: `buckets=${buckets}`,
    fill: (input, out, at) => {
      const v = get(input);
      out[at] = v === undefined ? NaN : hashBucket(v, buckets);
    },
  };
}

const TWO_PI = 2 * Math.PI;

const interest = (i: CtrInput, c: string): number => num(i.user.interests?.[c]);

const BLOCKS: readonly Block[] = [
  // user: demographics, segment, interests, history
  numeric('user', 'user.age', (i) => i.user.age),
  onehot('user', 'user.gender', GENDERS, (i) => i.user.gender),
  hashed('user', 'user.country', 256, (i) => i.user.country),
  hashed('user', 'user.region', 1024, (i) => i.user.region),
  onehot('user', 'user.segment', SEGMENTS, (i) => i.user.segment),
  ...CATEGORIES.map((c) => numeric('user', `user.interest.${c}`, (i) => interest(i, c))),
  numeric('user', 'user.hist_ctr', (i) => i.user.histCtr),
  numeric('user', 'user.hist_impressions', (i) => i.user.histImpressions),
  numeric('user', 'user.ctr_7d', (i) => i.user.ctr7d),
  numeric('user', 'user.clicks_7d', (i) => i.user.clicks7d),
  numeric('user', 'user.sessions_7d', (i) => i.user.sessions7d),
  numeric('user', 'user.days_since_first_seen', (i) => i.user.daysSinceFirstSeen),
  numeric('user', 'user.avg_session_minutes', (i) => i.user.avgSessionMinutes),
  numeric('user', 'user.conversion_rate_30d', (i) => i.user.conversionRate30d),
  // ad
  onehot('ad', 'ad.creative_type', CREATIVE_TYPES, (i) => i.ad.creativeType),
  onehot('ad', 'ad.category', CATEGORIES, (i) => i.ad.category),
  hashed('ad', 'ad.advertiser', 4096, (i) => i.ad.advertiserId),
  hashed('ad', 'ad.campaign', 4096, (i) => i.ad.campaignId),
  numeric('ad', 'ad.global_ctr', (i) => i.ad.globalCtr),
  numeric('ad', 'ad.quality_score', (i) => i.ad.qualityScore),
  numeric('ad', 'ad.age_days', (i) => i.ad.ageDays),
  numeric('ad', 'ad.impressions_1h', (i) => i.ad.impressions1h),
  numeric('ad', 'ad.ctr_1h', (i) => i.ad.ctr1h),
  numeric('ad', 'ad.bid_cpm', (i) => i.ad.bidCpm),
  numeric('ad', 'ad.category_ctr_1h', (i) => i.ad.categoryCtr1h),
  numeric('ad', 'ad.landing_load_ms', (i) => i.ad.landingLoadMs),
  // context
  numeric('context', 'context.hour', (i) => i.context.hour),
  // Hour on the circle, so 23:00 and 00:00 are neighbours for the linear baseline.
  numeric('context', 'context.hour_sin', (i) =>
    i.context.hour === undefined ? undefined : Math.sin((TWO_PI * i.context.hour) / 24),
  ),
  numeric('context', 'context.hour_cos', (i) =>
    i.context.hour === undefined ? undefined : Math.cos((TWO_PI * i.context.hour) / 24),
  ),
  numeric('context', 'context.day_of_week', (i) => i.context.dayOfWeek),
  numeric('context', 'context.is_weekend', (i) =>
    i.context.dayOfWeek === undefined ? undefined : i.context.dayOfWeek % 6 === 0 ? 1 : 0,
  ),
  onehot('context', 'context.device', DEVICES, (i) => i.context.device),
  onehot('context', 'context.os', OSES, (i) => i.context.os),
  onehot('context', 'context.connection', CONNECTIONS, (i) => i.context.connection),
  onehot('context', 'context.placement', PLACEMENTS, (i) => i.context.placement),
  numeric('context', 'context.screen_width', (i) => i.context.screenWidth),
  numeric('context', 'context.session_depth', (i) => i.context.sessionDepth),
  numeric('context', 'context.seconds_since_last_click', (i) => i.context.secondsSinceLastClick),
  // cross: user × ad
  numeric('cross', 'cross.interest_category_alignment', (i) =>
    i.ad.category === undefined ? undefined : interest(i, i.ad.category),
  ),
  ...CATEGORIES.map((c) =>
    numeric('cross', `cross.interest_x_category.${c}`, (i) =>
      i.ad.category === undefined ? undefined : i.ad.category === c ? interest(i, c) : 0,
    ),
  ),
  numeric(
    'cross',
    'cross.user_advertiser_impressions',
    (i) => i.history?.userAdvertiserImpressions,
  ),
  numeric('cross', 'cross.user_advertiser_clicks', (i) => i.history?.userAdvertiserClicks),
  numeric('cross', 'cross.user_advertiser_ctr', (i) => {
    const imps = i.history?.userAdvertiserImpressions;
    const clicks = i.history?.userAdvertiserClicks;
    // No impressions yet: the ratio is undefined, which is not the same as 0 clicks in 50 views.
    return imps === undefined || clicks === undefined || imps <= 0 ? undefined : clicks / imps;
  }),
  numeric('cross', 'cross.user_category_ctr', (i) => i.history?.userCategoryCtr),
  numeric('cross', 'cross.video_on_big_screen', (i) =>
    i.ad.creativeType === undefined || i.context.device === undefined
      ? undefined
      : i.ad.creativeType === 'video' &&
          (i.context.device === 'ctv' || i.context.device === 'desktop')
        ? 1
        : 0,
  ),
];

function buildSchema(blocks: readonly Block[]): FeatureSchema {
  const features: FeatureSpec[] = blocks.flatMap((b) =>
    b.names.map((name) => ({ name, group: b.group, kind: b.kind })),
  );
  const indexOf = new Map(features.map((f, i) => [f.name, i]));
  if (indexOf.size !== features.length) throw new Error('duplicate feature name in the schema');
  const canonical = JSON.stringify([
    FEATURE_SCHEMA_NAME,
    FEATURE_SCHEMA_VERSION,
    blocks.map((b) => [b.group, b.kind, b.names, b.params]),
  ]);
  return {
    name: FEATURE_SCHEMA_NAME,
    version: FEATURE_SCHEMA_VERSION,
    hash: hash32(canonical).toString(16).padStart(8, '0'),
    features,
    size: features.length,
    indexOf,
  };
}

export const CTR_SCHEMA: FeatureSchema = buildSchema(BLOCKS);

/**
 * Writes the feature vector of `input` into out[offset .. offset + CTR_SCHEMA.size). The serving
 * path and the training-row path both call this; nothing else produces feature values.
 */
export function vectorize(input: CtrInput, out: Float64Array, offset = 0): void {
  if (offset < 0 || offset + CTR_SCHEMA.size > out.length)
    throw new RangeError(`out needs ${CTR_SCHEMA.size} slots from offset ${offset}`);
  let at = offset;
  for (const b of BLOCKS) {
    b.fill(input, out, at);
    at += b.names.length;
  }
}

/** Vectorizes many inputs row-major into one matrix (the batch-scoring layout). */
export function vectorizeMany(inputs: readonly CtrInput[], out: Float64Array): void {
  inputs.forEach((input, r) => vectorize(input, out, r * CTR_SCHEMA.size));
}
