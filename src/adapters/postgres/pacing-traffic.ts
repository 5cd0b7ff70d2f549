/**
 * The learned hourly traffic of budgeted campaigns on the ledger database (migration 011), so
 * a restarted process seeds its forecast (src/core/pacing/traffic.ts `seed`) instead of pacing
 * flat until it has seen a whole day.
 *
 * - `recordDay`: one whole local day one process counted (24 hourly counts); a retry of the
 *   same (campaign, day, server) changes nothing.
 * - `recentDays`: per campaign, its last `days` day keys, each the SUM over the processes that
 *   counted it (each saw only its share of the traffic; the forecast uses the day's shape).
 */
import type { SqlDriver } from './driver.js';

export class PgPacingTraffic {
  constructor(private readonly db: SqlDriver) {}

  async recordDay(
    campaignId: string,
    dayKey: string,
    serverId: string,
    counts: readonly number[],
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO pacing_traffic_days (campaign_id, day_key, server_id, counts)
       VALUES ($1, $2, $3, $4::bigint[])
       ON CONFLICT (campaign_id, day_key, server_id) DO NOTHING`,
      [campaignId, dayKey, serverId, counts.map((c) => Math.max(0, Math.floor(c)))],
    );
  }

  /** Campaign id → its last `days` whole days (oldest first), each 24 summed counts. */
  async recentDays(days: number): Promise<Map<string, { dayKey: string; counts: number[] }[]>> {
    const rows = await this.db.query<{ c: string; d: string; h: number; n: string }>(
      `SELECT campaign_id AS c, day_key AS d, h, sum(x)::text AS n
         FROM (SELECT campaign_id, day_key,
                      dense_rank() OVER (PARTITION BY campaign_id ORDER BY day_key DESC) AS r,
                      counts
                 FROM pacing_traffic_days) t,
              unnest(t.counts) WITH ORDINALITY AS u(x, h)
        WHERE t.r <= $1
        GROUP BY campaign_id, day_key, h
        ORDER BY campaign_id, day_key, h`,
      [days],
    );
    const out = new Map<string, { dayKey: string; counts: number[] }[]>();
    for (const r of rows) {
      let list = out.get(r.c);
      if (list === undefined) {
        list = [];
        out.set(r.c, list);
      }
      let day = list[list.length - 1];
      if (day === undefined || day.dayKey !== r.d) {
        day = { dayKey: r.d, counts: new Array<number>(24).fill(0) };
        list.push(day);
      }
      day.counts[Number(r.h) - 1] = Number(r.n);
    }
    return out;
  }
}

export function createPgPacingTraffic(db: SqlDriver): PgPacingTraffic {
  return new PgPacingTraffic(db);
}
