/** PgReportStore: the ReportStore port over `report_hourly` (migration 004). Keyset paging. */
import { ctr, ecpmMicros } from '../../core/reporting/metrics.js';
import type {
  ReportPage,
  ReportPosition,
  ReportQuery,
  ReportRow,
  ReportStore,
} from '../../ports/report-store.js';
import type { SqlDriver } from './driver.js';

interface Row {
  hour: Date | string;
  advertiser_id: string;
  campaign_id: string;
  creative_id: string;
  placement_id: string;
  impressions: string | number;
  clicks: string | number;
  spend_micros: string | number;
}

export function createPgReportStore(driver: SqlDriver): PgReportStore {
  return new PgReportStore(driver);
}

export class PgReportStore implements ReportStore {
  constructor(private readonly db: SqlDriver) {}

  async hourly(q: ReportQuery): Promise<ReportPage> {
    const params: unknown[] = [q.from, q.to];
    const where = ['hour >= $1::timestamptz', 'hour < $2::timestamptz'];
    if (q.advertiser_id !== undefined) {
      params.push(q.advertiser_id);
      where.push(`advertiser_id = $${params.length}`);
    }
    if (q.campaign_id !== undefined) {
      params.push(q.campaign_id);
      where.push(`campaign_id = $${params.length}`);
    }
    if (q.after !== undefined) {
      const a = q.after;
      params.push(a.hour, a.campaign_id, a.creative_id, a.placement_id);
      const n = params.length;
      where.push(
        `(hour, campaign_id, creative_id, placement_id) > ($${n - 3}::timestamptz, $${n - 2}, $${n - 1}, $${n})`,
      );
    }
    params.push(q.limit + 1);
    const rows = await this.db.query<Row>(
      `SELECT hour, advertiser_id, campaign_id, creative_id, placement_id,
              impressions, clicks, spend_micros
         FROM report_hourly
        WHERE ${where.join(' AND ')}
        ORDER BY hour, campaign_id, creative_id, placement_id
        LIMIT $${params.length}`,
      params,
    );
    const out: ReportRow[] = rows.slice(0, q.limit).map((r) => {
      const impressions = Number(r.impressions);
      const clicks = Number(r.clicks);
      const spend = Number(r.spend_micros);
      return {
        hour: new Date(r.hour).toISOString(),
        advertiser_id: r.advertiser_id,
        campaign_id: r.campaign_id,
        creative_id: r.creative_id,
        placement_id: r.placement_id,
        impressions,
        clicks,
        spend_micros: spend,
        ctr: ctr(impressions, clicks),
        ecpm_micros: ecpmMicros(impressions, spend),
      };
    });
    const last = out[out.length - 1];
    const next: ReportPosition | null =
      rows.length > q.limit && last !== undefined
        ? {
            hour: last.hour,
            campaign_id: last.campaign_id,
            creative_id: last.creative_id,
            placement_id: last.placement_id,
          }
        : null;
    return { rows: out, next };
  }
}
