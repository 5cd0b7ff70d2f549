/**
 * RTB demand in `POST /v1/decisions` (issue 4 item 4: "the same pipeline, with RTB demand
 * enabled per placement"): the `ExternalDemand` dependency of DecisionService
 * (src/exchange/decision.ts).
 *
 *   placement resolved → start(): our AdRequest as an OpenRTB BidRequest, privacy, schain,
 *     fan-out to the DSPs under the decision's DSP budget (in flight during candidates and
 *     predict)
 *   → bids(): waits for the fan-out (which ends by its deadline whatever the DSPs do), screens
 *     each bid like the OpenRTB endpoint does (currency, bid adjustment, business checks), and
 *     hands the rest to the decision's auction as CPM bids
 *   → settle(): after the one auction, `lurl` with `${AUCTION_LOSS}` for every DSP bid that
 *     lost or was rejected; for a DSP winner, `nurl` fired now (we are the final seller: the win
 *     is the impression's sale) and a Fill with its `adm` (macros substituted); its `burl` rides
 *     in the signed impression token and is fired when the impression event arrives
 *     (src/exchange/rtb/billing.ts). With an event log, `win` / `loss` events at the same
 *     moments (`emit`), and the impression token carries the request's hashed profile key
 *     (`pu`) like our own ads', so a DSP ad's impressions count in per-user engagement.
 *
 * Implementation notes
 * - Only placements with `rtb_enabled` take DSP demand; without DSPs there is no assembly.
 * - The request: one imp (`id` "1", `tagid` = placement id) sized by the placement, the
 *   placement floor as `bidfloor` (USD), site or app, device type / OS / UA, the IP truncated,
 *   the country as ISO alpha-3. Our ad request carries no consent signals (no TCF, GPP or
 *   us_privacy fields), so no user id or device id is sent to DSPs from this path at all;
 *   `regs` is not set.
 * - A bid without `adm` is rejected (`missing_markup`): markup that must be fetched through
 *   `nurl` cannot be rendered by this API.
 * - The DSP wait is min(`budgetMs`, what is left of the decision's own deadline − `DEADLINE_SAFETY_MS`)
 *   from the start of the fan-out (`budgetMs` is the seed's 30 ms RTB budget by default; the
 *   decision deadline is ADSTACK_DECISION_BUDGET_MS, src/exchange/resilient/deadline.ts). The
 *   margin leaves the auction, render and reply their time, and covers the overrun grace of
 *   `bids()`, so the decision never waits for DSPs past its deadline. With no time left the
 *   fan-out still runs with a deadline of now: every DSP is skipped as `insufficient_time` (a
 *   seat-non-bid reason, counted in the per-bidder metrics) and no call goes out. The decision
 *   waits for DSPs only if our own stages finish earlier.
 */
import { randomUUID } from 'node:crypto';
import type { AdRequest } from '../../core/domain/ad-request.js';
import type { DeviceType, Placement } from '../../core/domain/entities.js';
import type { AuctionBid, AuctionResult, ExchangeRates } from '../../core/auction/index.js';
import { BidRejection, type BidRejectionReason } from '../../core/openrtb/codes.js';
import { substituteMacros } from '../../core/openrtb/macros.js';
import { microsToCpm } from '../../core/openrtb/price.js';
import type { BidRequest, Imp } from '../../core/openrtb/types.js';
import type { LossReason } from '../../core/reasons.js';
import { newEvent, type AnyEvent } from '../../ports/event-log.js';
import type { ExternalDemand, ExternalDemandCall, Fill } from '../decision.js';
import type { DecisionDeadline } from '../resilient/deadline.js';
import type { TrackingSigner } from '../tracking.js';
import {
  clearingInBidCurrency,
  dspWinMacros,
  lossEvent,
  lossNoticeUrl,
  screenDspBid,
  type FanOut,
} from './auction.js';
import type { FanOutBid, FanOutResult, FanOutRunOptions } from './fan-out.js';
import { ALPHA3 } from './internal-demand.js';
import type { NoticeKind } from './notices.js';
import { appendSchainNode, applyPrivacy, decidePrivacy, truncateIp } from './privacy.js';

export interface DecisionDemandConfig {
  /** The DSP budget of one decision, ms from the start of the fan-out. */
  budgetMs: number;
  rates: ExchangeRates;
  schainAsi: string;
  publicUrl: string;
  trackingTtlMs: number;
  enforceSecure?: boolean;
}

export const DEFAULT_DECISION_BUDGET_MS = 30;
/** How long past its deadline a fan-out may run before the decision stops waiting for it. */
const OVERRUN_GRACE_MS = 5;
/**
 * Kept free at the end of the decision's deadline when the DSP wait is capped by it: covers the
 * overrun grace (so the wait never passes the deadline) and the auction + render after it.
 */
export const DEADLINE_SAFETY_MS = OVERRUN_GRACE_MS;

/** What one decision's DSP demand did, for metrics (assemble.ts). */
export interface DecisionDemandReport {
  fan: FanOutResult | null;
  rejected: { bidder: string; reason: BidRejectionReason }[];
  win: { bidder: string; seat: string; priceMicros: number } | null;
}

export interface DecisionDemandDeps {
  fanOut: FanOut;
  notices: { fire(kind: NoticeKind, url: string): void } | null;
  signer: TrackingSigner;
  /** Monotonic ms (the fan-out deadline). */
  monoMs: () => number;
  /** Wall-clock ms (token expiry, AUCTION_IMP_TS). */
  wallMs: () => number;
  config: DecisionDemandConfig;
  newRequestId?: () => string;
  onReport?: (r: DecisionDemandReport) => void;
  /**
   * `win` and `loss` events (issue 7) at the moments the `nurl` / `lurl` notices fire: handed
   * to the bounded publisher, never awaited (a full publisher refuses and counts).
   */
  emit?: (event: AnyEvent) => void;
}

const DEVICE_TYPE: Readonly<Record<DeviceType, number>> = {
  mobile: 4,
  tablet: 5,
  desktop: 2,
  ctv: 3,
  other: 6,
};

const ALPHA2_TO_3: ReadonlyMap<string, string> = new Map(
  Object.entries(ALPHA3).map(([a3, a2]) => [a2, a3]),
);

/** A native request asking for a title and a main image (Native 1.2). */
const NATIVE_REQUEST = JSON.stringify({
  ver: '1.2',
  assets: [
    { id: 1, required: 1, title: { len: 90 } },
    { id: 2, required: 1, img: { type: 3, wmin: 100, hmin: 100 } },
  ],
});

/** Our ad request for `placement` as the OpenRTB BidRequest sent to DSPs (see the notes). */
export function toBidRequest(
  req: AdRequest,
  placement: Placement,
  id: string,
  tmaxMs: number,
): BidRequest {
  const imp: Imp = { id: '1', tagid: placement.id };
  const sized = placement.w !== null && placement.h !== null;
  if (placement.format === 'banner') {
    imp.banner = sized
      ? { w: placement.w!, h: placement.h!, format: [{ w: placement.w!, h: placement.h! }] }
      : {};
  } else if (placement.format === 'video') {
    imp.video = {
      mimes: ['video/mp4'],
      protocols: [2, 3, 5, 6],
      ...(sized ? { w: placement.w!, h: placement.h! } : {}),
    };
  } else {
    imp.native = { request: NATIVE_REQUEST, ver: '1.2' };
  }
  if (placement.floor_cpm_micros > 0) {
    imp.bidfloor = microsToCpm(placement.floor_cpm_micros);
    imp.bidfloorcur = 'USD';
  }
  if (req.site?.page?.startsWith('https:') === true) imp.secure = 1;
  const out: BidRequest = { id, imp: [imp], at: 2, tmax: tmaxMs, cur: ['USD'] };
  const keywords = req.keywords !== undefined && req.keywords.length > 0 ? req.keywords : null;
  const publisher = { id: placement.publisher };
  if (req.app !== undefined && req.site === undefined) {
    out.app = { publisher };
    if (req.app.bundle !== undefined) out.app.bundle = req.app.bundle;
    if (req.app.name !== undefined) out.app.name = req.app.name;
    if (keywords !== null) out.app.keywords = keywords.join(',');
  } else {
    out.site = { publisher };
    if (req.site?.domain !== undefined) out.site.domain = req.site.domain;
    if (req.site?.page !== undefined) out.site.page = req.site.page;
    if (keywords !== null) out.site.keywords = keywords.join(',');
  }
  const d = req.device;
  const country = req.geo?.country?.toUpperCase();
  if (d !== undefined || country !== undefined) {
    out.device = {};
    if (d?.ua !== undefined) out.device.ua = d.ua;
    if (d?.ip !== undefined) {
      if (d.ip.includes(':')) out.device.ipv6 = truncateIp(d.ip);
      else out.device.ip = truncateIp(d.ip);
    }
    if (d?.type !== undefined) out.device.devicetype = DEVICE_TYPE[d.type];
    if (d?.os !== undefined) out.device.os = d.os;
    const a3 = country === undefined ? undefined : ALPHA2_TO_3.get(country);
    if (a3 !== undefined) out.device.geo = { country: a3 };
  }
  return out;
}

export class RtbDecisionDemand implements ExternalDemand {
  private readonly newRequestId: () => string;

  constructor(private readonly deps: DecisionDemandDeps) {
    this.newRequestId = deps.newRequestId ?? randomUUID;
  }

  /**
   * `deadline`: the decision's; the DSP wait is capped by what is left of it. `opts.maxDsps`:
   * the degradation ladder's "drop the RTB tail" (src/exchange/resilient/ladder.ts).
   */
  start(
    req: AdRequest,
    placement: Placement,
    deadline?: Pick<DecisionDeadline, 'remainingMs'>,
    opts?: FanOutRunOptions,
  ): ExternalDemandCall | null {
    if (placement.rtb_enabled !== true) return null;
    const { config, monoMs } = this.deps;
    const waitMs = dspWaitMs(config.budgetMs, deadline?.remainingMs());
    const deadlineMs = monoMs() + waitMs;
    const request = toBidRequest(
      req,
      placement,
      this.newRequestId(),
      Math.max(1, Math.floor(waitMs)),
    );
    const outbound = appendSchainNode(applyPrivacy(request, decidePrivacy(request)), {
      asi: config.schainAsi,
    });
    // The fan-out never rejects and ends by its deadline by design; should it fail or overrun
    // (a replaced fan-out), the decision goes on without DSPs at the deadline plus a grace.
    const pending = this.deps.fanOut.run(outbound, deadlineMs, opts).catch(() => null);
    return new DecisionDemandCall(this.deps, request, placement, pending, deadlineMs);
  }
}

/**
 * The DSP wait of one decision: the DSP budget, capped by the decision deadline's remaining time
 * less `DEADLINE_SAFETY_MS` (0 when nothing is left; no deadline → the DSP budget).
 */
export function dspWaitMs(budgetMs: number, decisionRemainingMs?: number): number {
  if (decisionRemainingMs === undefined) return budgetMs;
  return Math.max(0, Math.min(budgetMs, decisionRemainingMs - DEADLINE_SAFETY_MS));
}

class DecisionDemandCall implements ExternalDemandCall {
  private readonly entries = new Map<string, FanOutBid>();
  private fan: FanOutResult | null = null;
  private reported = false;
  private readonly rejected: { bidder: string; reason: BidRejectionReason }[] = [];

  constructor(
    private readonly deps: DecisionDemandDeps,
    private readonly request: BidRequest,
    private readonly placement: Placement,
    private readonly pending: Promise<FanOutResult | null>,
    private readonly deadlineMs: number,
  ) {}

  async bids(): Promise<AuctionBid[]> {
    let timer: NodeJS.Timeout | undefined;
    const cutOff = new Promise<null>((resolve) => {
      const wait = Math.max(0, this.deadlineMs - this.deps.monoMs()) + OVERRUN_GRACE_MS;
      timer = setTimeout(() => resolve(null), wait);
    });
    this.fan = await Promise.race([this.pending, cutOff]);
    clearTimeout(timer);
    const out: AuctionBid[] = [];
    (this.fan?.bids ?? []).forEach((b, i) => {
      const screened =
        b.bid.adm === undefined || b.bid.adm === ''
          ? { kind: 'rejected' as const, reason: 'missing_markup' as const }
          : screenDspBid(this.request, b, this.deps.config);
      if (screened.kind === 'rejected') {
        this.rejected.push({ bidder: b.bidder, reason: screened.reason });
        this.fireLoss(b, BidRejection[screened.reason].loss);
        return;
      }
      const id = `dsp:${i}:${b.bidder}`;
      this.entries.set(id, b);
      out.push({
        id,
        model: 'cpm',
        bid_micros: screened.cpmMicros,
        prediction: { ctr: 1, cvr: 1 },
      });
    });
    // No DSP bid left: settle has nothing of ours to do, so the metrics are reported now.
    if (out.length === 0) this.report(null);
    return out;
  }

  settle(outcome: AuctionResult, newId: () => string, profileKey?: string | null): Fill | null {
    for (const l of outcome.losers) {
      const b = this.entries.get(l.id);
      if (b !== undefined) this.fireLoss(b, l.reason);
    }
    const w = outcome.winners[0];
    const b = w === undefined ? undefined : this.entries.get(w.id);
    if (w === undefined || b === undefined) {
      this.report(null);
      return null;
    }
    const { config, signer, wallMs } = this.deps;
    const nowMs = wallMs();
    const values = dspWinMacros(
      this.request.id,
      b,
      clearingInBidCurrency(w.price_micros, b, config.rates),
      nowMs,
      outcome.losers.length > 0,
    );
    if (b.bid.nurl !== undefined)
      this.deps.notices?.fire('win', substituteMacros(b.bid.nurl, values));
    const burl = b.bid.burl === undefined ? undefined : substituteMacros(b.bid.burl, values);
    const decisionId = newId();
    const priceMicros = Math.round(w.price_micros);
    const imp = signer.sign({
      v: 1,
      k: 'imp',
      d: decisionId,
      a: `dsp:${b.seat}`,
      c: `dsp:${b.bidder}`,
      cr: b.bid.crid ?? b.bid.id,
      p: this.placement.id,
      m: 'cpm',
      pr: priceMicros,
      exp: nowMs + config.trackingTtlMs,
      ds: b.bidder,
      ...(burl !== undefined ? { bu: burl } : {}),
      ...(profileKey !== undefined && profileKey !== null ? { pu: profileKey } : {}),
    });
    this.deps.emit?.(
      newEvent('win', `win:${decisionId}`, nowMs, {
        decision_id: decisionId,
        auction_id: this.request.id,
        bidder: b.bidder,
        price_micros: priceMicros,
      }),
    );
    this.report({ bidder: b.bidder, seat: b.seat, priceMicros });
    return {
      decision_id: decisionId,
      placement_id: this.placement.id,
      advertiser_id: `dsp:${b.seat}`,
      campaign_id: b.bid.cid ?? `dsp:${b.bidder}`,
      creative_id: b.bid.crid ?? b.bid.id,
      format: this.placement.format,
      w: b.bid.w ?? this.placement.w,
      h: b.bid.h ?? this.placement.h,
      markup: substituteMacros(b.bid.adm ?? '', values),
      url: null,
      native: null,
      price: { model: 'cpm', price_micros: priceMicros, clearing_cpm_micros: priceMicros },
      tracking: {
        impression_url: `${config.publicUrl}/v1/events/impression?t=${imp}`,
        click_url: null,
      },
      dsp: { bidder: b.bidder, seat: b.seat, bid_id: b.bid.id, adomain: b.bid.adomain ?? [] },
    };
  }

  private fireLoss(b: FanOutBid, loss: LossReason): void {
    const url = lossNoticeUrl(this.request.id, b, loss);
    if (url !== null) this.deps.notices?.fire('loss', url);
    this.deps.emit?.(lossEvent(this.request.id, b, loss, this.deps.wallMs()));
  }

  private report(win: DecisionDemandReport['win']): void {
    if (this.reported) return;
    this.reported = true;
    this.deps.onReport?.({ fan: this.fan, rejected: this.rejected, win });
  }
}
