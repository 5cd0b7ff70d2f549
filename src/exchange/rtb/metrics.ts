/**
 * Per-bidder RTB metrics (issue 4 item 8): requests by outcome, errors and rejected bids by
 * closed-enum reason, latency histogram, wins and revenue, circuit-breaker state, notices.
 * Registered on the app's prom-client registry, so they appear on `/metrics`.
 *
 * Bidder ids are configuration (a bounded set), so they are safe as label values; reasons are
 * closed enums.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RtbAuctionOutcome } from './auction.js';
import type { BillingResult } from './billing.js';
import type { DecisionDemandReport } from './decision-demand.js';
import type { FanOutResult, RtbFanOut } from './fan-out.js';
import type { NoticeKind, NoticeResult } from './notices.js';

const BREAKER_LEVEL = { closed: 0, half_open: 1, open: 2 } as const;

export class RtbMetrics {
  private readonly auctions: Counter<'outcome'>;
  private readonly bidderCalls: Counter<'bidder' | 'outcome' | 'reason'>;
  private readonly rejected: Counter<'bidder' | 'reason'>;
  private readonly latency: Histogram<'bidder'>;
  private readonly wins: Counter<'bidder'>;
  private readonly revenue: Counter<'bidder'>;
  private readonly notices: Counter<'kind' | 'result'>;
  private readonly billingNotices: Counter<'result'>;

  constructor(registry: Registry, fanOut: RtbFanOut | null) {
    const registers = [registry];
    this.auctions = new Counter({
      name: 'adstack_rtb_auctions_total',
      help: 'OpenRTB auctions by outcome (bid, no_bid, invalid)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.bidderCalls = new Counter({
      name: 'adstack_rtb_bidder_requests_total',
      help: 'Per DSP and auction: bids, no_bid, timeout, error or skipped, with the closed-enum reason',
      labelNames: ['bidder', 'outcome', 'reason'] as const,
      registers,
    });
    this.rejected = new Counter({
      name: 'adstack_rtb_bidder_rejected_bids_total',
      help: 'DSP bids dropped by validation or business rules, by closed-enum reason',
      labelNames: ['bidder', 'reason'] as const,
      registers,
    });
    this.latency = new Histogram({
      name: 'adstack_rtb_bidder_latency_seconds',
      help: 'DSP call latency (a timeout counts as its timeout)',
      labelNames: ['bidder'] as const,
      buckets: [0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5],
      registers,
    });
    this.wins = new Counter({
      name: 'adstack_rtb_bidder_wins_total',
      help: 'Impressions won in our auction, per seat (internal demand is the internal seat)',
      labelNames: ['bidder'] as const,
      registers,
    });
    this.revenue = new Counter({
      name: 'adstack_rtb_bidder_revenue_micros_total',
      help: 'Sum of clearing CPM micros of won impressions (auction currency), per seat',
      labelNames: ['bidder'] as const,
      registers,
    });
    this.notices = new Counter({
      name: 'adstack_rtb_notices_total',
      help: 'Win / loss / billing notices sent to DSPs, by result',
      labelNames: ['kind', 'result'] as const,
      registers,
    });
    this.billingNotices = new Counter({
      name: 'adstack_rtb_billing_notices_total',
      help: 'Billing notices (burl) of DSP ads won in /v1/decisions: ok, retried, failed, dropped, duplicate, abandoned, resumed (after a restart), deferred (queue full: outbox only), store_error',
      labelNames: ['result'] as const,
      registers,
    });
    if (fanOut !== null) {
      new Gauge({
        name: 'adstack_rtb_breaker_state',
        help: 'Circuit breaker per DSP: 0 closed, 1 half-open, 2 open',
        labelNames: ['bidder'] as const,
        registers,
        collect() {
          for (const b of fanOut.breakerStates())
            this.set({ bidder: b.bidder }, BREAKER_LEVEL[b.state]);
        },
      });
    }
  }

  invalid(): void {
    this.auctions.inc({ outcome: 'invalid' });
  }

  observe(o: RtbAuctionOutcome): void {
    this.auctions.inc({ outcome: o.response !== null && o.wins.length > 0 ? 'bid' : 'no_bid' });
    this.observeFanOut(o.fanOut);
    for (const r of o.policyRejected) this.rejected.inc({ bidder: r.bidder, reason: r.reason });
    for (const w of o.wins) {
      this.wins.inc({ bidder: w.seat });
      this.revenue.inc({ bidder: w.seat }, w.priceMicros);
    }
  }

  /** DSP demand of one `POST /v1/decisions` (decision-demand.ts): per-bidder series only. */
  observeDecision(r: DecisionDemandReport): void {
    this.observeFanOut(r.fan);
    for (const x of r.rejected) this.rejected.inc({ bidder: x.bidder, reason: x.reason });
    if (r.win !== null) {
      this.wins.inc({ bidder: r.win.seat });
      this.revenue.inc({ bidder: r.win.seat }, r.win.priceMicros);
    }
  }

  private observeFanOut(fan: FanOutResult | null): void {
    for (const d of fan?.outcomes ?? []) {
      const reason = d.kind === 'skipped' || d.kind === 'error' ? d.reason : '';
      this.bidderCalls.inc({ bidder: d.bidder, outcome: d.kind, reason });
      if (d.kind !== 'skipped') this.latency.observe({ bidder: d.bidder }, d.latencyMs / 1000);
    }
    for (const r of fan?.rejected ?? []) this.rejected.inc({ bidder: r.bidder, reason: r.reason });
  }

  notice(kind: NoticeKind, result: NoticeResult): void {
    this.notices.inc({ kind, result });
  }

  billing(result: BillingResult): void {
    this.billingNotices.inc({ result });
  }
}
