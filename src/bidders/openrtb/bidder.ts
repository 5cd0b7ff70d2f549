/**
 * The generic OpenRTB 2.5/2.6 bidder: one instance per DSP that speaks plain OpenRTB, configured
 * by DspConfig (endpoint, version, media types, currencies, gzip, bid adjustment, tmax
 * deduction, QPS cap). Pure (src/bidders/types.ts).
 *
 * Implementation notes
 * - Imps keep only the media types the DSP buys; an imp left with none is not sent, and a
 *   request left with no imp is skipped with seat-non-bid 202 "unsupported media type".
 * - The outbound request is the inbound one (already validated, privacy-stripped and with our
 *   schain node, by the exchange) with `imp`, `tmax` (budget − this DSP's deduction), `cur` (the
 *   currencies we accept from it), and `at` written out (RULES.md rule 10: prebid assumes 1 when
 *   absent). Same `id` and `source.tid` for every DSP (2.6 §3.2.1 allows a shared id; rule 27
 *   requires a common tid), which is what lets equal bodies be shared.
 * - 2.5 DSPs get the 2.5 ext locations (core/openrtb/convert.ts; RULES.md rule 11).
 * - Headers: `x-openrtb-version` (2.6 §2.5, rule 5); `content-type: application/json`;
 *   `accept-encoding: gzip` only when gzip is agreed (rule 4).
 * - Responses go through core/openrtb/parse-response.ts; prices stay in the bid currency and
 *   the adjustment travels with the bid, so the exchange converts once (currency + adjustment)
 *   and can undo both for `${AUCTION_PRICE}`.
 */
import { SeatNonBidStatus } from '../../core/openrtb/codes.js';
import { toOpenRtb25 } from '../../core/openrtb/convert.js';
import { parseBidResponse } from '../../core/openrtb/parse-response.js';
import type { BidRequest, Imp, MediaType } from '../../core/openrtb/types.js';
import type {
  Bidder,
  BuildContext,
  BuildResult,
  DspConfig,
  HttpRequestData,
  HttpResponseData,
  ParseResult,
} from '../types.js';

const ALL: readonly MediaType[] = ['banner', 'video', 'audio', 'native'];

function filterImp(imp: Imp, buys: ReadonlySet<MediaType>): Imp | null {
  let copy: Imp | null = null;
  let kept = 0;
  for (const t of ALL) {
    if (imp[t] === undefined) continue;
    if (buys.has(t)) {
      kept++;
      continue;
    }
    copy ??= { ...imp };
    delete copy[t];
  }
  return kept === 0 ? null : (copy ?? imp);
}

export function createOpenRtbBidder(config: DspConfig): Bidder {
  const buys = new Set(config.mediaTypes);
  const buysAll = ALL.every((t) => buys.has(t));
  const headers: Record<string, string> = {
    'content-type': 'application/json;charset=utf-8',
    'x-openrtb-version': config.ortbVersion,
  };
  if (config.gzip) headers['accept-encoding'] = 'gzip';
  const mediaKey = [...buys].sort().join(',');
  const curKey = config.currencies.join(',');

  return {
    config,

    buildRequests(request: BidRequest, ctx: BuildContext): BuildResult {
      const imps: Imp[] = [];
      for (const imp of request.imp) {
        const f = buysAll ? imp : filterImp(imp, buys);
        if (f !== null) imps.push(f);
      }
      if (imps.length === 0) {
        return {
          kind: 'skip',
          status: SeatNonBidStatus.RequestBlockedUnsupportedMediaType,
          why: `no imp offers ${[...buys].join('/')}`,
        };
      }
      const tmax = Math.max(1, Math.floor(ctx.tmaxMs - config.tmaxDeductionMs));
      let sent: BidRequest = {
        ...request,
        imp: imps,
        tmax,
        at: request.at ?? 2,
        cur: [...config.currencies],
      };
      if (config.ortbVersion === '2.5') sent = toOpenRtb25(sent);
      // Requests that differ only by bidder settings that do not change the body share it.
      const key = `${config.ortbVersion}|${buysAll ? '*' : mediaKey}|${curKey}|${tmax}`;
      let body = ctx.bodies.get(key);
      if (body === undefined) {
        body = JSON.stringify(sent);
        ctx.bodies.set(key, body);
      }
      const http: HttpRequestData = {
        method: 'POST',
        uri: config.endpoint,
        headers,
        body,
        gzip: config.gzip,
        impIds: imps.map((i) => i.id),
      };
      return { kind: 'requests', requests: [http], sent };
    },

    parseBids(sent: BidRequest, _req: HttpRequestData, res: HttpResponseData): ParseResult {
      const parsed = parseBidResponse(res.status, res.body, {
        request: sent,
        defaultSeat: config.id,
        acceptedCurrencies: config.currencies,
        maxAdmLength: config.maxAdmLength,
        requireCreativeId: config.requireCreativeId,
        requireMatchingId: config.requireMatchingId,
      });
      switch (parsed.kind) {
        case 'no_bid':
          return { bids: [], rejected: [], errors: [], nbr: parsed.nbr, warnings: [] };
        case 'error':
          return {
            bids: [],
            rejected: [],
            errors: [{ kind: parsed.error, message: parsed.message }],
            nbr: null,
            warnings: [],
          };
        case 'bids':
          return {
            bids: parsed.bids.map((b) => ({ ...b, bidAdjustment: config.bidAdjustment })),
            rejected: parsed.rejected,
            errors: [],
            nbr: parsed.nbr,
            warnings: parsed.warnings,
          };
      }
    },
  };
}
