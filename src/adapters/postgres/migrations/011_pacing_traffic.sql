-- Issue 6: the learned hourly traffic of budgeted campaigns, so a restarted process paces on
-- the learned forecast at once instead of flat for a day. One row per whole local day a
-- process counted (eligible opportunities by local hour, 24 counts); each process counts only
-- the traffic it sees, so a day's shape is the sum over its rows (src/adapters/postgres/
-- pacing-traffic.ts). Idempotent by (campaign, day, server).

CREATE TABLE pacing_traffic_days (
  campaign_id  text NOT NULL,
  day_key      text NOT NULL,
  server_id    text NOT NULL,
  counts       bigint[] NOT NULL CHECK (cardinality(counts) = 24),
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, day_key, server_id)
);
