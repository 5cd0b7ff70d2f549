-- Management domain: advertisers, campaigns, creatives, placements, API keys.
-- Money is integer micros (bigint). Runs unchanged on PostgreSQL 15+ and PGlite.

CREATE TABLE advertisers (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  domain      text,
  status      text NOT NULL CHECK (status IN ('active', 'paused', 'archived')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
  id                      text PRIMARY KEY,
  advertiser_id           text NOT NULL REFERENCES advertisers (id),
  name                    text NOT NULL,
  status                  text NOT NULL CHECK (status IN ('active', 'paused', 'archived')),
  start_at                timestamptz,
  end_at                  timestamptz,
  time_zone               text NOT NULL,
  daily_budget_micros     bigint CHECK (daily_budget_micros > 0),
  lifetime_budget_micros  bigint CHECK (lifetime_budget_micros > 0),
  pacing                  text NOT NULL CHECK (pacing IN ('even', 'asap')),
  pricing_model           text NOT NULL CHECK (pricing_model IN ('cpm', 'cpc', 'cpa')),
  bid_micros              bigint NOT NULL CHECK (bid_micros > 0),
  targeting               jsonb NOT NULL DEFAULT '{}'::jsonb,
  frequency_cap           jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CHECK (end_at IS NULL OR start_at IS NULL OR end_at > start_at)
);
CREATE INDEX campaigns_advertiser_idx ON campaigns (advertiser_id, id);

CREATE TABLE creatives (
  id             text PRIMARY KEY,
  advertiser_id  text NOT NULL REFERENCES advertisers (id),
  campaign_id    text NOT NULL REFERENCES campaigns (id),
  name           text NOT NULL,
  format         text NOT NULL CHECK (format IN ('banner', 'video', 'native')),
  w              integer,
  h              integer,
  markup         text,
  url            text,
  native         jsonb,
  landing_url    text NOT NULL,
  approval       text NOT NULL CHECK (approval IN ('pending', 'approved', 'rejected')),
  status         text NOT NULL CHECK (status IN ('active', 'paused', 'archived')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX creatives_advertiser_idx ON creatives (advertiser_id, id);
CREATE INDEX creatives_campaign_idx ON creatives (campaign_id);

CREATE TABLE placements (
  id                text PRIMARY KEY,
  publisher         text NOT NULL,
  name              text NOT NULL,
  format            text NOT NULL CHECK (format IN ('banner', 'video', 'native')),
  w                 integer,
  h                 integer,
  floor_cpm_micros  bigint NOT NULL DEFAULT 0 CHECK (floor_cpm_micros >= 0),
  status            text NOT NULL CHECK (status IN ('active', 'paused', 'archived')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Raw API keys are never stored: only their SHA-256 (hex).
CREATE TABLE api_keys (
  key_hash       text PRIMARY KEY,
  advertiser_id  text NOT NULL REFERENCES advertisers (id),
  created_at     timestamptz NOT NULL DEFAULT now()
);
