/** PgBillingOutbox: the BillingOutbox port over `rtb_billing_notices` (migration 007). */
import type {
  BillingNoticeState,
  BillingOutbox,
  PendingBillingNotice,
} from '../../ports/billing-outbox.js';
import { toSafeInt, type SqlDriver } from './driver.js';

interface Row {
  decision_id: string;
  url: string;
  attempts: number | string;
  next_at_ms: number | string;
}

export function createPgBillingOutbox(driver: SqlDriver): BillingOutbox {
  return new PgBillingOutbox(driver);
}

export class PgBillingOutbox implements BillingOutbox {
  constructor(private readonly db: SqlDriver) {}

  async add(decisionId: string, url: string, nowMs: number, claimUntilMs: number) {
    const rows = await this.db.query(
      `INSERT INTO rtb_billing_notices
              (decision_id, url, next_at_ms, claimed_until_ms, created_at_ms)
       VALUES ($1, $2, $3, $4, $3)
       ON CONFLICT (decision_id) DO NOTHING
       RETURNING decision_id`,
      [decisionId, url, nowMs, claimUntilMs],
    );
    return rows.length === 1;
  }

  async retryLater(decisionId: string, attempts: number, nextAtMs: number, claimUntilMs: number) {
    await this.db.query(
      `UPDATE rtb_billing_notices
          SET attempts = $2, next_at_ms = $3, claimed_until_ms = $4
        WHERE decision_id = $1 AND state = 'pending'`,
      [decisionId, attempts, nextAtMs, claimUntilMs],
    );
  }

  async release(decisionId: string) {
    await this.db.query(
      `UPDATE rtb_billing_notices SET claimed_until_ms = 0
        WHERE decision_id = $1 AND state = 'pending'`,
      [decisionId],
    );
  }

  async finish(decisionId: string, state: BillingNoticeState, attempts: number, nowMs: number) {
    await this.db.query(
      `UPDATE rtb_billing_notices
          SET state = $2, attempts = $3, finished_at_ms = $4, claimed_until_ms = 0
        WHERE decision_id = $1 AND state = 'pending'`,
      [decisionId, state, attempts, nowMs],
    );
  }

  async claimDue(nowMs: number, claimUntilMs: number, limit: number) {
    if (limit <= 0) return [];
    const rows = await this.db.query<Row>(
      `UPDATE rtb_billing_notices SET claimed_until_ms = $2
        WHERE decision_id IN (
                SELECT decision_id FROM rtb_billing_notices
                 WHERE state = 'pending' AND next_at_ms <= $1 AND claimed_until_ms <= $1
                 ORDER BY next_at_ms
                 LIMIT $3
                   FOR UPDATE SKIP LOCKED)
          AND state = 'pending' AND claimed_until_ms <= $1
        RETURNING decision_id, url, attempts, next_at_ms`,
      [nowMs, claimUntilMs, limit],
    );
    return rows.map((r): PendingBillingNotice => ({
      decisionId: r.decision_id,
      url: r.url,
      attempts: toSafeInt(r.attempts),
      nextAtMs: toSafeInt(r.next_at_ms),
    }));
  }

  async prune(beforeMs: number) {
    const rows = await this.db.query(
      `DELETE FROM rtb_billing_notices
        WHERE state <> 'pending' AND finished_at_ms < $1
        RETURNING decision_id`,
      [beforeMs],
    );
    return rows.length;
  }
}
