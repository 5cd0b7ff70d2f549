-- CPA conversions are ledger rows too (one per decision, key "conversion:<decision id>").
-- The report rollup trigger (004) counts impressions and clicks by kind and sums spend over
-- every kind, so a conversion's charge lands in the hour's spend without a change there.
ALTER TABLE ledger_events DROP CONSTRAINT ledger_events_kind_check;
ALTER TABLE ledger_events
  ADD CONSTRAINT ledger_events_kind_check CHECK (kind IN ('impression', 'click', 'conversion'));
