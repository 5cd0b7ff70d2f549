/**
 * Business validation of one parsed bid against the request it answers (RULES.md §5 "Business
 * validation", rules 46–50): seat lists, block lists, deals, floors, secure markup, size caps.
 * Structural checks happened before, in parse-response.ts.
 *
 * Implementation notes
 * - Order: seat (bseat/wseat, 104), deal membership (private auction, unknown dealid, deal
 *   wseat: 4), block lists (badv 205, bapp 215, bcat 209, battr 210), secure markup (207),
 *   creative size (203), then floors (100 / 101). The first failing check names the reason.
 * - Floors are compared in the auction currency, after conversion and the bidder's bid
 *   adjustment (the caller passes `bidCpmMicros` so converted; prebid-server adjusts before
 *   enforcing floors). `deal.bidfloorcur` does not inherit `imp.bidfloorcur`: each defaults to
 *   USD (2.6 §3.2.4, §3.2.12; rule 30). A deal bid meets the deal floor when the deal has one,
 *   else the impression floor (rule 46 precedence).
 * - A `dealid` is checked against the imp's deals when it has some (unknown → 4); an imp with
 *   no deals cannot tell a deal id from another exchange's, so such a bid is only held to the
 *   impression floor, as a deal bid.
 * - Category blocking is by IAB content category with its sub-categories: blocking `IAB25`
 *   blocks `IAB25-3` (IAB Content Taxonomy 1.0 tier-1 codes prefix their tier-2 codes).
 * - Advertiser domains are compared without scheme, `www.` or path, and a blocked domain blocks
 *   its sub-domains (`badv: ["ford.com"]` blocks `www.ford.com`, rule 48).
 * - Insecure markup (rule 49): with `imp.secure=1` (or `enforceSecure` for every imp, prebid's
 *   host option), an `adm` or `nurl` that mentions `http:` is dropped.
 */
import type { BidRejectionReason } from './codes.js';
import { floorCpmMicros } from './price.js';
import type { ParsedBid } from './parse-response.js';
import type { BidRequest, Deal } from './types.js';

/** Converts an amount in `currency` to micros of the auction currency; null: unknown rate. */
export type ToAuctionMicros = (micros: number, currency: string) => number | null;

export interface PolicyContext {
  request: BidRequest;
  toAuctionMicros: ToAuctionMicros;
  enforceSecure?: boolean;
  maxBannerSize?: { w: number; h: number };
}

export interface PolicyRejection {
  reason: BidRejectionReason;
  detail: string;
}

function bareDomain(d: string): string {
  let s = d.trim().toLowerCase();
  const scheme = s.indexOf('://');
  if (scheme >= 0) s = s.slice(scheme + 3);
  const slash = s.search(/[/?#:]/);
  if (slash >= 0) s = s.slice(0, slash);
  return s.startsWith('www.') ? s.slice(4) : s;
}

function domainBlocked(domain: string, blocked: readonly string[]): string | null {
  const d = bareDomain(domain);
  for (const b of blocked) {
    const bb = bareDomain(b);
    if (bb.length > 0 && (d === bb || d.endsWith(`.${bb}`))) return b;
  }
  return null;
}

function categoryBlocked(cats: readonly string[], blocked: readonly string[]): string | null {
  for (const c of cats) {
    for (const b of blocked) if (c === b || c.startsWith(`${b}-`)) return c;
  }
  return null;
}

// "http:" anywhere (prebid-server's test); "https:" does not contain it.
const INSECURE = /http:/i;

export function screenBidPolicy(
  pb: ParsedBid,
  bidCpmMicros: number,
  ctx: PolicyContext,
): PolicyRejection | null {
  const { request } = ctx;
  const { bid, imp, seat } = pb;

  if (request.bseat?.includes(seat) === true)
    return { reason: 'seat_blocked', detail: `seat '${seat}' is in bseat (rule 48)` };
  if (request.wseat !== undefined && request.wseat.length > 0 && !request.wseat.includes(seat)) {
    return { reason: 'seat_blocked', detail: `seat '${seat}' is not in wseat (rule 48)` };
  }

  let deal: Deal | undefined;
  const deals = imp.pmp?.deals ?? [];
  const isDealBid = typeof bid.dealid === 'string' && bid.dealid.length > 0;
  if (isDealBid && deals.length > 0) {
    deal = deals.find((d) => d.id === bid.dealid);
    if (deal === undefined)
      return {
        reason: 'invalid_deal',
        detail: `dealid '${bid.dealid}' is not a deal of imp '${imp.id}' (rule 47)`,
      };
    if (deal.wseat !== undefined && deal.wseat.length > 0 && !deal.wseat.includes(seat)) {
      return {
        reason: 'invalid_deal',
        detail: `seat '${seat}' is not in the wseat of deal '${deal.id}' (2.6 §3.2.12)`,
      };
    }
  } else if (imp.pmp?.private_auction === 1) {
    return {
      reason: 'invalid_deal',
      detail: `imp '${imp.id}' is a private auction and the bid has no dealid (rule 47)`,
    };
  }

  if (request.badv !== undefined && bid.adomain !== undefined) {
    for (const d of bid.adomain) {
      const hit = domainBlocked(d, request.badv);
      if (hit !== null)
        return {
          reason: 'advertiser_blocked',
          detail: `adomain '${d}' is blocked by badv '${hit}' (rule 48)`,
        };
    }
  }
  if (
    request.bapp !== undefined &&
    typeof bid.bundle === 'string' &&
    request.bapp.includes(bid.bundle)
  ) {
    return { reason: 'app_bundle_blocked', detail: `bundle '${bid.bundle}' is in bapp (rule 48)` };
  }
  if (request.bcat !== undefined && bid.cat !== undefined) {
    const hit = categoryBlocked(bid.cat, request.bcat);
    if (hit !== null)
      return {
        reason: 'category_blocked',
        detail: `category '${hit}' is blocked by bcat (rule 48)`,
      };
  }
  const battr = imp[pb.mediaType]?.battr;
  if (battr !== undefined && bid.attr !== undefined) {
    const hit = bid.attr.find((a) => battr.includes(a));
    if (hit !== undefined)
      return {
        reason: 'attribute_blocked',
        detail: `creative attribute ${hit} is in battr (rule 48)`,
      };
  }

  if (imp.secure === 1 || ctx.enforceSecure === true) {
    if (
      (bid.adm !== undefined && INSECURE.test(bid.adm)) ||
      (bid.nurl !== undefined && INSECURE.test(bid.nurl))
    ) {
      return {
        reason: 'not_secure',
        detail: 'markup loads http:// content in a secure context (rule 49)',
      };
    }
  }
  const max = ctx.maxBannerSize;
  if (
    max !== undefined &&
    pb.mediaType === 'banner' &&
    ((bid.w ?? 0) > max.w || (bid.h ?? 0) > max.h)
  ) {
    return {
      reason: 'size_not_allowed',
      detail: `creative ${bid.w ?? 0}x${bid.h ?? 0} exceeds ${max.w}x${max.h} (rule 50)`,
    };
  }

  if (deal !== undefined && deal.bidfloor !== undefined && deal.bidfloor > 0) {
    const floor = ctx.toAuctionMicros(floorCpmMicros(deal.bidfloor), deal.bidfloorcur ?? 'USD');
    if (floor === null)
      return {
        reason: 'below_deal_floor',
        detail: `deal floor currency '${deal.bidfloorcur ?? ''}' has no rate`,
      };
    if (bidCpmMicros < floor)
      return {
        reason: 'below_deal_floor',
        detail: `bid ${bidCpmMicros} µ < deal floor ${floor} µ (rule 46)`,
      };
    return null;
  }
  if (imp.bidfloor !== undefined && imp.bidfloor > 0) {
    // A deal bid without a deal floor meets the impression floor; it is still reported as a
    // deal-floor miss (seat-non-bid 304), as prebid-server does (corpus
    // pbs-ex__floors_deal_enforcement.json, where the imp has no pmp at all).
    const reason = isDealBid ? 'below_deal_floor' : 'below_floor';
    const floor = ctx.toAuctionMicros(floorCpmMicros(imp.bidfloor), imp.bidfloorcur ?? 'USD');
    if (floor === null)
      return { reason, detail: `floor currency '${imp.bidfloorcur ?? ''}' has no rate` };
    if (bidCpmMicros < floor)
      return { reason, detail: `bid ${bidCpmMicros} µ < floor ${floor} µ (rule 46)` };
  }
  return null;
}
