/**
 * Wires the pacing simulator (src/exchange/pacing-sim.ts) to the in-process memory
 * BudgetCounters for `adstack simulate-pacing` (the CLI may not import adapters). A run against
 * Redis and PostgreSQL with real processes (issue 6 item 8) is not built.
 */
import { createMemoryBudgetCounters } from '../adapters/memory/budget-counters.js';
import {
  simulatePacing,
  type PacingSimOptions,
  type PacingSimResult,
} from '../exchange/pacing-sim.js';

export function simulatePacingInMemory(
  opts: Omit<PacingSimOptions, 'counters'>,
): Promise<PacingSimResult> {
  return simulatePacing({ ...opts, counters: createMemoryBudgetCounters() });
}
