import type { CtrInput } from '../core/features/input.js';

/**
 * The feature input of one served decision (issue 5: no training/serving skew). The decision
 * path hands the winning candidate's `CtrInput` — exactly what its predict stage vectorized —
 * to this log; training from the ledger (src/ml/ledger/rows.ts) joins impressions to it by
 * decision id and vectorizes the logged input, so a ledger row is the served row.
 */
export interface DecisionFeatureRecord {
  decisionId: string;
  decidedAtMs: number;
  input: CtrInput;
}

/**
 * Guarantees
 * - `record` is synchronous and cheap (the decision's hot path): it queues, never waits on I/O.
 * - Best effort, bounded: when the queue is full or a write fails, records are dropped and
 *   counted (`dropped`), never retried forever and never blocking a decision. A dropped record
 *   only means that impression trains with the ledger-only features (the fallback in rows.ts).
 * - `flush` writes everything queued so far; `close` flushes and stops.
 */
export interface DecisionFeatureLog {
  record(r: DecisionFeatureRecord): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly written: number;
  readonly dropped: number;
}
