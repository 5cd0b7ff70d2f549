/**
 * POST /v1/decisions with RTB demand per placement (issue 4 item 4), through the real
 * composition root (in-memory PGlite, demo data) with a scripted fan-out parsed by the real
 * bidder code: DSP bids join the one auction in eCPM space; a DSP win renders its markup and
 * fires `nurl`; losers get `lurl`; the impression event fires `burl` once.
 * Notices go to a loopback HTTP server that records what it receives.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOpenRtbBidder } from '../../src/bidders/openrtb/bidder.js';
import { DSP_DEFAULTS } from '../../src/bidders/types.js';
import { loadConfig } from '../../src/config/config.js';
import type { Bid, BidRequest } from '../../src/core/openrtb/types.js';
import type { FanOut } from '../../src/exchange/rtb/auction.js';
import { DEADLINE_SAFETY_MS } from '../../src/exchange/rtb/decision-demand.js';
import type { FanOutResult } from '../../src/exchange/rtb/fan-out.js';
import { userKey } from '../../src/exchange/user-key.js';
import type { AnyEvent, EventConsumer, EventType } from '../../src/ports/event-log.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { createRuntime, type Runtime } from '../../src/wiring/runtime.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ADMIN_KEY, pathOf } from '../helpers/runtime.js';

let replies: { bidder: string; bids: Partial<Bid>[] }[] = [];
const seen: BidRequest[] = [];
/** `deadlineMs − monoMs` at the time each fan-out was started (monoMs as the runtime's). */
const handedWaitMs: number[] = [];

/** A fan-out answering from `replies`, each parsed by a real OpenRTB bidder. */
const scripted: FanOut = {
  async run(request, deadlineMs) {
    seen.push(request);
    handedWaitMs.push(deadlineMs - performance.now());
    const out: FanOutResult = {
      bids: [],
      rejected: [],
      nonBids: [],
      outcomes: [],
      sent: new Map(),
    };
    for (const r of replies) {
      const bidder = createOpenRtbBidder({ ...DSP_DEFAULTS, id: r.bidder, endpoint: 'http://x/' });
      const built = bidder.buildRequests(request, { tmaxMs: 30, bodies: new Map() });
      if (built.kind !== 'requests') continue;
      const body = JSON.stringify({
        id: request.id,
        seatbid: [
          {
            seat: r.bidder,
            bid: r.bids.map((b, i) => ({ id: `${r.bidder}-${i}`, impid: '1', crid: 'c1', ...b })),
          },
        ],
      });
      const p = bidder.parseBids(built.sent, built.requests[0]!, { status: 200, body });
      out.bids.push(...p.bids.map((b) => ({ ...b, bidder: r.bidder })));
    }
    return out;
  },
};

let rt: Runtime;
let notices: Server;
let base = '';
const received: string[] = [];
const got = (prefix: string) => received.filter((u) => u.startsWith(prefix));

beforeAll(async () => {
  notices = createServer((req, res) => {
    received.push(req.url ?? '');
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => notices.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(notices.address() as AddressInfo).port}`;
  rt = await startRuntime({});
});
afterAll(async () => {
  await rt.close();
  await new Promise<void>((r) => notices.close(() => r()));
});
beforeEach(() => {
  replies = [];
  seen.length = 0;
  handedWaitMs.length = 0;
});

/** The demo runtime on in-memory PGlite with the scripted fan-out (decision clock: fake). */
function startRuntime(env: Record<string, string>): Promise<Runtime> {
  const config = loadConfig({
    ADSTACK_DATA_DIR: 'memory://',
    ADSTACK_PORT: '0',
    ADSTACK_PUBLIC_URL: 'http://ads.test',
    ADSTACK_ADMIN_KEY: ADMIN_KEY,
    ADSTACK_TRACKING_SECRET: 'test-tracking-secret-0123456789',
    ...env,
  });
  return createRuntime(config, {
    demo: true,
    clock: new FakeClock(),
    loadShed: { utilization: () => 0 },
    rtb: { dsps: [], fanOut: scripted, auction: { enforceSecure: false } },
  });
}

/** The demo request on an http:// page: our loopback notice URLs are not secure. */
const REQ = {
  ...DEMO_REQUEST,
  site: { domain: 'news.example', page: 'http://news.example/sports/marathon' },
};

const decide = (body: object) =>
  rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: body });

/** Events of `types` from `consumer` until `enough` holds (bounded: 20 fetches of ≤ 1 s). */
async function collect(
  consumer: EventConsumer,
  enough: (events: AnyEvent[]) => boolean,
): Promise<AnyEvent[]> {
  const events: AnyEvent[] = [];
  for (let i = 0; i < 20 && !enough(events); i++) {
    for (const d of await consumer.fetch(100, 1_000)) {
      events.push(d.event);
      await d.ack();
    }
  }
  return events;
}

const ofType = <T extends EventType>(events: AnyEvent[], type: T) =>
  events.filter((e): e is Extract<AnyEvent, { type: T }> => e.type === type);

describe('POST /v1/decisions with RTB demand', () => {
  it('win, loss, billing and lease events reach the event log; the DSP impression carries the user key', async () => {
    const consumer = await rt.userData.eventLog.consumer('test-rtb-events', {
      types: ['win', 'loss', 'billing', 'impression'],
      deliver: 'new',
    });
    replies = [
      {
        bidder: 'dspw',
        bids: [{ price: 6, adm: '<i/>', nurl: `${base}/ev-win`, burl: `${base}/ev-bill` }],
      },
      { bidder: 'dspx', bids: [{ price: 5.5, adm: '<i/>' }] },
    ];
    const body = (await decide(REQ)).json();
    expect(body.dsp.bidder).toBe('dspw');
    const imp = await rt.app.inject({ url: pathOf(body.tracking.impression_url) });
    expect(imp.statusCode).toBe(200);
    const events = await collect(consumer, (es) => ofType(es, 'billing').length > 0);
    await consumer.close();
    const [win] = ofType(events, 'win');
    expect(win).toMatchObject({
      id: `win:${body.decision_id}`,
      v: 1,
      data: { decision_id: body.decision_id, bidder: 'dspw', price_micros: 5_500_000 },
    });
    const auctionId = win!.data.auction_id;
    expect(ofType(events, 'loss').map((e) => e.data)).toEqual([
      { auction_id: auctionId, bidder: 'dspx', bid_id: 'dspx-0', loss_reason: 102 },
    ]);
    expect(ofType(events, 'billing').map((e) => [e.id, e.data])).toEqual([
      [
        `billing:${body.decision_id}`,
        { decision_id: body.decision_id, bidder: 'dspw', price_micros: 5_500_000, outcome: 'ok' },
      ],
    ]);
    // The DSP ad's impression feeds per-user engagement like our own ads' impressions.
    const impressions = ofType(events, 'impression');
    expect(impressions.map((e) => e.data.user_key)).toEqual([userKey(DEMO_REQUEST.user.id)]);

    // Budget leases granted for our campaigns' decisions are events too.
    const leases = await rt.userData.eventLog.consumer('test-lease-events', { types: ['lease'] });
    const grants = ofType(await collect(leases, (es) => es.length > 0), 'lease').filter(
      (e) => e.data.action === 'grant',
    );
    await leases.close();
    expect(grants.length).toBeGreaterThan(0);
    for (const g of grants) {
      expect(g.id).toBe(`lease:${g.data.lease_id}:grant`);
      expect(g.data.amount_micros).toBeGreaterThan(0);
      expect(g.data.expires_at).toBeDefined();
    }
  });

  it('a DSP bid above our best campaign wins at the second price, with its markup and nurl', async () => {
    replies = [
      {
        bidder: 'dspa',
        bids: [
          {
            price: 6,
            adm: '<div data-p="${AUCTION_PRICE}">dsp ad</div>',
            nurl: `${base}/win?p=\${AUCTION_PRICE}`,
            burl: `${base}/bill?p=\${AUCTION_PRICE}`,
            adomain: ['brand.example'],
          },
        ],
      },
    ];
    const res = await decide(REQ);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    // Stride's $5 CPM is the runner-up: the DSP pays $5.
    expect(body).toMatchObject({
      placement_id: 'plc_demo_banner',
      advertiser_id: 'dsp:dspa',
      creative_id: 'c1',
      markup: '<div data-p="5">dsp ad</div>',
      price: { model: 'cpm', price_micros: 5_000_000, clearing_cpm_micros: 5_000_000 },
      dsp: { bidder: 'dspa', seat: 'dspa', adomain: ['brand.example'] },
    });
    expect(body.tracking.click_url).toBeNull();
    await vi.waitFor(() => expect(got('/win')).toEqual(['/win?p=5']));
    expect(got('/bill')).toEqual([]); // billing waits for the impression

    const imp = await rt.app.inject({ url: pathOf(body.tracking.impression_url) });
    expect(imp.statusCode).toBe(200);
    await vi.waitFor(() => expect(got('/bill')).toEqual(['/bill?p=5']));
    // A repeated open of the same impression bills nothing more: after it, a later win notice
    // arrives while the billing notices are still one.
    const again = await rt.app.inject({ url: pathOf(body.tracking.impression_url) });
    expect(again.json().recorded).toBe(false);
    replies = [{ bidder: 'dspb', bids: [{ price: 7, adm: '<i/>', nurl: `${base}/win2` }] }];
    expect((await decide(REQ)).json().dsp.bidder).toBe('dspb');
    await vi.waitFor(() => expect(got('/win2')).toHaveLength(1));
    expect(got('/bill')).toHaveLength(1);
  });

  it('the request sent to DSPs: the placement as imp with its floor, schain, no user ids', async () => {
    await decide(DEMO_REQUEST);
    expect(seen).toHaveLength(1);
    const r = seen[0]!;
    expect(r.imp).toHaveLength(1);
    expect(r.imp[0]).toMatchObject({
      tagid: 'plc_demo_banner',
      banner: { w: 300, h: 250 },
      bidfloor: 0.5,
      bidfloorcur: 'USD',
      secure: 1,
    });
    expect(r.user).toBeUndefined();
    expect(r.device).toMatchObject({ os: 'ios', devicetype: 4, geo: { country: 'USA' } });
    expect(r.site).toMatchObject({ domain: 'news.example', publisher: { id: 'news.example' } });
    expect(r.source?.schain?.nodes?.at(-1)?.asi).toBe('adstack.example');
  });

  it('a DSP bid under our best campaign loses, with a loss notice; our campaign pays the DSP price', async () => {
    replies = [
      {
        bidder: 'dspl',
        bids: [{ price: 4.5, adm: '<i/>', lurl: `${base}/loss?r=\${AUCTION_LOSS}` }],
      },
    ];
    const body = (await decide(REQ)).json();
    expect(body.campaign_id).toBe('cmp_demo_stride_runners');
    expect(body.price.price_micros).toBe(4_500_000);
    expect(body.dsp).toBeUndefined();
    await vi.waitFor(() => expect(got('/loss')).toEqual(['/loss?r=102']));
  });

  it('bids without markup, under the placement floor or insecure are rejected (loss codes on lurl)', async () => {
    replies = [
      {
        bidder: 'nomk',
        bids: [{ price: 9, nurl: `${base}/x`, lurl: `${base}/lossm?r=\${AUCTION_LOSS}` }],
      },
      {
        bidder: 'low',
        bids: [{ price: 0.1, adm: '<i/>', lurl: `${base}/lossf?r=\${AUCTION_LOSS}` }],
      },
    ];
    const body = (await decide(DEMO_REQUEST)).json(); // an https:// page: imp.secure = 1
    expect(body.campaign_id).toBe('cmp_demo_stride_runners');
    // The insecure bid is rejected while parsing (a seat-non-bid; no lurl at that stage).
    await vi.waitFor(() => expect(got('/lossm')).toEqual(['/lossm?r=7']));
    await vi.waitFor(() => expect(got('/lossf')).toEqual(['/lossf?r=100']));
  });

  it('a placement without rtb_enabled never calls DSPs', async () => {
    replies = [{ bidder: 'dspa', bids: [{ price: 50, adm: '<i/>' }] }];
    const res = await decide({ ...DEMO_REQUEST, placement_id: 'plc_demo_leaderboard' });
    expect(res.statusCode).toBe(200);
    expect(res.json().dsp).toBeUndefined();
    expect(seen).toHaveLength(0);
  });

  it('an RTB placement no campaign fits is filled by a DSP; without bids it is no fill', async () => {
    const created = await rt.app.inject({
      method: 'POST',
      url: '/v1/admin/placements',
      headers: { 'x-api-key': ADMIN_KEY },
      payload: {
        publisher: 'p.example',
        name: 'Sticky',
        format: 'banner',
        w: 320,
        h: 50,
        rtb_enabled: true,
      },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().rtb_enabled).toBe(true);
    const id = created.json().id as string;
    await vi.waitFor(async () => {
      replies = [{ bidder: 'dspa', bids: [{ price: 1.25, adm: '<i/>', w: 320, h: 50 }] }];
      const res = await decide({ placement_id: id });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ dsp: { bidder: 'dspa' }, w: 320, h: 50 });
      // A lone bid pays the floor (0 here).
      expect(res.json().price.price_micros).toBe(0);
    });
    replies = [];
    const none = await decide({ placement_id: id });
    expect(none.statusCode).toBe(204);
    expect(none.headers['x-adstack-no-fill']).toBe('no_eligible_campaign');
  });

  it('placements default to rtb_enabled false', async () => {
    const created = await rt.app.inject({
      method: 'POST',
      url: '/v1/admin/placements',
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { publisher: 'p.example', name: 'Plain', format: 'banner', w: 300, h: 250 },
    });
    expect(created.json().rtb_enabled).toBe(false);
  });
});

describe('POST /v1/decisions: the DSP wait is capped by the decision deadline', () => {
  // The decision clock is fake (it does not move during a decision), so the time left of the
  // decision's budget when the fan-out starts is the budget less what the HTTP layer already
  // spent (a real, small duration): the handed DSP wait is at most budget − safety margin,
  // whatever the machine's load. Without the cap it would be the 30 ms DSP budget.
  let short: Runtime;
  beforeAll(async () => {
    short = await startRuntime({ ADSTACK_DECISION_BUDGET_MS: '20' });
  });
  afterAll(() => short.close());

  it('a 20 ms decision budget hands DSPs at most 20 − 5 ms (tmax and fan-out deadline)', async () => {
    replies = [{ bidder: 'dspa', bids: [{ price: 6, adm: '<i/>' }] }];
    const res = await short.app.inject({ method: 'POST', url: '/v1/decisions', payload: REQ });
    expect(res.statusCode).toBe(200);
    expect(seen).toHaveLength(1);
    const cap = 20 - DEADLINE_SAFETY_MS;
    expect(seen[0]!.tmax).toBeGreaterThanOrEqual(1);
    expect(seen[0]!.tmax).toBeLessThanOrEqual(cap);
    expect(handedWaitMs[0]).toBeLessThanOrEqual(cap);
  });
});
