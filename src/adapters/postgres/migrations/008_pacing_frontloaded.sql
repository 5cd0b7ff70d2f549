-- Issue 6: campaigns may pace `frontloaded` (the target curve tilted towards the morning,
-- src/core/pacing/target-curve.ts) besides `even` and `asap`. The inline CHECK of 001 gets the
-- default name campaigns_pacing_check on PostgreSQL and PGlite.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_pacing_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_pacing_check
  CHECK (pacing IN ('even', 'asap', 'frontloaded'));
