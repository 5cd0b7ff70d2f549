/**
 * The dual-source auction service with a scripted fan-out (no network): deals, currency and
 * bid adjustment, macros in the winning markup, loss notices with their loss codes; internal
 * winners reserving their budget (a stubbed BudgetManager) and the fallback when they cannot.
 */
import { describe, expect, it } from 'vitest';
import { createOpenRtbBidder } from '../../src/bidders/openrtb/bidder.js';
import { DSP_DEFAULTS } from '../../src/bidders/types.js';
import type { Campaign, Creative, Placement } from '../../src/core/domain/entities.js';
import type { Bid, BidRequest } from '../../src/core/openrtb/types.js';
import type { BudgetManager, BudgetReservation } from '../../src/exchange/budget.js';
import {
  DEFAULT_RTB_CONFIG,
  RtbAuctionService,
  type FanOut,
} from '../../src/exchange/rtb/auction.js';
import { DEFAULT_RATES } from '../../src/exchange/rtb/assemble.js';
import type { FanOutResult } from '../../src/exchange/rtb/fan-out.js';
import type { InternalCandidate, InternalDemand } from '../../src/exchange/rtb/internal-demand.js';
import type { NoticeKind, NoticeSender } from '../../src/exchange/rtb/notices.js';
import { TrackingSigner } from '../../src/exchange/tracking.js';

type Reply = { bidder: string; cur?: string; adjustment?: number; bids: Partial<Bid>[] };

/** A fan-out that answers from a script, parsed by the real bidder code. */
function scripted(replies: Reply[]): FanOut & { seen: BidRequest[] } {
  const seen: BidRequest[] = [];
  return {
    seen,
    async run(request) {
      seen.push(request);
      const out: FanOutResult = {
        bids: [],
        rejected: [],
        nonBids: [],
        outcomes: [],
        sent: new Map(),
      };
      for (const r of replies) {
        const bidder = createOpenRtbBidder({
          ...DSP_DEFAULTS,
          id: r.bidder,
          endpoint: 'http://x.test/',
          currencies: ['USD', 'EUR'],
          bidAdjustment: r.adjustment ?? 1,
        });
        const built = bidder.buildRequests(request, { tmaxMs: 50, bodies: new Map() });
        if (built.kind !== 'requests') continue;
        const body = JSON.stringify({
          id: request.id,
          cur: r.cur ?? 'USD',
          seatbid: [
            {
              seat: r.bidder,
              bid: r.bids.map((b, i) => ({
                id: `${r.bidder}-${i}`,
                impid: '1',
                adm: '<div/>',
                ...b,
              })),
            },
          ],
        });
        const p = bidder.parseBids(built.sent, built.requests[0]!, { status: 200, body });
        out.bids.push(...p.bids.map((b) => ({ ...b, bidder: r.bidder })));
      }
      return out;
    },
  };
}

function service(fanOut: FanOut, fired: [NoticeKind, string][] = []) {
  const notices = {
    fire: (k: NoticeKind, u: string) => void fired.push([k, u]),
  } as unknown as NoticeSender;
  return new RtbAuctionService({
    fanOut,
    internal: null,
    signer: new TrackingSigner('test-tracking-secret-0123456789'),
    notices,
    monoMs: () => 0,
    wallMs: () => 1_700_000_000_000,
    config: {
      ...DEFAULT_RTB_CONFIG,
      rates: DEFAULT_RATES,
      publicUrl: 'http://ads.test',
      trackingTtlMs: 60_000,
    },
    newId: () => 'fixed-id',
  });
}

const req = (imp: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): BidRequest =>
  ({
    id: 'R1',
    at: 2,
    tmax: 100,
    imp: [{ id: '1', banner: { w: 300, h: 250 }, ...imp }],
    site: { publisher: { id: 'pub9' } },
    ...extra,
  }) as BidRequest;

describe('RtbAuctionService', () => {
  it('second price across DSPs, AUCTION_PRICE in the winner currency with its adjustment undone', async () => {
    const fired: [NoticeKind, string][] = [];
    const svc = service(
      scripted([
        // 4 EUR × 1.08 × 0.9 adjustment = 3.888 USD
        {
          bidder: 'a',
          cur: 'EUR',
          adjustment: 0.9,
          bids: [
            { price: 4, adm: '<img src="https://a/w?p=${AUCTION_PRICE}&c=${AUCTION_CURRENCY}">' },
          ],
        },
        {
          bidder: 'b',
          bids: [{ price: 2, lurl: 'https://b/loss?r=${AUCTION_LOSS}&p=${AUCTION_PRICE}' }],
        },
      ]),
      fired,
    );
    const o = await svc.auction(req(), 0);
    const bid = o.response?.seatbid?.[0]?.bid[0];
    expect(o.response?.seatbid?.[0]?.seat).toBe('a');
    // clears at 2.00 + 0.01 USD; in EUR with the 0.9 adjustment undone: 2.01 / (1.08 × 0.9)
    expect(bid?.price).toBe(2.01);
    const p = Number(/p=([0-9.]+)/.exec(bid?.adm ?? '')?.[1]);
    expect(p).toBeCloseTo(2.01 / (1.08 * 0.9), 5);
    expect(bid?.adm).toContain('c=EUR');
    // The loser's lurl: loss reason 102, price blanked.
    expect(fired).toEqual([['loss', 'https://b/loss?r=102&p=']]);
  });

  it('appends our schain node and keeps the same source for every DSP', async () => {
    const f = scripted([]);
    await service(f).auction(req({}, { source: { tid: 't1' } }), 0);
    expect(f.seen[0]?.source).toEqual({
      tid: 't1',
      schain: { complete: 0, ver: '1.0', nodes: [{ asi: 'adstack.example', sid: 'pub9', hp: 1 }] },
    });
  });

  it('a deal bid wins a private auction at no less than its deal floor; the open bid is rejected (4)', async () => {
    const fired: [NoticeKind, string][] = [];
    const svc = service(
      scripted([
        { bidder: 'deal', bids: [{ price: 3, dealid: 'D1' }] },
        { bidder: 'open', bids: [{ price: 9, lurl: 'https://o/l?r=${AUCTION_LOSS}' }] },
      ]),
      fired,
    );
    const o = await svc.auction(
      req({ pmp: { private_auction: 1, deals: [{ id: 'D1', bidfloor: 2.5 }] } }),
      0,
    );
    expect(o.response?.seatbid?.[0]?.seat).toBe('deal');
    // Alone in its tier: max(next, deal floor) + the increment (the engine's second-price rule,
    // issue 3 item 8), capped at the bid.
    expect(o.response?.seatbid?.[0]?.bid[0]?.price).toBe(2.51);
    expect(fired).toEqual([['loss', 'https://o/l?r=4']]);
    expect(o.seatnonbid).toEqual([{ seat: 'open', nonbid: [{ impid: '1', statuscode: 300 }] }]);
  });

  it('a bid below the imp floor in another currency is rejected with 100 / 301', async () => {
    const fired: [NoticeKind, string][] = [];
    const svc = service(
      scripted([{ bidder: 'a', bids: [{ price: 1, lurl: 'https://a/l?r=${AUCTION_LOSS}' }] }]),
      fired,
    );
    const o = await svc.auction(req({ bidfloor: 1, bidfloorcur: 'EUR' }), 0);
    expect(o.response).toBeNull();
    expect(fired).toEqual([['loss', 'https://a/l?r=100']]);
    expect(o.seatnonbid[0]?.nonbid[0]?.statuscode).toBe(301);
  });

  it('blocked categories never win (bcat → 209 / 357)', async () => {
    const svc = service(scripted([{ bidder: 'a', bids: [{ price: 5, cat: ['IAB25-2'] }] }]));
    const o = await svc.auction(req({}, { bcat: ['IAB25'], ext: { seatnonbid: 1 } }), 0);
    expect(o.response?.seatbid).toEqual([]);
    expect(o.seatnonbid[0]?.nonbid[0]?.statuscode).toBe(357);
  });

  it('strips ids before the fan-out without GDPR consent', async () => {
    const f = scripted([]);
    await service(f).auction(
      req(
        {},
        {
          regs: { gdpr: 1 },
          user: { id: 'u1', buyeruid: 'b1' },
          device: { ip: '203.0.113.77', ifa: 'abc' },
        },
      ),
      0,
    );
    expect(f.seen[0]?.user).toEqual({});
    expect(f.seen[0]?.device).toEqual({ ip: '203.0.113.0' });
    expect(f.seen[0]?.regs).toEqual({ gdpr: 1 }); // signals are forwarded
  });
});

describe('RtbAuctionService: internal winners reserve their budget', () => {
  const campaign = (id: string, bidMicros: number) =>
    ({
      id,
      advertiser_id: `adv_${id}`,
      pricing_model: 'cpm',
      bid_micros: bidMicros,
      frequency_cap: null,
    }) as unknown as Campaign;
  const placement = { id: 'plc_1', floor_cpm_micros: 500_000 } as unknown as Placement;
  const candidate = (c: Campaign): InternalCandidate => ({
    campaign: c,
    creative: {
      id: `cre_${c.id}`,
      format: 'banner',
      markup: '<div/>',
      url: null,
      w: 300,
      h: 250,
      landing_url: 'https://x.example/',
    } as unknown as Creative,
    placement,
    userKey: null,
    profileKey: null,
    bid: {
      id: `int:${c.id}`,
      model: 'cpm',
      bid_micros: c.bid_micros,
      prediction: { ctr: 0.01, cvr: 0.01 },
      tier: 'open',
    },
  });
  const signer = new TrackingSigner('test-tracking-secret-0123456789');

  /** Internal demand with two campaigns; `canPay` says which ones the budget stub reserves for. */
  function withBudgets(canPay: (campaignId: string) => boolean) {
    const reserved: { campaignId: string; key: string; micros: number }[] = [];
    const budgets = {
      reserve: (c: Campaign, key: string, micros: number): BudgetReservation | null => {
        if (!canPay(c.id)) return null;
        reserved.push({ campaignId: c.id, key, micros });
        return { campaignId: c.id, micros, leases: [['2023-11-14', `lease-${c.id}`]] };
      },
    } as unknown as BudgetManager;
    const internal = {
      budgets,
      candidates: async () => ({
        candidates: [candidate(campaign('a', 5_000_000)), candidate(campaign('b', 3_000_000))],
        filtered: {},
      }),
    } as unknown as InternalDemand;
    let n = 0;
    const svc = new RtbAuctionService({
      fanOut: null,
      internal,
      signer,
      notices: null,
      monoMs: () => 0,
      wallMs: () => 1_700_000_000_000,
      config: {
        ...DEFAULT_RTB_CONFIG,
        rates: DEFAULT_RATES,
        publicUrl: 'http://ads.test',
        trackingTtlMs: 60_000,
      },
      newId: () => `id-${++n}`,
    });
    return { svc, reserved };
  }

  const impToken = (burl: string | undefined) =>
    signer.verify(
      new URL(burl ?? 'http://x/').searchParams.get('t') ?? '',
      'imp',
      1_700_000_000_000,
    );

  it('the winner reserves its charge and its impression token carries the lease (bl)', async () => {
    const { svc, reserved } = withBudgets(() => true);
    const o = await svc.auction(req({ tagid: 'plc_1' }), 0);
    const bid = o.response?.seatbid?.[0]?.bid[0];
    expect(bid?.cid).toBe('a');
    // second price: b's 3.00 + 0.01 → 3.01 CPM, an impression charge of 3 010 micros
    expect(reserved).toEqual([{ campaignId: 'a', key: bid?.id, micros: 3_010 }]);
    const claims = impToken(bid?.burl);
    expect(claims.d).toBe(bid?.id);
    expect(claims.pr).toBe(3_010_000);
    expect(claims.bl).toEqual([['2023-11-14', 'lease-a']]);
  });

  it('a winner whose reservation fails is dropped: the next bid wins, else no bid', async () => {
    const next = withBudgets((id) => id !== 'a');
    const o = await next.svc.auction(req({ tagid: 'plc_1' }), 0);
    const bid = o.response?.seatbid?.[0]?.bid[0];
    expect(bid?.cid).toBe('b');
    expect(o.internalFiltered).toEqual({ budget_exhausted: 1 });
    // b alone clears at its placement floor, 0.50 CPM
    expect(next.reserved).toEqual([{ campaignId: 'b', key: bid?.id, micros: 500 }]);
    expect(impToken(bid?.burl).bl).toEqual([['2023-11-14', 'lease-b']]);

    const none = withBudgets(() => false);
    const o2 = await none.svc.auction(req({ tagid: 'plc_1' }), 0);
    expect(o2.response).toBeNull();
    expect(o2.wins).toEqual([]);
    expect(o2.internalFiltered).toEqual({ budget_exhausted: 2 });
  });
});
