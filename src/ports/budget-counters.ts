/**
 * BudgetCounters: the shared, authoritative counters of a campaign's budget per period, from
 * which ad-server processes take leases (seed Part 7 "Budget Pacing", issue 6 items 1-4).
 * Redis (one Lua script per operation) in production; in-process memory as embedded default.
 *
 * Model. One counter set per (campaign, period); `period` is the caller's key, e.g. the local
 * day `2026-06-01` (src/core/pacing/local-day.ts) or `lifetime`. Integer micros throughout:
 *   budget = remaining + leased + spent          (conservation; holds after every operation)
 * where `remaining` is neither leased nor spent (it may go negative only through `late` spend,
 * see recordSpend), `leased` is granted to open leases and not yet spent, `spent` is recorded.
 *
 * Guarantees
 * - Every operation is atomic and linearizable per (campaign, period): concurrent calls from
 *   any number of processes behave as some serial order (Redis: one Lua script per operation,
 *   all keys of a campaign under the hash tag `{campaign:ID}`, so it holds on Redis Cluster).
 * - `grantLease` is a check-and-decrement: it grants min(requested, remaining), never more than
 *   `remaining`, so the sum of all grants never exceeds the budget (contract-tested with many
 *   concurrent grants, exact in micros). It grants nothing (status `exhausted`) when nothing
 *   remains and `unknown_budget` when the counters do not exist (never set, or lost with Redis):
 *   callers fail closed and must not serve. Idempotent by `leaseId`: a retry returns the
 *   original grant with `duplicate: true` and takes nothing more.
 * - `recordSpend` turns part of an open lease into spend, idempotent by `spendKey` (the ledger's
 *   event key, e.g. `impression:<decision id>`): the same key twice counts once, whatever the
 *   lease. It refuses (`exceeds_lease`, nothing changes) spend beyond what the lease has left:
 *   callers reserve before serving (src/core/pacing/local-lease.ts), so this means a bug. Spend
 *   against a lease already returned or reclaimed is still counted (the impression happened),
 *   taken from `remaining`, and reported as `late`: this is the one path to overspend, which
 *   the lease TTL rule below keeps closed (docs/decisions/0009-budget-leases.md).
 * - `returnLease` closes an open lease and gives its unspent part back to `remaining`;
 *   returning a closed lease is a no-op (`already_closed`). `reclaimExpired` does the same for
 *   every open lease whose `expiresAtMs ≤ nowMs` (the timeout monitor's step). `shrinkLease`
 *   gives part of an open lease's unspent micros back early and keeps it open. The holder must
 *   choose `expiresAtMs` no earlier than its last possible spend report (last reservation +
 *   tracking-token lifetime), so reclaiming can only strand, never double-count, budget.
 * - `setBudget` creates the counters (remaining = budget) or changes the budget: `remaining`
 *   moves by the difference. Lowering below what is leased + spent makes `remaining` negative,
 *   so nothing more is granted; leases already out are not clawed back.
 * - Every call rejects when the backend is unreachable; callers treat that as "no budget"
 *   (fail closed), never as permission to serve.
 * - `restore` re-creates lost counters in one step (src/exchange/budget.ts `restoreCounters`
 *   gathers its input from the ledger and lease log).
 * Left out on purpose: lease renewal (take a new lease instead), expiry of old periods' keys
 * (a retention job), the reconciliation with the ledger, lease sizing
 * (the caller's: src/core/pacing/lease-size.ts).
 * Every adapter passes test/contract/budget-counters.contract.ts.
 */

export interface CampaignPeriod {
  campaignId: string;
  /** Caller's period key: a local day `YYYY-MM-DD` or `lifetime`. */
  period: string;
}

export interface BudgetState {
  budgetMicros: number;
  remainingMicros: number;
  leasedMicros: number;
  spentMicros: number;
  openLeases: number;
}

export interface GrantLeaseRequest extends CampaignPeriod {
  leaseId: string;
  serverId: string;
  requestedMicros: number;
  expiresAtMs: number;
}

export type GrantStatus = 'granted' | 'exhausted' | 'unknown_budget';

export interface GrantLeaseResult {
  status: GrantStatus;
  grantedMicros: number;
  /** `remaining` after this grant (for the caller's next lease size). */
  remainingMicros: number;
  duplicate: boolean;
}

export interface RecordSpendRequest extends CampaignPeriod {
  leaseId: string;
  spendKey: string;
  amountMicros: number;
}

export type SpendStatus = 'recorded' | 'late' | 'duplicate' | 'exceeds_lease' | 'unknown_lease';

export interface ReturnLeaseResult {
  status: 'returned' | 'already_closed' | 'unknown_lease';
  returnedMicros: number;
}

export interface ReclaimResult {
  leases: number;
  returnedMicros: number;
}

/** Lost counters re-created in one atomic step (see `restore`). */
export interface RestoreRequest extends CampaignPeriod {
  budgetMicros: number;
  /** Spend already recorded (the ledger's), on one closed lease `spentLeaseId` (created even
   * when 0: spend of a lost lease that nothing else can take is recorded on it as late). */
  spentMicros: number;
  spentLeaseId: string;
  /** The event keys of that spend: a later duplicate of one of them is a `duplicate`. */
  spendKeys: readonly string[];
  /** Budget that leases open at the loss may still spend: one open lease until `holdUntilMs`. */
  heldMicros: number;
  holdLeaseId: string;
  holdUntilMs: number;
  serverId: string;
  /**
   * Or, instead of one hold, the leases open at the loss themselves, re-created open under
   * their own ids with their full grant and own expiry (their tokens' spend lands on them, and
   * each comes back at its own expiry, not with the last one). Counted in `leased`.
   */
  openLeases?: readonly RestoredLease[];
}

export interface RestoredLease {
  leaseId: string;
  micros: number;
  expiresAtMs: number;
  serverId: string;
}

export interface BudgetCounters {
  setBudget(key: CampaignPeriod, budgetMicros: number): Promise<BudgetState>;
  grantLease(req: GrantLeaseRequest): Promise<GrantLeaseResult>;
  recordSpend(req: RecordSpendRequest): Promise<{ status: SpendStatus }>;
  returnLease(key: CampaignPeriod, leaseId: string): Promise<ReturnLeaseResult>;
  /**
   * Gives up to `giveMicros` of an open lease's unspent part back to `remaining` now; the lease
   * stays open (same id and expiry) with its grant lowered by what was given. For a lease that
   * no longer serves but still backs outstanding reservations: the holder gives back only what
   * no reservation covers, so no spend can arrive beyond the lowered grant. `already_closed` /
   * `unknown_lease` change nothing.
   */
  shrinkLease(key: CampaignPeriod, leaseId: string, giveMicros: number): Promise<ReturnLeaseResult>;
  reclaimExpired(key: CampaignPeriod, nowMs: number): Promise<ReclaimResult>;
  /** Current counters, or null when they do not exist. */
  state(key: CampaignPeriod): Promise<BudgetState | null>;
  /**
   * Re-creates counters that do not exist, atomically: budget B, spent S (a closed lease, its
   * spend keys remembered), leased H (one open hold lease, plus the `openLeases`), remaining
   * B − S − H (negative when
   * S + H > B: nothing can be granted). `exists` (nothing changed) when the counters exist —
   * another process restored them first, or they were never lost. No process can take a lease
   * between the counters appearing and the hold being in place.
   */
  restore(req: RestoreRequest): Promise<'restored' | 'exists'>;
}
