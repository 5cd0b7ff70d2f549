/**
 * Builds the OpenRTB side of the exchange from plain options: bidders, HTTP pools, fan-out,
 * notices, internal demand and the auction service. Called by the composition root
 * (src/wiring/runtime.ts); tests and the benchmark call it with simulated DSPs.
 *
 * Network deadlines run on the real monotonic clock (`performance.now`), whatever clock the
 * domain uses: a DSP's timeout is real time even in a test with a fake wall clock.
 */
import { createOpenRtbBidder } from '../../bidders/openrtb/bidder.js';
import { DSP_DEFAULTS, type DspConfig } from '../../bidders/types.js';
import type { ExchangeRates, Prediction } from '../../core/auction/index.js';
import type { BreakerConfig } from '../../core/resilience/circuit-breaker.js';
import type { TimeoutPolicy } from '../../core/resilience/deadline.js';
import type { BillingOutbox } from '../../ports/billing-outbox.js';
import { newEvent, type AnyEvent } from '../../ports/event-log.js';
import type { FrequencyCounters } from '../../ports/frequency-counters.js';
import type { BudgetManager } from '../budget.js';
import type { ServingIndex } from '../serving-index.js';
import type { TrackingSigner } from '../tracking.js';
import {
  DEFAULT_RTB_CONFIG,
  RtbAuctionService,
  type FanOut,
  type RtbAuctionConfig,
} from './auction.js';
import { RtbFanOut, type ProgressiveConfig, type ShapingConfig } from './fan-out.js';
import { DEFAULT_HTTP, DspHttp, type HttpOptions } from './http.js';
import type { RecordedEvent } from '../events.js';
import { BillingNotifier, DEFAULT_BILLING, type BillingOptions } from './billing.js';
import { DEFAULT_DECISION_BUDGET_MS, RtbDecisionDemand } from './decision-demand.js';
import { InternalDemand } from './internal-demand.js';
import type { RtbMetrics } from './metrics.js';
import { DEFAULT_NOTICES, NoticeSender } from './notices.js';

/** Indicative rates (units of USD per unit); a live FX feed is not part of issue 4. */
export const DEFAULT_RATES: ExchangeRates = {
  auction_currency: 'USD',
  rates: { EUR: 1.08, GBP: 1.27, JPY: 0.0067, CAD: 0.73, AUD: 0.66 },
};

export interface RtbOptions {
  /** DSPs: `id` and `endpoint` required, the rest defaults to DSP_DEFAULTS. */
  dsps: (Partial<DspConfig> & Pick<DspConfig, 'id' | 'endpoint'>)[];
  auction?: Partial<Omit<RtbAuctionConfig, 'publicUrl' | 'trackingTtlMs'>>;
  timeouts?: TimeoutPolicy;
  breaker?: BreakerConfig;
  shaping?: ShapingConfig | null;
  progressive?: ProgressiveConfig | null;
  http?: Partial<HttpOptions>;
  /** Replaces our fan-out (the benchmark plugs its naive baseline in here). */
  fanOut?: FanOut;
  random?: () => number;
  internalDemand?: boolean;
  notices?: boolean;
  /** DSP budget of one `POST /v1/decisions` on an RTB-enabled placement, ms (default 30). */
  decisionBudgetMs?: number;
  billing?: Partial<BillingOptions>;
}

export interface RtbAssembly {
  service: RtbAuctionService;
  /** EventService listener: fires a DSP ad's `burl` when its impression is first recorded. */
  onImpression: (e: RecordedEvent) => void;
  billing: BillingNotifier | null;
  /** DSP demand for DecisionService; null without DSPs. */
  decisionDemand: RtbDecisionDemand | null;
  fanOut: RtbFanOut | null;
  monoMs: () => number;
  onMetrics: (m: RtbMetrics) => void;
  close(): Promise<void>;
}

export function assembleRtb(deps: {
  options: RtbOptions;
  index: ServingIndex;
  signer: TrackingSigner;
  wallMs: () => number;
  priors: Prediction;
  publicUrl: string;
  trackingTtlMs: number;
  /** Budgets and pacing for internal demand (and reservation of its wins); absent: not enforced. */
  budgets?: BudgetManager;
  /** Frequency counters for internal demand's caps; absent: caps not enforced. */
  frequency?: FrequencyCounters;
  /** Durable billing notices (burl retries survive a restart); absent: in memory only. */
  billingOutbox?: BillingOutbox;
  /** The billing outbox could not be read or written (for the log). */
  onBillingStoreError?: (e: unknown) => void;
  /**
   * Win, loss and billing events (issue 7) into the bounded publisher: fire-and-forget, never
   * awaited on the auction or decision path; absent: none are emitted.
   */
  emit?: (event: AnyEvent) => void;
}): RtbAssembly {
  const o = deps.options;
  const monoMs = (): number => performance.now();
  const http = new DspHttp({ ...DEFAULT_HTTP, ...o.http }, monoMs);
  const bidders = o.dsps.map((d) => createOpenRtbBidder({ ...DSP_DEFAULTS, ...d }));
  const fanOut =
    bidders.length === 0
      ? null
      : new RtbFanOut({
          bidders,
          http,
          nowMs: monoMs,
          random: o.random ?? Math.random,
          ...(o.timeouts !== undefined ? { timeouts: o.timeouts } : {}),
          ...(o.breaker !== undefined ? { breaker: o.breaker } : {}),
          ...(o.shaping !== undefined ? { shaping: o.shaping } : {}),
          ...(o.progressive !== undefined ? { progressive: o.progressive } : {}),
        });
  let metrics: RtbMetrics | null = null;
  const notices =
    o.notices === false
      ? null
      : new NoticeSender({
          ...DEFAULT_NOTICES,
          onResult: (kind, result) => metrics?.notice(kind, result),
        });
  const auctionConfig: RtbAuctionConfig = {
    ...DEFAULT_RTB_CONFIG,
    rates: DEFAULT_RATES,
    ...o.auction,
    publicUrl: deps.publicUrl,
    trackingTtlMs: deps.trackingTtlMs,
  };
  const service = new RtbAuctionService({
    fanOut: o.fanOut ?? fanOut,
    internal:
      o.internalDemand === false
        ? null
        : new InternalDemand(deps.index, deps.priors, {
            ...(deps.budgets !== undefined ? { budgets: deps.budgets } : {}),
            ...(deps.frequency !== undefined ? { frequency: deps.frequency } : {}),
          }),
    signer: deps.signer,
    notices,
    monoMs,
    wallMs: deps.wallMs,
    config: auctionConfig,
    ...(deps.emit !== undefined ? { emit: deps.emit } : {}),
  });
  const billing =
    notices === null
      ? null
      : new BillingNotifier(
          {
            send: (url) => notices.sendOnce(url),
            onResult: (r) => metrics?.billing(r),
            nowMs: deps.wallMs,
            ...(deps.billingOutbox !== undefined ? { outbox: deps.billingOutbox } : {}),
            ...(deps.onBillingStoreError !== undefined
              ? { onStoreError: deps.onBillingStoreError }
              : {}),
          },
          { ...DEFAULT_BILLING, ...o.billing },
        );
  // Resumes notices left pending by an earlier process (shutdown, crash).
  billing?.start();
  const dspFanOut = o.fanOut ?? fanOut;
  const decisionDemand =
    dspFanOut === null
      ? null
      : new RtbDecisionDemand({
          fanOut: dspFanOut,
          notices,
          signer: deps.signer,
          monoMs,
          wallMs: deps.wallMs,
          config: {
            budgetMs: o.decisionBudgetMs ?? DEFAULT_DECISION_BUDGET_MS,
            rates: auctionConfig.rates,
            schainAsi: auctionConfig.schainAsi,
            publicUrl: deps.publicUrl,
            trackingTtlMs: deps.trackingTtlMs,
            ...(auctionConfig.enforceSecure !== undefined
              ? { enforceSecure: auctionConfig.enforceSecure }
              : {}),
          },
          onReport: (r) => metrics?.observeDecision(r),
          ...(deps.emit !== undefined ? { emit: deps.emit } : {}),
        });
  return {
    service,
    onImpression: (e) => {
      if (!e.inserted || e.claims.bu === undefined) return;
      const { d, ds, pr } = e.claims;
      const emit = deps.emit;
      billing?.notify(
        d,
        e.claims.bu,
        emit === undefined
          ? undefined
          : (outcome) =>
              emit(
                newEvent('billing', `billing:${d}`, deps.wallMs(), {
                  decision_id: d,
                  bidder: ds ?? '',
                  price_micros: pr,
                  outcome,
                }),
              ),
      );
    },
    billing,
    decisionDemand,
    fanOut,
    monoMs,
    onMetrics: (m) => {
      metrics = m;
    },
    async close() {
      await billing?.close();
      await notices?.close();
      await http.close();
    },
  };
}
