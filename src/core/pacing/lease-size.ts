/**
 * Lease sizing: how much budget one ad-server process takes from the campaign's shared
 * remaining budget in one grant (seed Part 7 "Budget Allocation Algorithm", issue 6 item 2).
 *
 * Implementation notes
 * - Budget held in leases is not spent, only unavailable to other processes, so the worst
 *   case of a large chunk is budget stranded in leases (under-delivery), never budget exceeded:
 *   the grant itself is an atomic check-and-decrement that cannot hand out more than remains
 *   (src/ports/budget-counters.ts). What the chunk size bounds is the stranded amount,
 *   S × A for S processes (seed: "OverDelivery_max = S × A").
 * - Below `lowWaterFraction` (seed: 10 %) of the period's budget the chunk shrinks to
 *   remaining / (S × 10) (seed: A_new = B_r / (S × 10)), so at most ~10 % of what is left can be
 *   stranded and the last part of the budget spreads over all processes.
 * - The chunk never drops below `minChunkMicros` (one maximum-price impression): a smaller
 *   lease could not pay for a single ad. It never exceeds what remains.
 * - The result is non-decreasing in `remainingMicros` (property-tested), so a process never
 *   gets a bigger chunk because the budget went down.
 */

export interface LeaseSizeInput {
  /** The period's budget (daily or lifetime), integer micros. */
  budgetMicros: number;
  /** Budget not yet spent and not held in any lease, integer micros (may be ≤ 0). */
  remainingMicros: number;
  /** Ad-server processes sharing the campaign (≥ 1). */
  servers: number;
  /** Chunk size while the budget is plentiful, integer micros. */
  baseChunkMicros: number;
  /** Smallest useful chunk: the largest single charge (one impression at the max price). */
  minChunkMicros: number;
  /** Fraction of the budget below which chunks shrink; default 0.1 (seed). */
  lowWaterFraction?: number;
}

/** Micros to request in one lease grant: 0 when nothing remains; never more than remains. */
export function leaseSizeMicros(input: LeaseSizeInput): number {
  const remaining = Math.floor(input.remainingMicros);
  if (remaining <= 0) return 0;
  const servers = Math.max(1, Math.floor(input.servers));
  const lowWater = (input.lowWaterFraction ?? 0.1) * Math.max(0, input.budgetMicros);
  let chunk = Math.max(0, Math.floor(input.baseChunkMicros));
  if (remaining < lowWater) chunk = Math.min(chunk, Math.floor(remaining / (servers * 10)));
  chunk = Math.max(chunk, Math.max(0, Math.floor(input.minChunkMicros)));
  return Math.min(chunk, remaining);
}

/**
 * Upper bound on budget stranded in leases at one moment: every process holding one full
 * chunk (seed: S × A). With sizing by `leaseSizeMicros` below the low-water mark this is at
 * most max(remaining / 10, S × minChunk).
 */
export function maxStrandedMicros(servers: number, chunkMicros: number): number {
  return Math.max(0, Math.floor(servers)) * Math.max(0, Math.floor(chunkMicros));
}
