export type LedgerEventKind = 'impression' | 'click' | 'conversion';

/** One billable (or zero-charge) event; spend is integer micros, never negative. */
export interface LedgerEvent {
  /** Idempotency key: the same key twice is one row (e.g. "impression:<decision id>"). */
  event_key: string;
  kind: LedgerEventKind;
  decision_id: string;
  advertiser_id: string;
  campaign_id: string;
  creative_id: string;
  placement_id: string;
  spend_micros: number;
  occurred_at: string; // ISO 8601
  /**
   * The budget leases the decision reserved from (one per budget period, from the tracking
   * token); lets a budget rebuild subtract a lease's spent part (src/wiring/budget.ts).
   */
  lease_ids?: readonly string[];
}

export interface LedgerTotals {
  rows: number;
  spend_micros: number;
}

/**
 * Ledger: the append-only record of events that carry money.
 *
 * Guarantees
 * - `record` resolves only after the event is durably committed (or found to be a duplicate);
 *   `inserted` says which. Rows are never updated or deleted.
 * - Idempotent: one row per `event_key`, whatever the number of calls or processes.
 * - Adapters may group concurrent calls into one multi-row write (group commit); each caller
 *   still waits for its own commit, so nothing acknowledged is lost.
 * Every adapter passes test/contract/ledger.contract.ts.
 */
export interface Ledger {
  record(event: LedgerEvent): Promise<{ inserted: boolean }>;
  totals(filter: { campaign_id?: string; kind?: LedgerEventKind }): Promise<LedgerTotals>;
  /** Waits for queued writes, then stops accepting new ones. */
  close(): Promise<void>;
}
