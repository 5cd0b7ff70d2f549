-- Feature input of served decisions (issue 5): the winning candidate's CtrInput as the decision's
-- predict stage built it, so training from the ledger uses the serving features (no skew).
-- One row per decision id; impressions join to it by decision_id. No retention job yet.

CREATE TABLE decision_features (
  decision_id  text PRIMARY KEY,
  decided_at   timestamptz NOT NULL,
  input        jsonb NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decision_features_decided_idx ON decision_features (decided_at);
