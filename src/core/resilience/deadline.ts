/**
 * Deadline math for the DSP fan-out (seed Part 3 "Adaptive Timeout"; issue 4 item 2):
 *
 *   T_dsp = min(P95(H_dsp) + margin, remaining − safety)
 *
 * Implementation notes
 * - One deadline for the whole request: `remainingMs` is measured from it by the caller, so
 *   every stage sees the same budget shrink. `safetyMs` is kept back for the auction, the
 *   response and the network back to the caller.
 * - A DSP with too few samples gets `coldTimeoutMs` (the hard-timeout strategy) until its
 *   histogram has data.
 * - Skip when the DSP cannot fit: its latency at the `skipOn` percentile (25th by default)
 *   already exceeds what is left (calling it would most likely time out and only burn CPU and
 *   its QPS), or what is left is below `minTimeoutMs`. Such a DSP is reported with seat-non-bid
 *   101 (timeout) without being called. `skipOn: 'p25'` skips only DSPs that fit in fewer than
 *   a quarter of their recent calls: more calls, more of the tail's bids captured (`'p50'`, the
 *   median, was the earlier rule).
 * - The tmax told to the DSP is not its adaptive timeout: every DSP of a request gets the same
 *   `tmax` (the DSP budget minus the bidder's configured deduction), so bodies can be shared
 *   and a DSP is never asked to answer faster than the budget requires.
 */

export interface TimeoutPolicy {
  marginMs: number;
  safetyMs: number;
  minTimeoutMs: number;
  coldTimeoutMs: number;
  minSamples: number;
  /**
   * The latency percentile that must fit what is left for a DSP to be called (absent: p50).
   * Default p25: in the rtb benchmark under CPU contention (bench/README.md) the median rule
   * skipped ~30 of 50 DSPs per auction and kept 0.49 of the wait-for-all value, p25 0.80.
   */
  skipOn?: 'p50' | 'p25';
}

export const DEFAULT_TIMEOUT_POLICY: TimeoutPolicy = {
  marginMs: 5,
  safetyMs: 5,
  minTimeoutMs: 3,
  coldTimeoutMs: 30,
  minSamples: 10,
  skipOn: 'p25',
};

export interface LatencyEstimate {
  samples: number;
  /** Absent: the `skipOn: 'p25'` rule falls back to the median. */
  p25Ms?: number;
  p50Ms: number;
  p95Ms: number;
}

/**
 * `budget_spent`: nothing useful is left for any DSP. `too_slow`: this DSP's median does not fit
 * what is left; the caller may still call it now and then, because a DSP that is never called
 * never gets a new latency sample (its estimate would stay stale forever).
 */
export type TimeoutDecision =
  | { call: true; timeoutMs: number }
  | { call: false; why: 'budget_spent' | 'too_slow'; availableMs: number };

export function dspTimeout(
  est: LatencyEstimate | null,
  remainingMs: number,
  policy: TimeoutPolicy = DEFAULT_TIMEOUT_POLICY,
): TimeoutDecision {
  const available = remainingMs - policy.safetyMs;
  if (available < policy.minTimeoutMs)
    return { call: false, why: 'budget_spent', availableMs: available };
  if (est === null || est.samples < policy.minSamples) {
    return { call: true, timeoutMs: Math.floor(Math.min(policy.coldTimeoutMs, available)) };
  }
  const fit = policy.skipOn === 'p25' ? (est.p25Ms ?? est.p50Ms) : est.p50Ms;
  if (fit > available) return { call: false, why: 'too_slow', availableMs: available };
  const learned = Math.max(policy.minTimeoutMs, Math.ceil(est.p95Ms + policy.marginMs));
  return { call: true, timeoutMs: Math.floor(Math.min(learned, available)) };
}
