/**
 * The bidder contract (DESIGN.md §4, the prebid-server `adapters/bidder.go` model): a bidder is
 * a pure translator between our OpenRTB request and one DSP's HTTP API. It never does I/O, reads
 * no clock and keeps no state between calls; the exchange owns HTTP, deadlines, currency
 * conversion, breakers and metrics (src/exchange/rtb/).
 *
 *   buildRequests(request, ctx) → HTTP request values (or a skip reason)
 *   parseBids(sent, httpRequest, httpResponse) → typed bids + rejected bids + errors
 */
import type { SeatNonBidStatus } from '../core/openrtb/codes.js';
import type { ParsedBid, RejectedBid, ResponseError } from '../core/openrtb/parse-response.js';
import type { BidRequest, MediaType } from '../core/openrtb/types.js';

/** One DSP's settings (issue 4 item 1). */
export interface DspConfig {
  /** Bidder code; the seat when the DSP names none. */
  id: string;
  /** Absolute http(s) URL the BidRequest is POSTed to. */
  endpoint: string;
  ortbVersion: '2.5' | '2.6';
  /** Media types the DSP buys; imps offering none of them are not sent (seat-non-bid 202). */
  mediaTypes: readonly MediaType[];
  /** Currencies we accept from this DSP, sent as `cur` (RULES.md rule 30, rule 44). */
  currencies: readonly string[];
  /** Gzip request bodies (agreed with the DSP beforehand, RULES.md rule 4) and ask for gzip back. */
  gzip: boolean;
  /** Multiplier on the DSP's prices before the auction (prebid's bidadjustmentfactors). */
  bidAdjustment: number;
  /** Taken off the tmax told to this DSP, for its network distance (RULES.md rule 28). */
  tmaxDeductionMs: number;
  /** Calls per second at most; null = no cap. Enforced by the exchange. */
  qpsCap: number | null;
  /** Largest `adm` accepted, in characters. */
  maxAdmLength: number;
  requireCreativeId: boolean;
  requireMatchingId: boolean;
}

export const DSP_DEFAULTS: Omit<DspConfig, 'id' | 'endpoint'> = {
  ortbVersion: '2.6',
  mediaTypes: ['banner', 'video', 'audio', 'native'],
  currencies: ['USD'],
  gzip: false,
  bidAdjustment: 1,
  tmaxDeductionMs: 0,
  qpsCap: null,
  maxAdmLength: 512 * 1024,
  requireCreativeId: false,
  requireMatchingId: false,
};

/** An HTTP request as plain data; the exchange sends it. */
export interface HttpRequestData {
  method: 'POST';
  uri: string;
  headers: Record<string, string>;
  /** The JSON text. Bodies that are equal are the same string (see BuildContext.bodies). */
  body: string;
  /** The exchange gzips `body` before sending. */
  gzip: boolean;
  impIds: string[];
}

export interface HttpResponseData {
  status: number;
  /** The decoded (gunzipped) body text; '' when none. */
  body: string;
}

export interface BuildContext {
  /** The tmax before this bidder's deduction (the DSP budget of this request). */
  tmaxMs: number;
  /**
   * Per-auction memo of serialised bodies, shared by all bidders of one request: bidders whose
   * outbound request is identical (same version, media types, currencies, tmax) reuse one
   * string, so a 50-DSP fan-out serialises a handful of bodies, not 50 (issue 4 benchmark).
   */
  bodies: Map<string, string>;
}

export type BuildResult =
  | { kind: 'requests'; requests: HttpRequestData[]; sent: BidRequest }
  | { kind: 'skip'; status: SeatNonBidStatus; why: string };

/** A bid as the bidder reports it: the parsed bid plus the bidder's price adjustment. */
export interface BidderBid extends ParsedBid {
  bidAdjustment: number;
}

export interface BidderError {
  kind: ResponseError;
  message: string;
}

export interface ParseResult {
  bids: BidderBid[];
  rejected: RejectedBid[];
  errors: BidderError[];
  /** The DSP's `nbr` when it answered no-bid with a reason (RULES.md rule 35: log it). */
  nbr: number | null;
  warnings: string[];
}

export interface Bidder {
  readonly config: DspConfig;
  buildRequests(request: BidRequest, ctx: BuildContext): BuildResult;
  parseBids(sent: BidRequest, req: HttpRequestData, res: HttpResponseData): ParseResult;
}
