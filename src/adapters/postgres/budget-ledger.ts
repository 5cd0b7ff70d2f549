/**
 * The budget side of the ledger database: the lease log (migration 003, append-only, one row
 * per grant and per return, idempotent by (lease id, kind)) and the sums that lost counters are
 * rebuilt from and reconciled against.
 *
 * - `spentMicros`: the ledger's spend of a campaign for a budget period. `lifetime` is every
 *   row of the campaign; a daily period is the rows whose `occurred_at` falls in the local day
 *   [fromMs, toMs). A token issued before midnight and opened after it is counted by the
 *   counters in the day of the decision but here in the day of the event, so near midnight the
 *   two can differ by the impressions in flight (the ledger rows carry no budget period).
 * - `openLeases`: micros granted to leases with no return row that have not expired, and the
 *   latest expiry among them. Conservative: part of those micros may already be spent (and so
 *   counted twice, once here and once in `spentMicros`), which strands budget, never adds any.
 *   `openLeaseRows` with a spend range subtracts each lease's spent part (ledger rows carry
 *   their lease ids since migration 010).
 */
import type { SqlDriver } from './driver.js';

export interface LeaseLogRow {
  kind: 'grant' | 'return' | 'shrink';
  leaseId: string;
  campaignId: string;
  period: string;
  serverId: string;
  micros: number;
  expiresAtMs: number | null;
  atMs: number;
}

export class PgBudgetLedger {
  constructor(private readonly db: SqlDriver) {}

  async recordLease(row: LeaseLogRow): Promise<void> {
    await this.db.query(
      `INSERT INTO budget_lease_events
         (kind, lease_id, campaign_id, period, server_id, micros, expires_at, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (lease_id, kind) DO NOTHING`,
      [
        row.kind,
        row.leaseId,
        row.campaignId,
        row.period,
        row.serverId,
        row.micros,
        row.expiresAtMs === null ? null : new Date(row.expiresAtMs).toISOString(),
        new Date(row.atMs).toISOString(),
      ],
    );
  }

  async spentMicros(
    campaignId: string,
    range: { fromMs: number; toMs: number } | null,
  ): Promise<number> {
    const rows =
      range === null
        ? await this.db.query<{ s: string | null }>(
            'SELECT sum(spend_micros)::text AS s FROM ledger_events WHERE campaign_id = $1',
            [campaignId],
          )
        : await this.db.query<{ s: string | null }>(
            `SELECT sum(spend_micros)::text AS s FROM ledger_events
              WHERE campaign_id = $1 AND occurred_at >= $2 AND occurred_at < $3`,
            [campaignId, new Date(range.fromMs).toISOString(), new Date(range.toMs).toISOString()],
          );
    return Number(rows[0]?.s ?? 0);
  }

  /** The ledger rows of a campaign in a range (null: all), as (event key, spend) pairs. */
  async spendRows(
    campaignId: string,
    range: { fromMs: number; toMs: number } | null,
  ): Promise<{ key: string; micros: number }[]> {
    const rows =
      range === null
        ? await this.db.query<{ k: string; s: string }>(
            `SELECT event_key AS k, spend_micros::text AS s FROM ledger_events
              WHERE campaign_id = $1 AND spend_micros > 0`,
            [campaignId],
          )
        : await this.db.query<{ k: string; s: string }>(
            `SELECT event_key AS k, spend_micros::text AS s FROM ledger_events
              WHERE campaign_id = $1 AND spend_micros > 0 AND occurred_at >= $2 AND occurred_at < $3`,
            [campaignId, new Date(range.fromMs).toISOString(), new Date(range.toMs).toISOString()],
          );
    return rows.map((r) => ({ key: r.k, micros: Number(r.s) }));
  }

  /**
   * The open leases themselves (grants with no return that have not expired). With `spentIn`
   * (the rebuild's spend range: null = every row, for a lifetime period), each lease's micros
   * are its grant minus the ledger's spend in that range on it (rows naming it in `lease_ids`,
   * migration 010): that spend is already in the rebuild's `spentMicros`, and what the lease's
   * outstanding tokens can still bring is at most the rest. Rows without lease ids subtract
   * nothing (held whole, conservative). Always minus a `shrink` row's micros (given back
   * early, never reserved). Without `spentIn`: no spend is subtracted.
   */
  async openLeaseRows(
    campaignId: string,
    period: string,
    nowMs: number,
    spentIn?: { fromMs: number; toMs: number } | null,
  ): Promise<{ leaseId: string; micros: number; expiresAtMs: number; serverId: string }[]> {
    const params: unknown[] = [campaignId, period, new Date(nowMs).toISOString()];
    // A shrink row: micros given back early, never reserved (src/exchange/budget.ts).
    let micros = `g.micros - COALESCE((SELECT sum(s.micros) FROM budget_lease_events s
                  WHERE s.kind = 'shrink' AND s.lease_id = g.lease_id), 0)`;
    if (spentIn !== undefined) {
      let inRange = '';
      if (spentIn !== null) {
        params.push(new Date(spentIn.fromMs).toISOString(), new Date(spentIn.toMs).toISOString());
        inRange = ' AND e.occurred_at >= $4 AND e.occurred_at < $5';
      }
      micros = `${micros} - COALESCE((SELECT sum(e.spend_micros) FROM ledger_events e
                  WHERE e.campaign_id = g.campaign_id AND g.lease_id = ANY (e.lease_ids)${inRange}), 0)`;
    }
    const rows = await this.db.query<{
      id: string;
      m: string;
      until: Date | string;
      server: string;
    }>(
      `SELECT g.lease_id AS id, GREATEST(0, ${micros})::text AS m, g.expires_at AS until, g.server_id AS server
         FROM budget_lease_events g
        WHERE g.kind = 'grant' AND g.campaign_id = $1 AND g.period = $2 AND g.expires_at > $3
          AND NOT EXISTS (SELECT 1 FROM budget_lease_events r
                           WHERE r.kind = 'return' AND r.lease_id = g.lease_id)`,
      params,
    );
    return rows.map((r) => ({
      leaseId: r.id,
      micros: Number(r.m),
      expiresAtMs: new Date(r.until).getTime(),
      serverId: r.server,
    }));
  }

  async openLeases(
    campaignId: string,
    period: string,
    nowMs: number,
  ): Promise<{ heldMicros: number; heldUntilMs: number }> {
    const rows = await this.db.query<{ s: string | null; until: Date | string | null }>(
      `SELECT sum(g.micros)::text AS s, max(g.expires_at) AS until
         FROM budget_lease_events g
        WHERE g.kind = 'grant' AND g.campaign_id = $1 AND g.period = $2 AND g.expires_at > $3
          AND NOT EXISTS (SELECT 1 FROM budget_lease_events r
                           WHERE r.kind = 'return' AND r.lease_id = g.lease_id)`,
      [campaignId, period, new Date(nowMs).toISOString()],
    );
    const until = rows[0]?.until;
    return {
      heldMicros: Number(rows[0]?.s ?? 0),
      heldUntilMs: until === null || until === undefined ? 0 : new Date(until).getTime(),
    };
  }
}

export function createPgBudgetLedger(db: SqlDriver): PgBudgetLedger {
  return new PgBudgetLedger(db);
}
