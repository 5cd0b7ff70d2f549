-- Issue 7: user profiles (hashed key only), erasure tombstones, hourly report rollups.

-- One row per user, keyed by the HASHED user id (32 hex chars); no raw id, no free-text PII.
CREATE TABLE user_profiles (
  user_key      text PRIMARY KEY CHECK (user_key ~ '^[0-9a-f]{32}$'),
  demographics  jsonb NOT NULL DEFAULT '{}'::jsonb,
  interests     jsonb NOT NULL DEFAULT '{}'::jsonb,
  consent       jsonb NOT NULL,
  version       bigint NOT NULL CHECK (version > 0),
  updated_at    timestamptz NOT NULL
);

-- Hashed keys of erased users (GDPR): late events must not recreate their data.
CREATE TABLE user_tombstones (
  user_key    text PRIMARY KEY CHECK (user_key ~ '^[0-9a-f]{32}$'),
  erased_at   timestamptz NOT NULL
);

-- Hourly rollups of the ledger by campaign × creative × placement × hour (UTC). Maintained by
-- the statement trigger below in the SAME transaction as the ledger insert, from the rows that
-- insert really added (ON CONFLICT DO NOTHING leaves duplicates out of the transition table),
-- so every ledger row is counted exactly once. CTR and eCPM are derived when read.
CREATE TABLE report_hourly (
  hour           timestamptz NOT NULL,
  campaign_id    text NOT NULL,
  creative_id    text NOT NULL,
  placement_id   text NOT NULL,
  advertiser_id  text NOT NULL,
  impressions    bigint NOT NULL DEFAULT 0 CHECK (impressions >= 0),
  clicks         bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
  spend_micros   bigint NOT NULL DEFAULT 0 CHECK (spend_micros >= 0),
  PRIMARY KEY (hour, campaign_id, creative_id, placement_id)
);
CREATE INDEX report_hourly_campaign_idx ON report_hourly (campaign_id, hour);
CREATE INDEX report_hourly_advertiser_idx ON report_hourly (advertiser_id, hour);

CREATE FUNCTION report_hourly_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_hourly AS r
    (hour, campaign_id, creative_id, placement_id, advertiser_id,
     impressions, clicks, spend_micros)
  SELECT date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
         campaign_id, creative_id, placement_id, min(advertiser_id),
         count(*) FILTER (WHERE kind = 'impression'),
         count(*) FILTER (WHERE kind = 'click'),
         sum(spend_micros)
    FROM new_rows
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4 -- a fixed lock order: concurrent writers cannot deadlock
  ON CONFLICT (hour, campaign_id, creative_id, placement_id) DO UPDATE
    SET impressions = r.impressions + EXCLUDED.impressions,
        clicks = r.clicks + EXCLUDED.clicks,
        spend_micros = r.spend_micros + EXCLUDED.spend_micros;
  RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_events_report_rollup
  AFTER INSERT ON ledger_events
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION report_hourly_rollup();

-- Rows already in the ledger when this migration runs.
INSERT INTO report_hourly
  (hour, campaign_id, creative_id, placement_id, advertiser_id, impressions, clicks, spend_micros)
SELECT date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       campaign_id, creative_id, placement_id, min(advertiser_id),
       count(*) FILTER (WHERE kind = 'impression'),
       count(*) FILTER (WHERE kind = 'click'),
       sum(spend_micros)
  FROM ledger_events
 GROUP BY 1, 2, 3, 4;
