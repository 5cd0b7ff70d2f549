/**
 * BillingOutbox: the durable record of `burl` billing notices still to be sent (issue 4 item 5:
 * "retried idempotently"), so a notice whose retries were cut by a shutdown or a crash is sent
 * after the restart. PostgreSQL (`rtb_billing_notices`, migration 007) is the one adapter; the
 * notifier is src/exchange/rtb/billing.ts.
 *
 * Guarantees
 * - One row per decision id, ever: `add` returns false when the decision was already recorded
 *   (by any process, before or after a restart), so a notice is never queued twice.
 * - Claims: a process works on a notice only while it holds its claim (`claimed_until_ms`);
 *   `claimDue` hands a due, unclaimed notice to one caller only (row locks, SKIP LOCKED). A
 *   claim that is not renewed (the process died) expires and the notice is claimed again.
 * - Times are wall-clock epoch ms from the caller's clock.
 */

export interface PendingBillingNotice {
  decisionId: string;
  url: string;
  /** Attempts made so far. */
  attempts: number;
  nextAtMs: number;
}

export type BillingNoticeState = 'sent' | 'failed';

export interface BillingOutbox {
  /** Records a new notice claimed by the caller until `claimUntilMs`; false if already known. */
  add(decisionId: string, url: string, nowMs: number, claimUntilMs: number): Promise<boolean>;
  /** After a failed attempt: the attempts made and when to try next; the claim runs to `claimUntilMs`. */
  retryLater(
    decisionId: string,
    attempts: number,
    nextAtMs: number,
    claimUntilMs: number,
  ): Promise<void>;
  /** Gives up the claim (shutdown): the notice stays pending for whoever claims it next. */
  release(decisionId: string): Promise<void>;
  /** The notice is done: sent, or failed after its last attempt. */
  finish(
    decisionId: string,
    state: BillingNoticeState,
    attempts: number,
    nowMs: number,
  ): Promise<void>;
  /** Claims up to `limit` pending notices due by `nowMs` with no live claim, until `claimUntilMs`. */
  claimDue(nowMs: number, claimUntilMs: number, limit: number): Promise<PendingBillingNotice[]>;
  /** Deletes finished notices finished before `beforeMs`; returns how many. */
  prune(beforeMs: number): Promise<number>;
}
