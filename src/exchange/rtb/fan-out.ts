/**
 * The DSP fan-out of one request: every configured bidder is either called, with its own
 * timeout inside the request's one deadline, or skipped with a seat-non-bid status; replies are
 * parsed as they arrive; the result is bids, rejected bids and non-bids, all as data.
 *
 * Implementation notes (issue 4 item 2; seed Part 3 "RTB Timeout Handling")
 * - One deadline (`deadlineMs`, on the `nowMs` clock) for the whole request. Each DSP gets
 *   `min(p95 + margin, remaining − safety)` (core/resilience/deadline.ts); its call resolves at
 *   that timeout at the latest, so the fan-out is over before the deadline whatever the DSPs
 *   do (hang, trickle, 500, garbage).
 * - Skips, in this order, each with a seat-non-bid status (RULES.md §8):
 *     insufficient time (budget spent, or the DSP's median
 *     does not fit: then still called with probability
 *     `exploreRate`, so its estimate can recover)        → 101 timeout
 *     bidder has nothing to send (media types)          → the bidder's status (202)
 *     QPS cap reached                                   → 200 request blocked
 *     learned non-bidder, not chosen to explore          → 203 request blocked: optimized
 *     circuit breaker open                               → 103 bidder unreachable
 * - Learned non-bidders ("learn which DSPs will not bid and skip them", issue 4 benchmark):
 *   an EWMA of "replied with a valid bid" per DSP; below `minBidRate` after `minCalls`
 *   replies, the DSP is called only with probability `exploreRate`, so it can come back.
 *   This trades a little value for CPU; the benchmark reports the value captured.
 * - Breaker outcomes: a reply (bid or no-bid, or a 400 about our request) is a success; a
 *   5xx, a connection error or an invalid body is a failure. A timeout is no verdict at first:
 *   the request goes on (http.ts) and its end decides: a late reply is a success (the DSP is
 *   alive; that it is slower than the auction allows is the adaptive timeout's business), an
 *   error or a hang (no reply `abortAfterMs` later) is a failure. So our own overload, a cold
 *   start or a tight tmax never opens breakers, and a hanging DSP still does.
 * - Latency: every reply's latency is recorded, a late one when it lands, a hang censored at
 *   its abort.
 * - No hedging: a DSP is called at most once per request (a second call would be a second bid).
 * - Progressive auction (optional, `progressive`): from a checkpoint on, stop waiting as soon as
 *   no DSP still out could beat the best bid so far (see `progressively`).
 * - Latency is recorded for every call, a timeout as its timeout (latency.ts).
 */
import type { Bidder, BidderBid, HttpResponseData } from '../../bidders/types.js';
import { SeatNonBidStatus } from '../../core/openrtb/codes.js';
import type { RejectedBid } from '../../core/openrtb/parse-response.js';
import type { BidRequest } from '../../core/openrtb/types.js';
import {
  CircuitBreaker,
  DEFAULT_BREAKER,
  type BreakerConfig,
  type BreakerState,
} from '../../core/resilience/circuit-breaker.js';
import {
  DEFAULT_TIMEOUT_POLICY,
  dspTimeout,
  type TimeoutPolicy,
} from '../../core/resilience/deadline.js';
import { TokenBucket } from '../../core/resilience/token-bucket.js';
import { BodyCache, type CallOutcome, type DspHttp, type LateOutcome } from './http.js';
import { LatencyTracker } from './latency.js';

export const SkipReason = {
  InsufficientTime: 'insufficient_time',
  QpsCap: 'qps_cap',
  LearnedNoBid: 'learned_no_bid',
  BreakerOpen: 'breaker_open',
  NothingToSend: 'nothing_to_send',
  /** Progressive auction: still out when no DSP left out could beat the best bid. */
  OutbidCutOff: 'outbid_cut_off',
  /** Degradation ladder step "drop the RTB tail": not among the most valuable DSPs (issue 8). */
  RtbTail: 'rtb_tail',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** What happened with one DSP in one request: the per-bidder metrics' input. */
export type DspOutcome =
  | { bidder: string; kind: 'skipped'; reason: SkipReason; status: number }
  | { bidder: string; kind: 'timeout'; latencyMs: number }
  | { bidder: string; kind: 'error'; reason: string; latencyMs: number }
  | { bidder: string; kind: 'no_bid'; nbr: number | null; latencyMs: number }
  | { bidder: string; kind: 'bids'; bids: number; rejected: number; latencyMs: number };

export interface SeatNonBidRecord {
  seat: string;
  impids: string[];
  status: number;
  /** A closed-enum name: a SkipReason, a ResponseError, 'timeout' or a BidRejectionReason. */
  reason: string;
}

export interface FanOutBid extends BidderBid {
  bidder: string;
}

export interface FanOutResult {
  bids: FanOutBid[];
  rejected: (RejectedBid & { bidder: string })[];
  nonBids: SeatNonBidRecord[];
  outcomes: DspOutcome[];
  /** The requests as sent, by bidder: what bids must be checked against. */
  sent: Map<string, BidRequest>;
}

export interface ShapingConfig {
  minCalls: number;
  minBidRate: number;
  exploreRate: number;
  alpha: number;
}

export const DEFAULT_SHAPING: ShapingConfig = {
  minCalls: 100,
  minBidRate: 0.02,
  exploreRate: 0.1,
  alpha: 0.02,
};

export interface FanOutDeps {
  bidders: readonly Bidder[];
  http: DspHttp;
  /** Monotonic milliseconds (performance.now in production, a fake in tests). */
  nowMs: () => number;
  /** In [0, 1); injected so tests are deterministic. */
  random: () => number;
  timeouts?: TimeoutPolicy;
  breaker?: BreakerConfig;
  /** null disables learned skipping. */
  shaping?: ShapingConfig | null;
  /** Progressive auction; null (the default) waits for every called DSP or its timeout. */
  progressive?: ProgressiveConfig | null;
}

interface DspState {
  bidder: Bidder;
  breaker: CircuitBreaker;
  qps: TokenBucket | null;
  replies: number;
  bidRate: number; // EWMA of "replied with at least one valid bid"
  /** Recent high bid (price × adjustment, micros), decaying; null until the DSP first bids. */
  highMicros: number | null;
}

export interface FanOutRunOptions {
  /** Call at most this many DSPs, the most valuable ones (degradation ladder step 3). */
  maxDsps?: number;
}

export interface ProgressiveConfig {
  /** The checkpoint, as a fraction of the time from the start to the deadline. */
  checkpointFraction: number;
}

function allImpids(req: BidRequest): string[] {
  return req.imp.map((i) => i.id);
}

export class RtbFanOut {
  private readonly dsps: DspState[];
  private readonly latency = new LatencyTracker();
  private readonly timeouts: TimeoutPolicy;
  private readonly shaping: ShapingConfig | null;
  private readonly progressive: ProgressiveConfig | null;

  constructor(private readonly deps: FanOutDeps) {
    this.timeouts = deps.timeouts ?? DEFAULT_TIMEOUT_POLICY;
    this.shaping = deps.shaping === undefined ? DEFAULT_SHAPING : deps.shaping;
    this.progressive = deps.progressive ?? null;
    this.dsps = deps.bidders.map((bidder) => ({
      bidder,
      breaker: new CircuitBreaker(deps.breaker ?? DEFAULT_BREAKER),
      qps: bidder.config.qpsCap === null ? null : new TokenBucket(bidder.config.qpsCap),
      replies: 0,
      bidRate: 1,
      highMicros: null,
    }));
  }

  get bidderIds(): string[] {
    return this.dsps.map((d) => d.bidder.config.id);
  }

  breakerStates(): { bidder: string; state: BreakerState; opened: number }[] {
    const now = this.deps.nowMs();
    return this.dsps.map((d) => ({
      bidder: d.bidder.config.id,
      state: d.breaker.state(now),
      opened: d.breaker.opened,
    }));
  }

  /**
   * The `max` most valuable DSPs (expected value: recent bid rate × recent high bid; a DSP
   * that has not bid yet is worth 0; ties in configuration order), for the degradation
   * ladder's "drop the RTB tail" step.
   */
  private mostValuable(max: number): Set<DspState> {
    const value = (d: DspState): number => d.bidRate * (d.highMicros ?? 0);
    const ranked = this.dsps
      .map((d, i) => ({ d, i, v: value(d) }))
      .sort((a, b) => b.v - a.v || a.i - b.i);
    return new Set(ranked.slice(0, max).map((r) => r.d));
  }

  /**
   * Calls the DSPs for `request` (validated, privacy-stripped) before `deadlineMs`. With
   * `maxDsps` (the degradation ladder's step 3), only that many of the most valuable DSPs are
   * considered; the rest are skipped with `rtb_tail` (seat-non-bid 203).
   */
  async run(
    request: BidRequest,
    deadlineMs: number,
    opts: FanOutRunOptions = {},
  ): Promise<FanOutResult> {
    const { nowMs, random, http } = this.deps;
    const result: FanOutResult = {
      bids: [],
      rejected: [],
      nonBids: [],
      outcomes: [],
      sent: new Map(),
    };
    const bodies = new Map<string, string>();
    const buffers = new BodyCache();
    const start = nowMs();
    const tmaxMs = Math.max(1, Math.floor(deadlineMs - start - this.timeouts.safetyMs));
    const calls: Promise<void>[] = [];
    const outstanding = new Set<DspState>();
    const hooks = { onSettled: (): void => undefined };

    const skip = (d: DspState, reason: SkipReason, status: number, impids: string[]): void => {
      const id = d.bidder.config.id;
      result.outcomes.push({ bidder: id, kind: 'skipped', reason, status });
      result.nonBids.push({ seat: id, impids, status, reason });
    };

    const max = opts.maxDsps;
    const kept = max !== undefined && max < this.dsps.length ? this.mostValuable(max) : null;
    for (const d of this.dsps) {
      const id = d.bidder.config.id;
      if (kept !== null && !kept.has(d)) {
        skip(d, SkipReason.RtbTail, SeatNonBidStatus.RequestBlockedOptimized, allImpids(request));
        continue;
      }
      const now = nowMs();
      const t = dspTimeout(this.latency.estimate(id, now), deadlineMs - now, this.timeouts);
      let timeoutMs: number;
      if (t.call) {
        timeoutMs = t.timeoutMs;
      } else if (t.why === 'too_slow' && random() < (this.shaping?.exploreRate ?? 0.1)) {
        // Explore: a DSP judged too slow is still called now and then with what is left, so
        // its latency estimate can recover (otherwise a past overload would shut it out).
        timeoutMs = Math.floor(t.availableMs);
      } else {
        skip(d, SkipReason.InsufficientTime, SeatNonBidStatus.ErrorTimeout, allImpids(request));
        continue;
      }
      // Built before the breaker is asked, so a half-open probe slot is only taken by a call.
      const built = d.bidder.buildRequests(request, { tmaxMs, bodies });
      if (built.kind === 'skip') {
        skip(d, SkipReason.NothingToSend, built.status, allImpids(request));
        continue;
      }
      if (d.qps !== null && !d.qps.tryTake(now)) {
        skip(d, SkipReason.QpsCap, SeatNonBidStatus.RequestBlockedGeneral, allImpids(request));
        continue;
      }
      const s = this.shaping;
      if (
        s !== null &&
        d.replies >= s.minCalls &&
        d.bidRate < s.minBidRate &&
        random() >= s.exploreRate
      ) {
        skip(
          d,
          SkipReason.LearnedNoBid,
          SeatNonBidStatus.RequestBlockedOptimized,
          allImpids(request),
        );
        continue;
      }
      if (!d.breaker.tryAcquire(now)) {
        skip(
          d,
          SkipReason.BreakerOpen,
          SeatNonBidStatus.ErrorBidderUnreachable,
          allImpids(request),
        );
        continue;
      }
      result.sent.set(id, built.sent);
      outstanding.add(d);
      for (const req of built.requests) {
        calls.push(
          http
            .call(req, timeoutMs, buffers, (late) => this.settleLate(d, late))
            .then((o) => {
              this.settle(d, o, built.sent, req, result);
              outstanding.delete(d);
              hooks.onSettled();
            }),
        );
      }
    }
    if (this.progressive === null || request.imp.length !== 1 || outstanding.size === 0) {
      await Promise.all(calls);
      return result;
    }
    const checkpointMs = start + this.progressive.checkpointFraction * (deadlineMs - start);
    return this.progressively(result, calls, outstanding, checkpointMs, hooks);
  }

  /**
   * Progressive auction (seed Part 3, strategy 3; issue 4 item 2): from the checkpoint on, the
   * fan-out ends as soon as no DSP still out could beat the best bid so far, judged by each
   * DSP's recent high bid. A DSP that never bid before cannot be judged and is waited for.
   * DSPs cut off this way are reported as timeouts (101); their replies still train the
   * latency, breaker and bid-rate state when they arrive. Single-imp requests only.
   */
  private progressively(
    result: FanOutResult,
    calls: Promise<void>[],
    outstanding: Set<DspState>,
    checkpointMs: number,
    hooks: { onSettled: () => void },
  ): Promise<FanOutResult> {
    return new Promise<FanOutResult>((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | null = null;
      const finish = (cutOff: boolean): void => {
        if (done) return;
        done = true;
        if (timer !== null) clearTimeout(timer);
        // A snapshot: replies that land later go to the original object, not to the caller.
        const out: FanOutResult = {
          bids: [...result.bids],
          rejected: [...result.rejected],
          nonBids: [...result.nonBids],
          outcomes: [...result.outcomes],
          sent: result.sent,
        };
        if (cutOff) {
          for (const d of outstanding) {
            const id = d.bidder.config.id;
            out.outcomes.push({
              bidder: id,
              kind: 'skipped',
              reason: SkipReason.OutbidCutOff,
              status: SeatNonBidStatus.ErrorTimeout,
            });
            out.nonBids.push({
              seat: id,
              impids: result.sent.get(id)?.imp.map((i) => i.id) ?? [],
              status: SeatNonBidStatus.ErrorTimeout,
              reason: SkipReason.OutbidCutOff,
            });
          }
        }
        resolve(out);
      };
      const check = (): void => {
        if (done) return;
        const early = checkpointMs - this.deps.nowMs();
        if (early > 0) {
          // Timers may fire a fraction of a millisecond before performance.now() says so.
          if (timer === null) timer = setTimeout(fire, Math.max(1, early));
          return;
        }
        let best = -1;
        for (const b of result.bids) best = Math.max(best, b.priceMicros * b.bidAdjustment);
        if (best < 0) return;
        for (const d of outstanding) if (d.highMicros === null || d.highMicros >= best) return;
        finish(true);
      };
      const fire = (): void => {
        timer = null;
        check();
      };
      hooks.onSettled = check;
      timer = setTimeout(fire, Math.max(0, checkpointMs - this.deps.nowMs()));
      void Promise.all(calls).then(() => finish(false));
    });
  }

  private settle(
    d: DspState,
    o: CallOutcome,
    sent: BidRequest,
    req: Parameters<Bidder['parseBids']>[1],
    result: FanOutResult,
  ): void {
    const id = d.bidder.config.id;
    const now = this.deps.nowMs();
    // A timeout's latency is recorded when the request ends (settleLate).
    if (o.kind !== 'timeout') this.latency.record(id, o.latencyMs, now);
    const impids = req.impIds;
    if (o.kind === 'timeout') {
      // No verdict yet for the breaker: settleLate decides once the request ends.
      result.outcomes.push({ bidder: id, kind: 'timeout', latencyMs: o.latencyMs });
      result.nonBids.push({
        seat: id,
        impids,
        status: SeatNonBidStatus.ErrorTimeout,
        reason: 'timeout',
      });
      return;
    }
    if (o.kind === 'error') {
      d.breaker.record(false, now);
      result.outcomes.push({ bidder: id, kind: 'error', reason: o.reason, latencyMs: o.latencyMs });
      result.nonBids.push({
        seat: id,
        impids,
        status:
          o.reason === 'connection'
            ? SeatNonBidStatus.ErrorBidderUnreachable
            : SeatNonBidStatus.ErrorInvalidBidResponse,
        reason: o.reason,
      });
      return;
    }
    const res: HttpResponseData = { status: o.status, body: o.body };
    const parsed = d.bidder.parseBids(sent, req, res);
    const failed = parsed.errors.some((e) => e.kind !== 'bad_input');
    d.breaker.record(!failed, now);
    const error = parsed.errors[0];
    if (error !== undefined) {
      result.outcomes.push({
        bidder: id,
        kind: 'error',
        reason: error.kind,
        latencyMs: o.latencyMs,
      });
      result.nonBids.push({
        seat: id,
        impids,
        status:
          error.kind === 'invalid_response'
            ? SeatNonBidStatus.ErrorInvalidBidResponse
            : SeatNonBidStatus.ErrorGeneral,
        reason: error.kind,
      });
      this.learn(d, false);
      return;
    }
    for (const b of parsed.bids) {
      result.bids.push({ ...b, bidder: id });
      // Decays by 2 % per bid seen, so one old outlier does not hold the progressive auction
      // forever. Prices of different currencies are compared as they are (an approximation:
      // the fan-out has no rates).
      const v = b.priceMicros * b.bidAdjustment;
      d.highMicros = Math.max(v, (d.highMicros ?? 0) * 0.98);
    }
    for (const r of parsed.rejected) result.rejected.push({ ...r, bidder: id });
    this.learn(d, parsed.bids.length > 0);
    if (parsed.bids.length === 0 && parsed.rejected.length === 0) {
      result.outcomes.push({ bidder: id, kind: 'no_bid', nbr: parsed.nbr, latencyMs: o.latencyMs });
      if (parsed.nbr !== null && parsed.nbr >= 0 && parsed.nbr <= 17) {
        // seat-non-bid.md: 0–17 pass the bidder's no-bid reason through.
        result.nonBids.push({ seat: id, impids, status: parsed.nbr, reason: 'no_bid' });
      }
      return;
    }
    result.outcomes.push({
      bidder: id,
      kind: 'bids',
      bids: parsed.bids.length,
      rejected: parsed.rejected.length,
      latencyMs: o.latencyMs,
    });
  }

  /**
   * The end of a request that timed out. A late reply means the DSP is alive, only slower than
   * this auction allowed: a success for the breaker (slowness is the adaptive timeout's
   * business), and its true latency trains the histogram. An error or a hang (no reply
   * `abortAfterMs` after the timeout) is a failure, its latency censored at that point.
   */
  private settleLate(d: DspState, late: LateOutcome): void {
    const now = this.deps.nowMs();
    this.latency.record(d.bidder.config.id, late.latencyMs, now);
    d.breaker.record(late.kind === 'replied', now);
  }

  private learn(d: DspState, bid: boolean): void {
    const s = this.shaping;
    if (s === null) return;
    d.replies++;
    d.bidRate += s.alpha * ((bid ? 1 : 0) - d.bidRate);
  }
}
