/**
 * The degradation ladder's hooks on the decision path's external demand (issue 8, seed Part 7):
 * a decorator of `ExternalDemand` (the DSP fan-out of `POST /v1/decisions`) that reads the
 * ladder level on every decision.
 *
 * - Step 3 (`drop_rtb_tail`): the fan-out calls only the most valuable DSPs
 *   (`Resilience.dspLimit`: the best half by recent bid rate × recent high bid); the others are
 *   skipped with `rtb_tail` (seat-non-bid 203), visible in the per-DSP metrics.
 * - Step 4 (`house_only`): no DSP is called at all; together with the skipped counter read
 *   (`DecisionDeadline` skip, wired in src/wiring/runtime.ts) the decision is made from memory
 *   only: our own campaigns, their local budget leases, the priors.
 */
import type { AdRequest } from '../../core/domain/ad-request.js';
import type { Placement } from '../../core/domain/entities.js';
import type { ExternalDemand, ExternalDemandCall } from '../decision.js';
import type { DecisionDeadline } from './deadline.js';
import type { FanOutRunOptions } from '../rtb/fan-out.js';

export interface LadderReader {
  dspLimit(dspCount: number): number | null;
  houseOnly(): boolean;
}

export interface LimitableDemand {
  start(
    req: AdRequest,
    placement: Placement,
    deadline?: Pick<DecisionDeadline, 'remainingMs'>,
    opts?: FanOutRunOptions,
  ): ExternalDemandCall | null;
}

export function ladderExternalDemand(
  inner: LimitableDemand,
  ladder: LadderReader,
  dspCount: number,
): ExternalDemand {
  return {
    start(req, placement, deadline) {
      if (ladder.houseOnly()) return null;
      const max = ladder.dspLimit(dspCount);
      return max === null
        ? inner.start(req, placement, deadline)
        : inner.start(req, placement, deadline, { maxDsps: max });
    },
  };
}
