-- Budget lease log (issue 6): every lease a process took from the budget counters, and every
-- return. Append-only like ledger_events. Open leases (a grant without a return, not expired)
-- are what counters lost with Redis are rebuilt with, next to the ledger's spend.

CREATE TABLE budget_lease_events (
  seq          bigserial PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('grant', 'return')),
  lease_id     text NOT NULL,
  campaign_id  text NOT NULL,
  period       text NOT NULL,
  server_id    text NOT NULL,
  micros       bigint NOT NULL CHECK (micros >= 0),
  expires_at   timestamptz,
  at           timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (lease_id, kind)
);
CREATE INDEX budget_lease_events_campaign_idx ON budget_lease_events (campaign_id, period);

CREATE FUNCTION budget_lease_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'budget_lease_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER budget_lease_events_no_rewrite
  BEFORE UPDATE OR DELETE ON budget_lease_events
  FOR EACH ROW EXECUTE FUNCTION budget_lease_events_append_only();
