/**
 * JSON schemas of the HTTP API. Every object is `additionalProperties: false`; server-owned
 * fields (ids, timestamps, advertiser_id of creatives, approval) are absent from write schemas,
 * so a client that sends them gets 400 ADS_ERR_VALIDATION "unknown field".
 * The same schemas feed the OpenAPI document at /docs/json.
 */
const id = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;
const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const status = { type: 'string', enum: ['active', 'paused', 'archived'] } as const;
const writableStatus = { type: 'string', enum: ['active', 'paused'] } as const;
const micros = { type: 'integer', minimum: 1, maximum: 1e15 } as const;
const nullableMicros = { anyOf: [micros, { type: 'null' }] } as const;
const dateTime = { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] } as const;
const url = { type: 'string', minLength: 1, maxLength: 2048, pattern: '^https?://' } as const;
const dim = { anyOf: [{ type: 'integer', minimum: 1, maximum: 10000 }, { type: 'null' }] } as const;
const format = { type: 'string', enum: ['banner', 'video', 'native'] } as const;
const strList = (item: object, max = 500) => ({
  type: 'array',
  items: item,
  maxItems: max,
  uniqueItems: true,
});

const targeting = {
  type: 'object',
  additionalProperties: false,
  properties: {
    countries: strList({ type: 'string', pattern: '^[A-Z]{2}$' }),
    regions: strList({ type: 'string', pattern: '^[A-Z]{2}-[A-Z0-9]{1,3}$' }),
    device_types: strList({
      type: 'string',
      enum: ['desktop', 'mobile', 'tablet', 'ctv', 'other'],
    }),
    os: strList({ type: 'string', pattern: '^[a-z0-9_.-]{1,32}$' }),
    interests: strList({ type: 'string', minLength: 1, maxLength: 64 }),
    placement_ids: strList(id),
    dayparts: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['days', 'start_hour', 'end_hour'],
        properties: {
          days: {
            type: 'array',
            minItems: 1,
            maxItems: 7,
            uniqueItems: true,
            items: { type: 'integer', minimum: 0, maximum: 6 },
          },
          start_hour: { type: 'integer', minimum: 0, maximum: 23 },
          end_hour: { type: 'integer', minimum: 1, maximum: 24 },
        },
      },
    },
  },
} as const;

const frequencyCap = {
  anyOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['max_impressions', 'period_seconds'],
      properties: {
        max_impressions: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        period_seconds: { type: 'integer', minimum: 60, maximum: 90 * 86_400 },
      },
    },
    { type: 'null' },
  ],
} as const;

const native = {
  anyOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['title'],
      properties: {
        title: { type: 'string', minLength: 1, maxLength: 200 },
        description: { type: 'string', maxLength: 1000 },
        image_url: url,
        icon_url: url,
        cta: { type: 'string', maxLength: 50 },
      },
    },
    { type: 'null' },
  ],
} as const;

const markup = {
  anyOf: [{ type: 'string', minLength: 1, maxLength: 100_000 }, { type: 'null' }],
} as const;
const nullableUrl = { anyOf: [url, { type: 'null' }] } as const;

type Props = Record<string, unknown>;
const obj = (properties: Props, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});
const patch = (properties: Props) => ({ ...obj(properties), minProperties: 1 });

const advertiserProps = {
  name,
  domain: { anyOf: [{ type: 'string', maxLength: 253 }, { type: 'null' }] },
  status: writableStatus,
};
const campaignProps = {
  name,
  status: writableStatus,
  start_at: dateTime,
  end_at: dateTime,
  time_zone: { type: 'string', minLength: 1, maxLength: 64 },
  daily_budget_micros: nullableMicros,
  lifetime_budget_micros: nullableMicros,
  pacing: { type: 'string', enum: ['even', 'asap', 'frontloaded'] },
  pricing_model: { type: 'string', enum: ['cpm', 'cpc', 'cpa'] },
  bid_micros: micros,
  targeting,
  frequency_cap: frequencyCap,
};
const creativeProps = {
  name,
  format,
  w: dim,
  h: dim,
  markup,
  url: nullableUrl,
  native,
  landing_url: url,
  status: writableStatus,
};
const placementProps = {
  publisher: name,
  name,
  format,
  w: dim,
  h: dim,
  floor_cpm_micros: { type: 'integer', minimum: 0, maximum: 1e15 },
  status: writableStatus,
  rtb_enabled: { type: 'boolean' },
};

export const CREATE_SCHEMAS = {
  advertisers: obj(advertiserProps, ['name']),
  campaigns: obj({ ...campaignProps, advertiser_id: id }, ['name', 'pricing_model', 'bid_micros']),
  creatives: obj({ ...creativeProps, campaign_id: id }, [
    'campaign_id',
    'name',
    'format',
    'landing_url',
  ]),
  placements: obj(placementProps, ['publisher', 'name', 'format']),
} as const;

/** advertiser_id and campaign_id are fixed at creation: ownership never moves. */
export const PATCH_SCHEMAS = {
  advertisers: patch(advertiserProps),
  campaigns: patch(campaignProps),
  creatives: patch(creativeProps),
  placements: patch(placementProps),
} as const;

export const ID_PARAMS = obj({ id }, ['id']);

export const LIST_QUERY = obj({
  limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
  after: id,
  include_archived: { type: 'string', enum: ['true', 'false'] },
});

export const APPROVAL_BODY = obj(
  { approval: { type: 'string', enum: ['approved', 'rejected', 'pending'] } },
  ['approval'],
);

export const AD_REQUEST = obj(
  {
    placement_id: id,
    user: obj({
      id: { type: 'string', minLength: 1, maxLength: 128 },
      interests: strList({ type: 'string', minLength: 1, maxLength: 64 }, 100),
    }),
    device: obj({
      type: { type: 'string', enum: ['desktop', 'mobile', 'tablet', 'ctv', 'other'] },
      os: { type: 'string', maxLength: 32 },
      ua: { type: 'string', maxLength: 1024 },
      ip: { type: 'string', maxLength: 45 },
    }),
    geo: obj({
      country: { type: 'string', pattern: '^[A-Za-z]{2}$' },
      region: { type: 'string', pattern: '^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$' },
    }),
    site: obj({
      domain: { type: 'string', maxLength: 253 },
      page: { type: 'string', maxLength: 2048 },
    }),
    app: obj({
      bundle: { type: 'string', maxLength: 256 },
      name: { type: 'string', maxLength: 256 },
    }),
    keywords: strList({ type: 'string', minLength: 1, maxLength: 64 }, 100),
  },
  ['placement_id'],
);

export const TOKEN_QUERY = obj({ t: { type: 'string', minLength: 1, maxLength: 4096 } }, ['t']);
/** A conversion postback: the decision's click token and the advertiser's conversion id. */
export const CONVERSION_QUERY = obj(
  {
    t: { type: 'string', minLength: 1, maxLength: 4096 },
    cid: { type: 'string', minLength: 1, maxLength: 128 },
  },
  ['t', 'cid'],
);

export const STATUS_ENUM = status;
