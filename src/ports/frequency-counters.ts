/**
 * FrequencyCounters: impressions per user × (creative | campaign | advertiser) over sliding
 * windows from minutes to lifetime (issue 6 item 7). Redis (one Lua script per operation) in
 * production; in-process memory as embedded default.
 *
 * Guarantees
 * - Counts are exact over a sliding window: an impression recorded at t counts for a window of
 *   w ms at `nowMs` when nowMs − w < t ≤ nowMs. A `windowMs` of null means lifetime.
 * - `increment` records one impression per target, idempotent by `impressionKey` (the ledger's
 *   event key): a retried or duplicated impression event counts once per target.
 * - `checkAndIncrement` is atomic for one user: it records the impression on every target only
 *   if every cap allows one more, else records nothing. `check` reads without recording.
 *   All keys of one user share the hash tag `{user:ID}`, so each script is single-slot on
 *   Redis Cluster.
 * - Entries older than `retainMs` of the target are dropped on increment (null: kept); a count
 *   asked for a window longer than what was retained undercounts, so callers retain the
 *   largest window they cap that entity with.
 * - Every call rejects when the backend is unreachable; the caller decides (the decision path
 *   should skip capped candidates rather than serve over a cap).
 * - `forgetUser` removes every count of one user (GDPR erasure), whatever the targets, and says
 *   how many series (user × target) it removed; idempotent (0 the second time).
 * Left out on purpose: consent (the caller must not call this for users whose consent rules
 * forbid frequency capping), decrements (an impression is never un-counted).
 * Every adapter passes test/contract/frequency-counters.contract.ts.
 */

export type FrequencyScope = 'creative' | 'campaign' | 'advertiser';

export interface FrequencyTarget {
  scope: FrequencyScope;
  id: string;
}

export interface FrequencyCapRule extends FrequencyTarget {
  maxImpressions: number;
  /** Sliding window length, ms; null = lifetime. */
  windowMs: number | null;
}

export interface CapCount {
  rule: FrequencyCapRule;
  count: number;
  /** count < maxImpressions: one more impression is allowed. */
  allowed: boolean;
}

export interface FrequencyCheckResult {
  allowed: boolean;
  counts: CapCount[];
}

export interface IncrementTarget extends FrequencyTarget {
  /** How long entries are kept, ms; null = lifetime. */
  retainMs: number | null;
}

export interface FrequencyCounters {
  check(
    userId: string,
    rules: readonly FrequencyCapRule[],
    nowMs: number,
  ): Promise<FrequencyCheckResult>;
  /** Returns false when `impressionKey` was already recorded on every target. */
  increment(
    userId: string,
    targets: readonly IncrementTarget[],
    impressionKey: string,
    nowMs: number,
  ): Promise<{ recorded: boolean }>;
  /** Atomic: records on `targets` only when all `rules` allow one more. */
  checkAndIncrement(
    userId: string,
    rules: readonly FrequencyCapRule[],
    targets: readonly IncrementTarget[],
    impressionKey: string,
    nowMs: number,
  ): Promise<FrequencyCheckResult & { recorded: boolean }>;
  /** Removes every series of `userId` (erasure); `removed` = series removed. */
  forgetUser(userId: string): Promise<{ removed: number }>;
}
