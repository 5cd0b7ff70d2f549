-- Append-only event ledger. One row per event_key (idempotency); spend in integer micros.
-- UPDATE and DELETE are refused by a trigger, so a bug cannot rewrite history.

CREATE TABLE ledger_events (
  seq            bigserial PRIMARY KEY,
  event_key      text NOT NULL UNIQUE,
  kind           text NOT NULL CHECK (kind IN ('impression', 'click')),
  decision_id    text NOT NULL,
  advertiser_id  text NOT NULL,
  campaign_id    text NOT NULL,
  creative_id    text NOT NULL,
  placement_id   text NOT NULL,
  spend_micros   bigint NOT NULL CHECK (spend_micros >= 0),
  occurred_at    timestamptz NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_events_campaign_idx ON ledger_events (campaign_id, kind);

CREATE FUNCTION ledger_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_events_no_rewrite
  BEFORE UPDATE OR DELETE ON ledger_events
  FOR EACH ROW EXECUTE FUNCTION ledger_events_append_only();
