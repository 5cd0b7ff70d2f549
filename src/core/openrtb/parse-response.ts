/**
 * A DSP's HTTP reply → no-bid, an error, or typed bids plus the bids dropped with their reason
 * (RULES.md §5, rules 34–45). Pure: the caller did the I/O and passes status and body text.
 *
 * Implementation notes
 * - No-bid is not an error (rule 34): HTTP 204, an empty body, `{}`, `seatbid: []`, with or
 *   without `nbr`. A 200 whose seatbids hold no bids at all is a no-bid too.
 * - Errors (rule 35): 400 = the DSP refused our request; any other non-200 = bad server
 *   response; an unparseable or wrongly typed body = invalid response (rule 41, loss reason 3).
 *   "Wrongly typed" is judged like a typed decoder would (prebid-server's Go unmarshal, which is
 *   what the corpus verdicts come from): the top level, `seatbid`, `bid`, and the numeric fields
 *   of a bid (`price`, `w`, `h`, `mtype`, `exp`, `dur`) must have their JSON type, otherwise the
 *   whole body is malformed. A bid whose `adm` is not a string is a per-bid rejection instead
 *   (rule 42: an object `adm` is non-conformant markup, not a broken response; corpus
 *   `google__RESPONSE_FULL__NOROOT_OBJECT.json` expects "parse ok, several policy violations").
 * - Per-bid drops, each with a closed-enum reason (codes.ts → IAB loss reason and seat-non-bid
 *   status): missing id/impid, impid not in the request (rule 38), missing price, price < 0 or
 *   price 0 without a deal (rule 39), missing crid when the bidder is configured to require it
 *   (rule 40), no markup at all (rule 42), native
 *   adm that is not JSON (rule 42), a media type the imp did not offer (rule 43), markup above
 *   the size cap, a duplicate bid id (rule 45), and the currency (rule 44: valid ISO 4217 and
 *   one we accept, else every bid of the response is dropped).
 * - `BidResponse.id` must be the request id (2.6 §4.2.1, rule 36 [REC]). Several valid
 *   prebid-server fixtures answer another id, so rejecting is opt-in per bidder
 *   (`requireMatchingId`); otherwise a mismatch is reported as a warning.
 * - Prices become integer micros here (CPM float → micros, half-up on the written decimal).
 */
import { unitsToMicros } from '../auction/index.js';
import type { BidRejectionReason, NoBidReason } from './codes.js';
import { MTYPE } from './codes.js';
import type { Bid, BidRequest, Imp, MediaType } from './types.js';

export interface ResponseContext {
  /** The request as sent to this bidder: bids must reference its imps. */
  request: BidRequest;
  /** Seat name when `seatbid.seat` is absent: the bidder's id. */
  defaultSeat: string;
  /** Currencies we accept from this bidder (request `cur`, else USD; rule 44). */
  acceptedCurrencies: readonly string[];
  /** Largest accepted `adm`, in UTF-16 code units (≈ bytes for markup). */
  maxAdmLength: number;
  requireMatchingId?: boolean;
  /**
   * Drop bids without `crid` (rule 40: prebid-server requires it, the spec only recommends it;
   * the IAB spec's own response examples 6.3.2–6.3.4 have none). Default false.
   */
  requireCreativeId?: boolean;
}

export interface ParsedBid {
  seat: string;
  bid: Bid;
  imp: Imp;
  mediaType: MediaType;
  /** `bid.price` as integer micros of `currency` (CPM). */
  priceMicros: number;
  currency: string;
}

export interface RejectedBid {
  seat: string;
  bidId: string | null;
  impid: string | null;
  reason: BidRejectionReason;
  detail: string;
}

export const ResponseError = {
  /** HTTP 400: the DSP says our request was invalid (rule 35). */
  BadInput: 'bad_input',
  /** Any other non-200/204 status (rule 35). */
  BadServerResponse: 'bad_server_response',
  /** Unparseable JSON or wrong JSON types (rule 41). */
  InvalidResponse: 'invalid_response',
} as const;
export type ResponseError = (typeof ResponseError)[keyof typeof ResponseError];

export type ParsedResponse =
  | { kind: 'no_bid'; nbr: NoBidReason | number | null }
  | { kind: 'error'; error: ResponseError; message: string }
  | {
      kind: 'bids';
      bids: ParsedBid[];
      rejected: RejectedBid[];
      currency: string;
      /** `nbr` sent alongside bids (non-conformant but seen; corpus google RESPONSE_FULL). */
      nbr: number | null;
      warnings: string[];
    };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** ISO 4217 codes known to the runtime's ICU data (Intl, ECMA-402): no package, no I/O. */
let isoCurrencies: ReadonlySet<string> | null = null;
export function isIsoCurrency(code: string): boolean {
  isoCurrencies ??= new Set(Intl.supportedValuesOf('currency'));
  return isoCurrencies.has(code);
}

/** WHATWG URL parsing (a global, no I/O) after macro placeholders are blanked. */
function isHttpUrl(u: string): boolean {
  const plain = u.replace(/\$\{[A-Z_:0-9]+\}/g, '');
  return /^https?:\/\/[^\s/]/i.test(plain) && URL.canParse(plain);
}

const NUMERIC_BID_FIELDS = ['price', 'w', 'h', 'mtype', 'exp', 'dur', 'wratio', 'hratio'] as const;

class Malformed extends Error {}

/** Checks the JSON shape a typed decoder would need; throws Malformed with the first problem. */
function checkShape(body: unknown): asserts body is Obj {
  if (!isObj(body)) throw new Malformed('the body is not a JSON object');
  if (body.seatbid !== undefined && body.seatbid !== null && !Array.isArray(body.seatbid)) {
    throw new Malformed('seatbid is not an array');
  }
  if (body.cur !== undefined && typeof body.cur !== 'string')
    throw new Malformed('cur is not a string');
  if (body.nbr !== undefined && typeof body.nbr !== 'number')
    throw new Malformed('nbr is not a number');
  const seatbids = (body.seatbid ?? []) as unknown[];
  seatbids.forEach((sb, i) => {
    if (!isObj(sb)) throw new Malformed(`seatbid[${i}] is not an object`);
    if (sb.bid !== undefined && sb.bid !== null && !Array.isArray(sb.bid)) {
      throw new Malformed(`seatbid[${i}].bid is not an array`);
    }
    ((sb.bid ?? []) as unknown[]).forEach((b, j) => {
      if (!isObj(b)) throw new Malformed(`seatbid[${i}].bid[${j}] is not an object`);
      for (const k of NUMERIC_BID_FIELDS) {
        const v = b[k];
        if (v !== undefined && v !== null && typeof v !== 'number') {
          throw new Malformed(`seatbid[${i}].bid[${j}].${k} is a ${typeof v}, not a number`);
        }
      }
    });
  });
}

function offered(imp: Imp): MediaType[] {
  const out: MediaType[] = [];
  if (imp.banner) out.push('banner');
  if (imp.video) out.push('video');
  if (imp.audio) out.push('audio');
  if (imp.native) out.push('native');
  return out;
}

/**
 * The bid's media type (rule 43): `mtype` when given (it must be offered), else the imp's only
 * type, else a guess from the markup (VAST → video, JSON → native, anything else → banner).
 */
function mediaTypeOf(bid: Obj, imp: Imp): MediaType | null {
  const types = offered(imp);
  if (typeof bid.mtype === 'number') {
    const t = MTYPE[bid.mtype];
    return t !== undefined && types.includes(t) ? t : null;
  }
  if (types.length === 1) return types[0] as MediaType;
  const adm = typeof bid.adm === 'string' ? bid.adm.trimStart() : '';
  const guess: MediaType =
    adm.startsWith('<VAST') || adm.startsWith('<?xml') || adm.startsWith('%3CVAST')
      ? types.includes('video')
        ? 'video'
        : 'audio'
      : adm.startsWith('{')
        ? 'native'
        : 'banner';
  return types.includes(guess) ? guess : (types[0] ?? null);
}

/** Screens one structurally sound bid; returns the reason it is dropped, or null. */
function screenBid(
  b: Obj,
  imps: ReadonlyMap<string, Imp>,
  ctx: ResponseContext,
):
  | { reason: BidRejectionReason; detail: string }
  | { imp: Imp; mediaType: MediaType; priceMicros: number } {
  if (typeof b.id !== 'string' || b.id.length === 0)
    return { reason: 'invalid_bid', detail: 'bid.id is missing (2.6 §4.2.3)' };
  if (typeof b.impid !== 'string' || b.impid.length === 0)
    return { reason: 'invalid_bid', detail: 'bid.impid is missing (2.6 §4.2.3)' };
  const imp = imps.get(b.impid);
  if (imp === undefined)
    return {
      reason: 'unknown_impid',
      detail: `impid '${b.impid}' is not an imp of the request (rule 38)`,
    };
  if (typeof b.price !== 'number')
    return { reason: 'missing_price', detail: 'bid.price is missing (2.6 §4.2.3)' };
  const priceMicros = unitsToMicros(b.price);
  if (!Number.isSafeInteger(priceMicros) || priceMicros < 0) {
    return {
      reason: 'non_positive_price',
      detail: `price ${b.price} is negative or not representable (rule 39)`,
    };
  }
  if (priceMicros === 0 && (typeof b.dealid !== 'string' || b.dealid.length === 0)) {
    return {
      reason: 'non_positive_price',
      detail: 'price 0 is allowed only with a dealid (rule 39)',
    };
  }
  if (ctx.requireCreativeId === true && (typeof b.crid !== 'string' || b.crid.length === 0)) {
    return { reason: 'missing_creative_id', detail: 'bid.crid is missing (rule 40)' };
  }
  if (b.adm !== undefined && b.adm !== null && typeof b.adm !== 'string') {
    return {
      reason: 'incorrect_format',
      detail: `adm is a ${Array.isArray(b.adm) ? 'array' : typeof b.adm}, not a string (rule 42)`,
    };
  }
  const adm = typeof b.adm === 'string' && b.adm.length > 0 ? b.adm : null;
  const nurl = typeof b.nurl === 'string' && b.nurl.length > 0 ? b.nurl : null;
  if (adm === null && nurl === null)
    return { reason: 'missing_markup', detail: 'neither adm nor nurl (2.6 §4.3; rule 42)' };
  if (adm === null && !isHttpUrl(nurl as string)) {
    // Markup served on the win notice needs a URL we can call (corpus bsm `bres.pmp.json`:
    // "http: //…", a spec typo copied into test data).
    return {
      reason: 'missing_markup',
      detail: 'no adm and nurl is not a valid http(s) URL (2.6 §4.3)',
    };
  }
  if (adm !== null && adm.length > ctx.maxAdmLength) {
    return {
      reason: 'markup_too_large',
      detail: `adm is ${adm.length} characters, the cap is ${ctx.maxAdmLength}`,
    };
  }
  const mediaType = mediaTypeOf(b, imp);
  if (mediaType === null) {
    return {
      reason: 'media_type_not_offered',
      detail: `mtype ${String(b.mtype)} is not offered by imp '${imp.id}' (rule 43)`,
    };
  }
  if (mediaType === 'native' && adm !== null) {
    try {
      if (!isObj(JSON.parse(adm))) throw new Error('not an object');
    } catch {
      return { reason: 'incorrect_format', detail: 'native adm is not a JSON object (rule 42)' };
    }
  }
  return { imp, mediaType, priceMicros };
}

export function parseBidResponse(
  status: number,
  bodyText: string,
  ctx: ResponseContext,
): ParsedResponse {
  if (status === 204) return { kind: 'no_bid', nbr: null };
  if (status === 400)
    return {
      kind: 'error',
      error: ResponseError.BadInput,
      message: 'HTTP 400: the bidder rejected the request',
    };
  if (status !== 200)
    return {
      kind: 'error',
      error: ResponseError.BadServerResponse,
      message: `unexpected HTTP status ${status}`,
    };
  if (bodyText.trim().length === 0) return { kind: 'no_bid', nbr: null };

  let body: unknown;
  try {
    body = JSON.parse(bodyText);
    checkShape(body);
  } catch (e) {
    const why = e instanceof Malformed ? e.message : 'the body is not valid JSON';
    return {
      kind: 'error',
      error: ResponseError.InvalidResponse,
      message: `${why} (2.6 §4; rule 41)`,
    };
  }
  const nbr = typeof body.nbr === 'number' ? body.nbr : null;
  const seatbids = (body.seatbid ?? []) as Obj[];
  const total = seatbids.reduce((n, sb) => n + ((sb.bid as unknown[] | undefined)?.length ?? 0), 0);
  if (total === 0) return { kind: 'no_bid', nbr };

  const warnings: string[] = [];
  const currency =
    typeof body.cur === 'string' && body.cur.length > 0 ? body.cur.toUpperCase() : 'USD';
  let wholeResponse: { reason: BidRejectionReason; detail: string } | null = null;
  if (!isIsoCurrency(currency)) {
    wholeResponse = {
      reason: 'invalid_currency',
      detail: `cur '${currency}' is not an ISO 4217 code (rule 44)`,
    };
  } else if (!ctx.acceptedCurrencies.includes(currency)) {
    wholeResponse = {
      reason: 'currency_not_accepted',
      detail: `cur '${currency}' is not one of ${ctx.acceptedCurrencies.join(', ')} (rule 44)`,
    };
  }
  if (body.id !== ctx.request.id) {
    const detail = `response id ${JSON.stringify(body.id)} is not the request id '${ctx.request.id}' (2.6 §4.2.1)`;
    if (ctx.requireMatchingId === true) wholeResponse ??= { reason: 'invalid_auction_id', detail };
    else warnings.push(detail);
  }

  const imps = new Map(ctx.request.imp.map((i) => [i.id, i]));
  const bids: ParsedBid[] = [];
  const rejected: RejectedBid[] = [];
  const seen = new Set<string>();
  for (const sb of seatbids) {
    const seat = typeof sb.seat === 'string' && sb.seat.length > 0 ? sb.seat : ctx.defaultSeat;
    for (const raw of (sb.bid ?? []) as Obj[]) {
      const bidId = typeof raw.id === 'string' ? raw.id : null;
      const impid = typeof raw.impid === 'string' ? raw.impid : null;
      // Rule 45 [REC]: a bid id is unique within a seat of a response; the first one counts,
      // whether or not it passed its own checks.
      const key = `${seat}\u0000${bidId ?? ''}`;
      if (bidId !== null && seen.has(key)) {
        rejected.push({
          seat,
          bidId,
          impid,
          reason: 'duplicate_bid_id',
          detail: `bid id '${bidId}' repeats in seat '${seat}' (rule 45)`,
        });
        continue;
      }
      seen.add(key);
      const r = wholeResponse ?? screenBid(raw, imps, ctx);
      if ('reason' in r) {
        rejected.push({ seat, bidId, impid, reason: r.reason, detail: r.detail });
        continue;
      }
      bids.push({
        seat,
        bid: raw as unknown as Bid,
        imp: r.imp,
        mediaType: r.mediaType,
        priceMicros: r.priceMicros,
        currency,
      });
    }
  }
  return { kind: 'bids', bids, rejected, currency, nbr, warnings };
}
