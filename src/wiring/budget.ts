/**
 * Budget wiring (issue 6): the counters' rebuild source and the reconciliation job, both on
 * the ledger database (src/adapters/postgres/budget-ledger.ts).
 *
 * Reconciliation: for every (campaign, period) this process manages, the counters' recorded
 * spend minus the ledger's spend. Spend is counted in the counters before its ledger row is
 * written (src/exchange/events.ts) and the ledger writer may lag, so a small positive
 * difference while traffic flows is expected; after quiesce it must be 0. Near local midnight
 * a daily period may also differ by in-flight impressions (see budget-ledger.ts). Reported as
 * the gauge `adstack_budget_ledger_difference_micros{campaign_id,period}` and one warn log
 * line per period with a non-zero difference.
 */
import type { PgBudgetLedger } from '../adapters/postgres/budget-ledger.js';
import type { BudgetManager, BudgetRebuildSource } from '../exchange/budget.js';
import type { BudgetCounters } from '../ports/budget-counters.js';
import type { Clock } from '../ports/clock.js';

export function ledgerRebuildSource(ledger: PgBudgetLedger, clock: Clock): BudgetRebuildSource {
  return async (key, _budget, day) => {
    // Rows, not just their sum: the rebuilt counters know every event key already charged, so
    // a duplicate delivered after the rebuild is not charged twice.
    const range = day === null ? null : { fromMs: day.startMs, toMs: day.endMs };
    const spends = await ledger.spendRows(key.campaignId, range);
    const spentMicros = spends.reduce((a, r) => a + r.micros, 0);
    // The open leases are re-created one by one (each back at its own expiry), not as one hold,
    // each with only its unspent part: its spend in the same range is in `spentMicros` already.
    const openLeases = await ledger.openLeaseRows(key.campaignId, key.period, clock.nowMs(), range);
    return { spentMicros, spends, heldMicros: 0, heldUntilMs: 0, openLeases };
  };
}

export interface ReconciliationRow {
  campaignId: string;
  period: string;
  countersSpentMicros: number | null;
  ledgerSpentMicros: number;
  differenceMicros: number;
}

export async function reconcileBudgets(
  manager: BudgetManager,
  counters: BudgetCounters,
  ledger: PgBudgetLedger,
): Promise<ReconciliationRow[]> {
  const out: ReconciliationRow[] = [];
  for (const p of manager.periods()) {
    const state = await counters.state(p.key);
    const ledgerSpent = await ledger.spentMicros(
      p.key.campaignId,
      p.day === null ? null : { fromMs: p.day.startMs, toMs: p.day.endMs },
    );
    const countersSpent = state === null ? null : state.spentMicros;
    out.push({
      campaignId: p.key.campaignId,
      period: p.key.period,
      countersSpentMicros: countersSpent,
      ledgerSpentMicros: ledgerSpent,
      differenceMicros: (countersSpent ?? 0) - ledgerSpent,
    });
  }
  return out;
}
