/**
 * ReportStore: hourly delivery reports (issue 7 item 6c) — impressions, clicks, spend, CTR and
 * eCPM per campaign × creative × placement × hour (UTC). PostgreSQL (`report_hourly`, kept by a
 * trigger on the ledger insert, migration 004) is the one adapter.
 *
 * Guarantees
 * - Counts come from the ledger rows that were really inserted, in the same transaction, so a
 *   redelivered or repeated event is counted once, and a committed ledger row is in the report
 *   as soon as its commit returns.
 * - `hourly` returns rows with `hour` in [from, to), ordered by (hour, campaign_id,
 *   creative_id, placement_id), at most `limit`; `next` is the position to pass as `after`
 *   for the following page (null on the last page). Keyset paging: rows added behind the
 *   cursor while paging are not returned again; rows added ahead of it are.
 * - Filters are exact matches; `advertiser_id` restricts to one tenant.
 * Left out: other grains (day, advertiser) — sum the hourly rows; time zones other than UTC.
 */

export interface ReportPosition {
  hour: string; // ISO 8601, UTC, on the hour
  campaign_id: string;
  creative_id: string;
  placement_id: string;
}

export interface ReportRow extends ReportPosition {
  advertiser_id: string;
  impressions: number;
  clicks: number;
  spend_micros: number;
  /** clicks / impressions (0 without impressions). */
  ctr: number;
  /** spend per thousand impressions, micros (0 without impressions). */
  ecpm_micros: number;
}

export interface ReportQuery {
  /** Inclusive, ISO 8601. */
  from: string;
  /** Exclusive, ISO 8601. */
  to: string;
  advertiser_id?: string;
  campaign_id?: string;
  after?: ReportPosition;
  limit: number;
}

export interface ReportPage {
  rows: ReportRow[];
  next: ReportPosition | null;
}

export interface ReportStore {
  hourly(q: ReportQuery): Promise<ReportPage>;
}
