/**
 * One OpenRTB auction (issue 4 item 4): a validated BidRequest from supply → privacy and schain
 * → internal demand and the DSP fan-out in parallel under one deadline → business checks on
 * DSP bids → one auction per imp in eCPM space with internal and external bids together →
 * an OpenRTB BidResponse (or no bid), loss notices, seat-non-bids.
 *
 * Implementation notes
 * - Deadline: `tmax` (2.6 §3.2.1: it "supersedes any a-priori guidance"), capped at
 *   `maxTmaxMs`, `defaultTmaxMs` when absent or 0 (prebid-server does the same, RULES.md rule
 *   28), minus `responseMarginMs` kept for the auction, serialisation and the way back. The
 *   fan-out's last call ends at that deadline (fan-out.ts), so the answer leaves before tmax.
 * - The auction is the engine of src/core/auction (`runAuction`), one slot per imp:
 *   `at` = 1 → first price, otherwise second price plus `incrementMicros` (2.6 §4.4.1 illustrates
 *   +$0.01). DSP bids enter as CPM bids converted to the auction currency with their bidder's
 *   adjustment (`externalBidCpmMicros`); internal bids keep their model (cpm / cpc / cpa) and
 *   rank by eCPM. The reserve is the higher of the imp floor (converted; RULES.md rule 30) and,
 *   for internal bids' placement, its floor. A DSP bid with a `dealid` of the imp is in the
 *   deal tier with its deal floor (RULES.md rules 46, 54); everything else is open.
 * - Business checks before the auction (core/openrtb/bid-policy.ts): seats, block lists
 *   (bcat / badv / bapp / battr), deals, secure markup, floors. A rejected bid gets its loss
 *   reason on its `lurl` and its seat-non-bid status.
 * - The answer per imp is the winner at its clearing price in the response currency
 *   (`cur[0]` of the request, else USD), with the DSP's `adm` / `nurl` / `burl` macros
 *   substituted (2.6 §4.4: AUCTION_PRICE is the clearing price in the bid's currency, after
 *   undoing the bidder adjustment). `nurl` and `burl` pass upstream: our buyer-side notices fire
 *   when our own seller fires them, i.e. only if we win there too. `lurl` is removed and fired
 *   by us for every DSP bid that lost here, with `${AUCTION_LOSS}` (RULES.md rule 56).
 * - Internal winners answer with the creative's markup and our signed impression URL as `burl`
 *   (the billing event that records the spend in the ledger, src/exchange/events.ts).
 * - Budgets and frequency caps (issue 6) apply to internal demand as in a decision: the
 *   candidates are filtered by the frequency and budget steps (internal-demand.ts), and an
 *   internal winner reserves its charge (BudgetManager.reserve, keyed by the bid id, which is
 *   also the tracking token's decision id) before the response leaves. The lease ids go into
 *   the impression and click tokens (`bl`), so the impression event turns the reservation into
 *   spend against those leases, exactly as for a decision; a capped campaign's impression token
 *   carries the user's frequency key (`uk`, `fw`) so the impression is counted. A winner whose
 *   reservation fails is dropped (counted as `budget_exhausted` in `internalFiltered`) and the
 *   imp's auction is re-run without it: the next bid wins, or there is no bid. A capped
 *   campaign wins at most one imp of a request (its count is only known per request).
 * - Internal demand (its frequency read may be a Redis round trip) runs while the DSPs are
 *   called and is cut at the same deadline: if it is not done by then (or fails), our
 *   campaigns do not bid on this request (fail closed: never a bid without its budget and cap
 *   checks), and the outcome says `internalUnavailable`.
 */
import { randomUUID } from 'node:crypto';
import {
  clearingPriceInBidCurrencyMicros,
  ecpmMicros,
  externalBidCpmMicros,
  floorToAuctionMicros,
  runAuction,
  type AuctionBid,
  type AuctionLoser,
  type AuctionResult,
  type AuctionWinner,
  type ExchangeRates,
} from '../../core/auction/index.js';
import { screenBidPolicy } from '../../core/openrtb/bid-policy.js';
import { BidRejection, NoBidReason, type BidRejectionReason } from '../../core/openrtb/codes.js';
import { macroValues, substituteMacros, type MacroValues } from '../../core/openrtb/macros.js';
import { floorCpmMicros, microsToCpm } from '../../core/openrtb/price.js';
import type {
  Bid,
  BidRequest,
  BidResponse,
  Imp,
  SeatBid,
  SeatNonBid,
} from '../../core/openrtb/types.js';
import type { FilterReason, LossReason } from '../../core/reasons.js';
import { BudgetManager, type BudgetReservation } from '../budget.js';
import type { TrackingSigner } from '../tracking.js';
import type { FanOutBid, FanOutResult, FanOutRunOptions, SeatNonBidRecord } from './fan-out.js';
import type { InternalCandidate, InternalDemand, InternalDemandResult } from './internal-demand.js';
import { newEvent, type AnyEvent, type EventEnvelope } from '../../ports/event-log.js';
import type { NoticeSender } from './notices.js';
import { appendSchainNode, applyPrivacy, decidePrivacy, type PrivacyDecision } from './privacy.js';

export interface FanOut {
  run(request: BidRequest, deadlineMs: number, opts?: FanOutRunOptions): Promise<FanOutResult>;
}

export interface RtbAuctionConfig {
  defaultTmaxMs: number;
  maxTmaxMs: number;
  responseMarginMs: number;
  incrementMicros: number;
  rates: ExchangeRates;
  /** Our domain, the `asi` of our schain node. */
  schainAsi: string;
  /** Seat name of our own campaigns in responses. */
  internalSeat: string;
  publicUrl: string;
  trackingTtlMs: number;
  enforceSecure?: boolean;
  maxBannerSize?: { w: number; h: number };
}

export const DEFAULT_RTB_CONFIG: Omit<RtbAuctionConfig, 'publicUrl' | 'trackingTtlMs'> = {
  defaultTmaxMs: 100,
  maxTmaxMs: 1000,
  responseMarginMs: 10,
  incrementMicros: 10_000,
  rates: { auction_currency: 'USD', rates: {} },
  schainAsi: 'adstack.example',
  internalSeat: 'adstack',
};

export interface RtbAuctionDeps {
  fanOut: FanOut | null;
  internal: InternalDemand | null;
  signer: TrackingSigner;
  notices: NoticeSender | null;
  /** Monotonic ms (deadlines). */
  monoMs: () => number;
  /** Wall-clock ms since the epoch (flights, token expiry, AUCTION_IMP_TS). */
  wallMs: () => number;
  config: RtbAuctionConfig;
  newId?: () => string;
  /** `loss` events at the `lurl` moment (issue 7): fire-and-forget into the bounded publisher. */
  emit?: (event: AnyEvent) => void;
}

export interface RtbWin {
  impid: string;
  source: 'internal' | 'dsp';
  seat: string;
  priceMicros: number; // clearing CPM in the auction currency
}

export interface RtbAuctionOutcome {
  /** null: no bid (HTTP 204). */
  response: BidResponse | null;
  seatnonbid: SeatNonBid[];
  wins: RtbWin[];
  fanOut: FanOutResult | null;
  privacy: PrivacyDecision;
  /** Why there is no bid, when there is none. */
  nbr: NoBidReason | null;
  /** DSP bids dropped here by the business checks (the fan-out reports parse rejections). */
  policyRejected: { bidder: string; reason: BidRejectionReason }[];
  /**
   * Our campaigns left out, by reason, summed over the imps: targeting, creative fit,
   * frequency caps, budgets and pacing, and winners whose budget reservation failed
   * (`budget_exhausted`).
   */
  internalFiltered: Partial<Record<FilterReason, number>>;
  /** True when internal demand failed or was not done by the deadline (our campaigns did not bid). */
  internalUnavailable: boolean;
}

type Entry =
  { kind: 'internal'; c: InternalCandidate } | { kind: 'dsp'; b: FanOutBid; cpmMicros: number };

/** Did the request ask for seat-non-bid reporting? prebid's flag, or ours. */
function wantsSeatNonBid(req: BidRequest): boolean {
  const ext = req.ext;
  const prebid = ext?.prebid as Record<string, unknown> | undefined;
  return prebid?.returnallbidstatus === true || ext?.seatnonbid === 1 || ext?.seatnonbid === true;
}

function groupNonBids(records: SeatNonBidRecord[]): SeatNonBid[] {
  const bySeat = new Map<string, SeatNonBid>();
  for (const r of records) {
    let s = bySeat.get(r.seat);
    if (s === undefined) {
      s = { seat: r.seat, nonbid: [] };
      bySeat.set(r.seat, s);
    }
    for (const impid of r.impids) s.nonbid.push({ impid, statuscode: r.status });
  }
  return [...bySeat.values()];
}

export class RtbAuctionService {
  private readonly newId: () => string;

  constructor(private readonly deps: RtbAuctionDeps) {
    this.newId = deps.newId ?? randomUUID;
  }

  /** The deadline of a request received at `receivedAtMs` (monotonic). */
  deadline(req: BidRequest, receivedAtMs: number): number {
    const c = this.deps.config;
    const tmax =
      req.tmax !== undefined && req.tmax > 0 ? Math.min(req.tmax, c.maxTmaxMs) : c.defaultTmaxMs;
    return receivedAtMs + tmax - c.responseMarginMs;
  }

  async auction(req: BidRequest, receivedAtMs: number): Promise<RtbAuctionOutcome> {
    const { config, fanOut, internal } = this.deps;
    const deadlineMs = this.deadline(req, receivedAtMs);
    const privacy = decidePrivacy(req);
    const outbound = appendSchainNode(applyPrivacy(req, privacy), { asi: config.schainAsi });
    // External first (it waits on the network), internal while it is in flight.
    const external =
      fanOut !== null && deadlineMs > this.deps.monoMs() ? fanOut.run(outbound, deadlineMs) : null;
    const nowWall = this.deps.wallMs();
    const internalFiltered: Partial<Record<FilterReason, number>> = {};
    const internalByImp = new Map<string, InternalCandidate[]>();
    let internalUnavailable = false;
    if (internal !== null) {
      const found = await untilDeadline(
        Promise.all(
          req.imp.map((imp) =>
            internal.candidates(req, imp, nowWall, privacy.personalisedTargeting),
          ),
        ).catch(() => null),
        deadlineMs - this.deps.monoMs(),
      );
      if (found === null) internalUnavailable = true;
      req.imp.forEach((imp, i) => {
        const r: InternalDemandResult | undefined = found?.[i];
        if (r === undefined) return;
        internalByImp.set(imp.id, r.candidates);
        addCounts(internalFiltered, r.filtered);
      });
    }
    const fan = external === null ? null : await external;

    const nonBids: SeatNonBidRecord[] = fan === null ? [] : [...fan.nonBids];
    for (const r of fan?.rejected ?? []) {
      nonBids.push({
        seat: r.seat,
        impids: r.impid === null ? [] : [r.impid],
        status: BidRejection[r.reason].status,
        reason: r.reason,
      });
    }

    // Business checks and currency for DSP bids.
    const dspByImp = new Map<string, { b: FanOutBid; cpmMicros: number }[]>();
    const policyRejected: { bidder: string; reason: BidRejectionReason }[] = [];
    for (const b of fan?.bids ?? []) {
      const screened = screenDspBid(req, b, config);
      if (screened.kind === 'rejected') {
        const reason = screened.reason;
        nonBids.push({
          seat: b.seat,
          impids: [b.imp.id],
          status: BidRejection[reason].status,
          reason,
        });
        policyRejected.push({ bidder: b.bidder, reason });
        this.fireLoss(req, b, BidRejection[reason].loss);
        continue;
      }
      const list = dspByImp.get(b.imp.id) ?? [];
      list.push({ b, cpmMicros: screened.cpmMicros });
      dspByImp.set(b.imp.id, list);
    }

    const seatbids = new Map<string, Bid[]>();
    const wins: RtbWin[] = [];
    const respCur = (req.cur?.[0] ?? 'USD').toUpperCase();
    // Capped campaigns that already won an imp of this request (one win each, see the notes).
    const cappedWon = new Set<string>();
    for (const imp of req.imp) {
      const won = this.auctionImp(
        req,
        imp,
        (internalByImp.get(imp.id) ?? []).filter((c) => !cappedWon.has(c.campaign.id)),
        dspByImp.get(imp.id) ?? [],
        respCur,
        internalFiltered,
      );
      if (won === null) continue;
      if (won.capped !== null) cappedWon.add(won.capped);
      const list = seatbids.get(won.seat) ?? [];
      list.push(won.bid);
      seatbids.set(won.seat, list);
      wins.push(won.win);
    }

    const seatnonbid = groupNonBids(nonBids);
    if (seatbids.size === 0) {
      const nbr = fan === null && internal === null ? NoBidReason.TechnicalError : null;
      const response = wantsSeatNonBid(req)
        ? { id: req.id, seatbid: [], ext: { seatnonbid } }
        : null;
      return {
        response,
        seatnonbid,
        wins,
        fanOut: fan,
        privacy,
        nbr,
        policyRejected,
        internalFiltered,
        internalUnavailable,
      };
    }
    const seatbid: SeatBid[] = [...seatbids.entries()].map(([seat, bid]) => ({ seat, bid }));
    const response: BidResponse = { id: req.id, bidid: this.newId(), seatbid, cur: respCur };
    if (wantsSeatNonBid(req)) response.ext = { seatnonbid };
    return {
      response,
      seatnonbid,
      wins,
      fanOut: fan,
      privacy,
      nbr: null,
      policyRejected,
      internalFiltered,
      internalUnavailable,
    };
  }

  private auctionImp(
    req: BidRequest,
    imp: Imp,
    internal: InternalCandidate[],
    dsp: { b: FanOutBid; cpmMicros: number }[],
    respCur: string,
    internalFiltered: Partial<Record<FilterReason, number>>,
  ): { seat: string; bid: Bid; win: RtbWin; capped: string | null } | null {
    const { config } = this.deps;
    const rates = config.rates;
    const respRate = respCur === rates.auction_currency ? 1 : rates.rates[respCur];
    if (respRate === undefined || !(respRate > 0)) return null; // we cannot price in that currency
    const impFloor =
      imp.bidfloor !== undefined && imp.bidfloor > 0
        ? floorToAuctionMicros(floorCpmMicros(imp.bidfloor), imp.bidfloorcur ?? 'USD', rates)
        : 0;
    if (impFloor === null) return null; // a floor in a currency we cannot convert: no safe bid
    const entries = new Map<string, Entry>();
    const bids: AuctionBid[] = [];
    // A private auction is for the deals' buyers only (2.6 §3.2.11); our campaigns hold no deal.
    const privateAuction = imp.pmp?.private_auction === 1;
    for (const c of privateAuction ? [] : internal) {
      // The placement floor is our own inventory rule for our own campaigns (the imp floor is
      // the seller's, common to everyone): an internal bid under it does not take part.
      if (
        ecpmMicros(c.bid.model, c.bid.bid_micros, c.bid.prediction) < c.placement.floor_cpm_micros
      )
        continue;
      entries.set(c.bid.id, { kind: 'internal', c });
      bids.push(c.bid);
    }
    dsp.forEach(({ b, cpmMicros }, i) => {
      const id = `dsp:${i}:${b.bidder}`;
      entries.set(id, { kind: 'dsp', b, cpmMicros });
      const deal =
        b.bid.dealid === undefined ? undefined : imp.pmp?.deals?.find((d) => d.id === b.bid.dealid);
      const dealFloor =
        deal?.bidfloor !== undefined && deal.bidfloor > 0
          ? floorToAuctionMicros(floorCpmMicros(deal.bidfloor), deal.bidfloorcur ?? 'USD', rates)
          : null;
      bids.push({
        id,
        model: 'cpm',
        bid_micros: cpmMicros,
        prediction: { ctr: 1, cvr: 1 },
        ...(deal !== undefined
          ? { tier: 'deal' as const, deal_floor_cpm_micros: dealFloor ?? impFloor }
          : {}),
      });
    });
    if (bids.length === 0) return null;
    const auctionOf = (input: AuctionBid[]): AuctionResult =>
      runAuction(input, {
        mechanism: req.at === 1 ? 'first_price' : 'second_price',
        slot_factors: [1],
        reserve_cpm_micros: impFloor,
        increment_micros: req.at === 1 ? 0 : config.incrementMicros,
      });
    let result = auctionOf(bids);
    // Budget reservation: an internal winner reserves its charge before the response leaves;
    // one whose lease cannot pay is dropped (budget_exhausted) and the auction re-run without it.
    const budgets = this.deps.internal?.budgets ?? null;
    let reserved: { bidId: string; reservation: BudgetReservation | null } | null = null;
    for (let top = result.winners[0]; top !== undefined; top = result.winners[0]) {
      const te = entries.get(top.id);
      if (te?.kind !== 'internal') break;
      const bidId = this.newId();
      if (budgets === null) {
        reserved = { bidId, reservation: null };
        break;
      }
      const c = te.c;
      const reservation = budgets.reserve(
        c.campaign,
        bidId,
        BudgetManager.reservationMicros(
          c.bid.model,
          internalPrice(c, top).unitPriceMicros,
          c.bid.prediction,
        ),
        this.deps.wallMs() + config.trackingTtlMs,
      );
      if (reservation !== null) {
        reserved = { bidId, reservation };
        break;
      }
      internalFiltered.budget_exhausted = (internalFiltered.budget_exhausted ?? 0) + 1;
      const dropped = top.id;
      entries.delete(dropped);
      const rest = bids.filter((b) => b.id !== dropped);
      bids.length = 0;
      bids.push(...rest);
      if (bids.length === 0) return null;
      result = auctionOf(bids);
    }
    this.fireLosses(req, result.losers, entries);
    const w = result.winners[0];
    const e = w === undefined ? undefined : entries.get(w.id);
    if (w === undefined || e === undefined) return null;

    if (e.kind === 'dsp') {
      const b = e.b;
      // ${AUCTION_PRICE}: the clearing price in the bid's currency, adjustment undone (2.6 §4.4).
      const inBidCur = clearingInBidCurrency(w.price_micros, b, rates);
      const values = dspWinMacros(
        req.id,
        b,
        inBidCur,
        this.deps.wallMs(),
        result.losers.length > 0,
      );
      const { lurl: _lurl, ...rest } = b.bid;
      const bid: Bid = { ...rest, price: microsToCpm(Math.round(w.price_micros / respRate)) };
      if (rest.adm !== undefined) bid.adm = substituteMacros(rest.adm, values);
      if (rest.nurl !== undefined) bid.nurl = substituteMacros(rest.nurl, values);
      if (rest.burl !== undefined) bid.burl = substituteMacros(rest.burl, values);
      bid.mtype ??= MTYPE_OF[b.mediaType];
      return {
        seat: b.seat,
        bid,
        win: { impid: imp.id, source: 'dsp', seat: b.seat, priceMicros: w.price_micros },
        capped: null,
      };
    }

    // Internal winner (its charge reserved above): we bid upstream at our clearing CPM.
    const c = e.c;
    if (reserved === null) return null; // unreachable: the loop above stops on this winner
    const { clearingCpmMicros, unitPriceMicros } = internalPrice(c, w);
    return {
      seat: config.internalSeat,
      bid: this.renderInternal(
        imp,
        c,
        unitPriceMicros,
        microsToCpm(Math.round(clearingCpmMicros / respRate)),
        reserved.bidId,
        reserved.reservation,
      ),
      win: {
        impid: imp.id,
        source: 'internal',
        seat: config.internalSeat,
        priceMicros: clearingCpmMicros,
      },
      capped: c.campaign.frequency_cap !== null && c.userKey !== null ? c.campaign.id : null,
    };
  }

  /**
   * Our campaign's creative as an OpenRTB bid, billed through our signed impression URL. The
   * tokens carry the budget reservation's leases (`bl`) and, for a capped campaign with a known
   * user, the frequency key (`uk`, `fw`), and with a user id the hashed profile key (`pu`, for
   * per-user engagement), as a decision's tokens do (decision.ts `render`).
   */
  private renderInternal(
    imp: Imp,
    c: InternalCandidate,
    unitPriceMicros: number,
    priceCpm: number,
    decisionId: string,
    reservation: BudgetReservation | null,
  ): Bid {
    const { signer, config } = this.deps;
    const claims = {
      v: 1 as const,
      d: decisionId,
      a: c.campaign.advertiser_id,
      c: c.campaign.id,
      cr: c.creative.id,
      p: c.placement.id,
      m: c.campaign.pricing_model,
      pr: unitPriceMicros,
      exp: this.deps.wallMs() + config.trackingTtlMs,
      ...(reservation !== null && reservation.leases.length > 0 ? { bl: reservation.leases } : {}),
      ...(c.profileKey !== null ? { pu: c.profileKey } : {}),
    };
    const cap = c.campaign.frequency_cap;
    const freq =
      c.userKey !== null && cap !== null ? { uk: c.userKey, fw: cap.period_seconds * 1000 } : {};
    const impUrl = `${config.publicUrl}/v1/events/impression?t=${signer.sign({ ...claims, k: 'imp', ...freq })}`;
    const clkUrl = `${config.publicUrl}/v1/events/click?t=${signer.sign({ ...claims, k: 'clk', u: c.creative.landing_url })}`;
    const cr = c.creative;
    let adm: string;
    let mtype: number;
    if (cr.format === 'video') {
      mtype = 2;
      adm =
        cr.markup ??
        `<VAST version="4.0"><Ad><Wrapper><VASTAdTagURI><![CDATA[${cr.url ?? ''}]]></VASTAdTagURI></Wrapper></Ad></VAST>`;
    } else if (cr.format === 'native') {
      mtype = 4;
      adm = JSON.stringify({ ver: '1.2', link: { url: clkUrl }, assets: [], native: cr.native });
    } else {
      mtype = 1;
      adm =
        cr.markup ??
        `<a href="${clkUrl}" target="_blank"><img src="${cr.url ?? ''}" width="${cr.w ?? ''}" height="${cr.h ?? ''}"></a>`;
    }
    const bid: Bid = {
      id: decisionId,
      impid: imp.id,
      price: priceCpm,
      adm,
      burl: impUrl,
      crid: cr.id,
      cid: c.campaign.id,
      mtype,
    };
    if (cr.w !== null) bid.w = cr.w;
    if (cr.h !== null) bid.h = cr.h;
    return bid;
  }

  private fireLosses(
    req: BidRequest,
    losers: readonly AuctionLoser[],
    entries: Map<string, Entry>,
  ): void {
    for (const l of losers) {
      const e = entries.get(l.id);
      if (e?.kind === 'dsp') this.fireLoss(req, e.b, l.reason);
    }
  }

  /** The DSP's loss notice with `${AUCTION_LOSS}`; the price is blanked (RULES.md rule 59). */
  private fireLoss(req: BidRequest, b: FanOutBid, loss: LossReason): void {
    const url = lossNoticeUrl(req.id, b, loss);
    if (this.deps.notices !== null && url !== null) this.deps.notices.fire('loss', url);
    this.deps.emit?.(lossEvent(req.id, b, loss, this.deps.wallMs()));
  }
}

/** What an internal winner pays: we bid upstream at our clearing CPM, at least the placement floor. */
function internalPrice(
  c: InternalCandidate,
  w: AuctionWinner,
): { clearingCpmMicros: number; unitPriceMicros: number } {
  const clearingCpmMicros = Math.min(
    Math.round(w.ecpm_micros),
    Math.max(
      c.bid.model === 'cpm' ? w.price_micros : Math.round(w.clearing_ecpm_micros),
      c.placement.floor_cpm_micros,
    ),
  );
  return {
    clearingCpmMicros,
    unitPriceMicros: c.bid.model === 'cpm' ? clearingCpmMicros : w.price_micros,
  };
}

function addCounts(
  into: Partial<Record<FilterReason, number>>,
  from: Partial<Record<FilterReason, number>>,
): void {
  for (const [k, n] of Object.entries(from) as [FilterReason, number][]) {
    into[k] = (into[k] ?? 0) + n;
  }
}

/** `work`'s value, or null when it is not done within `ms` (its late result is dropped). */
async function untilDeadline<T>(work: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, ms));
    timer.unref?.();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A DSP bid through currency, adjustment and the business checks (core/openrtb/bid-policy.ts),
 * against the request as received (`req`): its CPM in the auction currency, or why it is out.
 * Shared by this service and the decision API's RTB demand (decision-demand.ts).
 */
export function screenDspBid(
  req: BidRequest,
  b: FanOutBid,
  config: Pick<RtbAuctionConfig, 'rates' | 'enforceSecure' | 'maxBannerSize'>,
): { kind: 'ok'; cpmMicros: number } | { kind: 'rejected'; reason: BidRejectionReason } {
  const cpm = externalBidCpmMicros(b.priceMicros, b.currency, config.rates, b.bidAdjustment);
  if (cpm === null) return { kind: 'rejected', reason: 'currency_not_accepted' };
  const inboundImp = req.imp.find((i) => i.id === b.imp.id) ?? b.imp;
  const rejection = screenBidPolicy({ ...b, imp: inboundImp }, cpm, {
    request: req,
    toAuctionMicros: (m, cur) => floorToAuctionMicros(m, cur, config.rates),
    enforceSecure: config.enforceSecure,
    maxBannerSize: config.maxBannerSize,
  });
  return rejection === null
    ? { kind: 'ok', cpmMicros: cpm }
    : { kind: 'rejected', reason: rejection.reason };
}

/** ${AUCTION_PRICE}: the clearing price in the bid's currency, adjustment undone (2.6 §4.4). */
export function clearingInBidCurrency(
  clearingMicros: number,
  b: FanOutBid,
  rates: ExchangeRates,
): number {
  return (
    clearingPriceInBidCurrencyMicros(
      clearingMicros,
      b.priceMicros,
      b.currency,
      rates,
      b.bidAdjustment,
    ) ?? b.priceMicros
  );
}

/** The macro values of a winning DSP bid's `adm`, `nurl` and `burl`. */
export function dspWinMacros(
  auctionId: string,
  b: FanOutBid,
  clearingInBidCurMicros: number,
  impTsMs: number,
  hadLosers: boolean,
): MacroValues {
  return macroValues({
    auctionId,
    impId: b.imp.id,
    seat: b.seat,
    ...(b.bid.adid !== undefined ? { adId: b.bid.adid } : {}),
    clearingPriceMicros: clearingInBidCurMicros,
    bidPriceMicros: b.priceMicros,
    currency: b.currency,
    impTsMs,
    ...(hadLosers ? {} : { minToWinMicros: clearingInBidCurMicros }),
  });
}

/** The `loss` event of a DSP bid (src/ports/event-log.ts), whether or not it has a `lurl`. */
export function lossEvent(
  auctionId: string,
  b: FanOutBid,
  loss: LossReason,
  atMs: number,
): EventEnvelope<'loss'> {
  return newEvent('loss', `loss:${auctionId}:${b.bidder}:${b.bid.id}`, atMs, {
    auction_id: auctionId,
    bidder: b.bidder,
    bid_id: b.bid.id,
    loss_reason: loss,
  });
}

/** A losing DSP bid's `lurl` with `${AUCTION_LOSS}` substituted, or null when it has none. */
export function lossNoticeUrl(auctionId: string, b: FanOutBid, loss: LossReason): string | null {
  const lurl = b.bid.lurl;
  if (lurl === undefined) return null;
  const values = macroValues({
    auctionId,
    impId: b.imp.id,
    seat: b.seat,
    ...(b.bid.adid !== undefined ? { adId: b.bid.adid } : {}),
    currency: b.currency,
    lossReason: loss,
  });
  return substituteMacros(lurl, values);
}

const MTYPE_OF = { banner: 1, video: 2, audio: 3, native: 4 } as const;
