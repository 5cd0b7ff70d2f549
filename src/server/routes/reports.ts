/**
 * `GET /v1/reports` — hourly delivery reports (issue 7 item 6c), from `report_hourly`.
 *
 * Query: `from` and `to` (required, ISO 8601 date or date-time; [from, to), at most 93 days),
 * `campaign_id`, `advertiser_id` (optional filters), `limit` (1–1000, default 100), `cursor`
 * (the `next_cursor` of the previous page, opaque). Answer: `{"rows": [...], "next_cursor":
 * "…" | null}`; each row: hour, advertiser/campaign/creative/placement ids, impressions,
 * clicks, spend_micros, ctr, ecpm_micros.
 *
 * Access: the admin key sees every advertiser; an advertiser key sees only its own rows (an
 * `advertiser_id` naming another advertiser is 403; a `campaign_id` of another advertiser
 * simply returns no rows). Bad parameters: 400 ADS_ERR_VALIDATION; a cursor that was not
 * produced by this endpoint (or does not match the filters' shape): 400 ADS_ERR_CURSOR_INVALID.
 */
import type { FastifyInstance } from 'fastify';
import { AdsError } from '../../core/errors.js';
import type { ReportPosition, ReportStore } from '../../ports/report-store.js';
import type { Authenticator } from '../plugins/auth.js';

export interface ReportRouteDeps {
  reports: ReportStore;
  auth: Authenticator;
}

const DATE = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))?$';
const ID = { type: 'string', minLength: 1, maxLength: 128 } as const;

const REPORT_QUERY = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: { type: 'string', pattern: DATE },
    to: { type: 'string', pattern: DATE },
    campaign_id: ID,
    advertiser_id: ID,
    limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
    cursor: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const;

interface ReportQueryString {
  from: string;
  to: string;
  campaign_id?: string;
  advertiser_id?: string;
  limit?: string;
  cursor?: string;
}

const MAX_RANGE_MS = 93 * 86_400_000;

function instant(name: string, s: string): number {
  const ms = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);
  if (!Number.isFinite(ms))
    throw new AdsError('ADS_ERR_VALIDATION', `querystring/${name}: not a valid date`);
  return ms;
}

export function encodeCursor(p: ReportPosition): string {
  return Buffer.from(
    JSON.stringify([p.hour, p.campaign_id, p.creative_id, p.placement_id]),
  ).toString('base64url');
}

export function decodeCursor(s: string): ReportPosition {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw new AdsError('ADS_ERR_CURSOR_INVALID');
  }
  if (
    !Array.isArray(v) ||
    v.length !== 4 ||
    !v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 128) ||
    !Number.isFinite(Date.parse(v[0] as string))
  ) {
    throw new AdsError('ADS_ERR_CURSOR_INVALID');
  }
  const [hour, campaign_id, creative_id, placement_id] = v as string[];
  return {
    hour: new Date(Date.parse(hour as string)).toISOString(),
    campaign_id: campaign_id as string,
    creative_id: creative_id as string,
    placement_id: placement_id as string,
  };
}

export function registerReportRoutes(app: FastifyInstance, deps: ReportRouteDeps): void {
  const { reports, auth } = deps;
  app.get<{ Querystring: ReportQueryString }>(
    '/v1/reports',
    {
      schema: {
        summary: 'Hourly delivery report rows (campaign × creative × placement × hour)',
        tags: ['reports'],
        querystring: REPORT_QUERY,
      },
    },
    async (req) => {
      const p = await auth.principal(req);
      const q = req.query;
      const from = instant('from', q.from);
      const to = instant('to', q.to);
      if (to <= from)
        throw new AdsError('ADS_ERR_VALIDATION', 'querystring/to: must be after from');
      if (to - from > MAX_RANGE_MS) {
        throw new AdsError('ADS_ERR_VALIDATION', 'querystring: the range may span at most 93 days');
      }
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      if (limit < 1 || limit > 1000) {
        throw new AdsError('ADS_ERR_VALIDATION', 'querystring/limit: must be 1 to 1000');
      }
      let advertiserId = q.advertiser_id;
      if (p.role === 'advertiser') {
        if (advertiserId !== undefined && advertiserId !== p.advertiser_id) {
          throw new AdsError('ADS_ERR_FORBIDDEN', 'An advertiser key sees only its own reports');
        }
        advertiserId = p.advertiser_id;
      }
      const page = await reports.hourly({
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        ...(advertiserId !== undefined ? { advertiser_id: advertiserId } : {}),
        ...(q.campaign_id !== undefined ? { campaign_id: q.campaign_id } : {}),
        ...(q.cursor !== undefined ? { after: decodeCursor(q.cursor) } : {}),
        limit,
      });
      return { rows: page.rows, next_cursor: page.next === null ? null : encodeCursor(page.next) };
    },
  );
}
