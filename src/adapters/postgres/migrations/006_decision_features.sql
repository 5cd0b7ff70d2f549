-- Feature input of served decisions (issue 5): the winning candidate's CtrInput as the decision's
-- predict stage built it, so training from the ledger uses the serving features (no skew).
-- One row per decision id; impressions join to it by decision_id. No retention job yet.
-- `input` is the JSON text of the CtrInput (src/core/features/logged.ts), stored as text: it is
-- only read back whole, and text inserts cost less than jsonb (bench/README.md, ml-featurelog).

CREATE TABLE decision_features (
  decision_id  text PRIMARY KEY,
  decided_at   timestamptz NOT NULL,
  input        text NOT NULL
);
