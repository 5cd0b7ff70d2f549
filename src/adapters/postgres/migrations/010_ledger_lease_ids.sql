-- Issue 6: each spend row names the budget leases its decision reserved from (the tracking
-- token's `bl` lease ids, one per budget period), so a rebuild of lost budget counters can
-- re-create an open lease with only its unspent part (grant − spend already in the ledger on
-- it) instead of its whole grant. NULL for rows written before this column, for rows of
-- campaigns without a budget, and for events from producers that do not send lease ids: such
-- rows subtract nothing (the lease is held whole, as before — conservative).
-- Adding a nullable column rewrites no row, so the append-only trigger is not involved.
ALTER TABLE ledger_events ADD COLUMN lease_ids text[];

-- The lease log also records an early partial return ('shrink': a lease that stopped serving
-- gave its unreserved part back before expiry, BudgetCounters.shrinkLease); a rebuild then
-- re-creates the lease without it. At most one shrink row per lease (the first is kept; a
-- missed shrink row only makes a rebuild hold more, never less).
ALTER TABLE budget_lease_events DROP CONSTRAINT budget_lease_events_kind_check;
ALTER TABLE budget_lease_events
  ADD CONSTRAINT budget_lease_events_kind_check CHECK (kind IN ('grant', 'return', 'shrink'));
