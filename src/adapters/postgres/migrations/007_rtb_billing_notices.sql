-- Issue 4: the durable outbox of OpenRTB billing notices (burl). A notice is recorded when a
-- DSP ad's impression is first recorded and kept until sent or given up; a process restarted
-- after a crash or shutdown sends what is still pending. One row per decision, ever: the
-- primary key is what makes a notice idempotent across processes and restarts.
-- Times are epoch milliseconds from the application's clock.
CREATE TABLE rtb_billing_notices (
  decision_id       text PRIMARY KEY,
  url               text NOT NULL,
  state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
  attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_at_ms        bigint NOT NULL,
  claimed_until_ms  bigint NOT NULL DEFAULT 0,
  created_at_ms     bigint NOT NULL,
  finished_at_ms    bigint
);
CREATE INDEX rtb_billing_notices_due_idx ON rtb_billing_notices (next_at_ms)
  WHERE state = 'pending';
CREATE INDEX rtb_billing_notices_finished_idx ON rtb_billing_notices (finished_at_ms)
  WHERE state <> 'pending';
