/**
 * A `burl` whose first attempt failed survives a restart of the whole server (issue 4 item 5,
 * "retried idempotently"): the same PGlite data folder, a second runtime, the notice sent once
 * more and marked sent. Through the real composition root (runtime → assembleRtb → billing
 * outbox) with a scripted fan-out; notices go to a loopback server that records them.
 * The decision clock is fake: the second runtime starts a minute later, so the stored retry is
 * due; real waits are bounded wait-until loops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOpenRtbBidder } from '../../src/bidders/openrtb/bidder.js';
import { DSP_DEFAULTS } from '../../src/bidders/types.js';
import { loadConfig } from '../../src/config/config.js';
import type { FanOut } from '../../src/exchange/rtb/auction.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { createRuntime, type Runtime } from '../../src/wiring/runtime.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ADMIN_KEY, pathOf } from '../helpers/runtime.js';

let base = '';
let billStatus = 500;
const bills: string[] = [];
let notices: Server;
const dir = mkdtempSync(path.join(tmpdir(), 'adstack-billing-'));

/** One DSP bidding $6 with a burl pointing at the notice server. */
const fanOut: FanOut = {
  async run(request) {
    const bidder = createOpenRtbBidder({ ...DSP_DEFAULTS, id: 'dspa', endpoint: 'http://x/' });
    const built = bidder.buildRequests(request, { tmaxMs: 30, bodies: new Map() });
    if (built.kind !== 'requests') throw new Error('no request built');
    const body = JSON.stringify({
      id: request.id,
      seatbid: [
        {
          seat: 'dspa',
          bid: [
            {
              id: 'b1',
              impid: '1',
              crid: 'c1',
              price: 6,
              adm: '<i/>',
              burl: `${base}/bill?p=\${AUCTION_PRICE}`,
            },
          ],
        },
      ],
    });
    const p = bidder.parseBids(built.sent, built.requests[0]!, { status: 200, body });
    return {
      bids: p.bids.map((b) => ({ ...b, bidder: 'dspa' })),
      rejected: [],
      nonBids: [],
      outcomes: [],
      sent: new Map(),
    };
  },
};

function start(clock: FakeClock): Promise<Runtime> {
  const config = loadConfig({
    ADSTACK_DATA_DIR: dir,
    ADSTACK_PORT: '0',
    ADSTACK_PUBLIC_URL: 'http://ads.test',
    ADSTACK_ADMIN_KEY: ADMIN_KEY,
    ADSTACK_TRACKING_SECRET: 'test-tracking-secret-0123456789',
  });
  return createRuntime(config, {
    demo: true,
    clock,
    loadShed: { utilization: () => 0 },
    rtb: {
      dsps: [],
      fanOut,
      auction: { enforceSecure: false },
      // Short real-time retries and sweeps so the test does not wait for the defaults.
      billing: { baseDelayMs: 1_000, maxDelayMs: 1_000, sweepMs: 100 },
    },
  });
}

beforeAll(async () => {
  notices = createServer((req, res) => {
    if (req.url?.startsWith('/bill') === true) bills.push(req.url);
    res.writeHead(req.url?.startsWith('/bill') === true ? billStatus : 204).end();
  });
  await new Promise<void>((r) => notices.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(notices.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => notices.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe('burl billing across a restart', () => {
  it('a notice whose attempt failed before shutdown is sent by the next process, once', async () => {
    const clock = new FakeClock();
    const first = await start(clock);
    let decisionId = '';
    try {
      const res = await first.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        payload: {
          ...DEMO_REQUEST,
          site: { domain: 'news.example', page: 'http://news.example/' },
        },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().dsp.bidder).toBe('dspa');
      decisionId = res.json().decision_id as string;
      const imp = await first.app.inject({ url: pathOf(res.json().tracking.impression_url) });
      expect(imp.statusCode).toBe(200);
      await vi.waitFor(() => expect(bills).toEqual(['/bill?p=5']), { timeout: 20_000 });
    } finally {
      await first.close(); // the retry (1 s away) is cut: the notice stays pending
    }

    billStatus = 204;
    clock.advance(60_000);
    const second = await start(clock);
    try {
      await vi.waitFor(() => expect(bills).toEqual(['/bill?p=5', '/bill?p=5']), {
        timeout: 30_000,
        interval: 100,
      });
      // The row is closed just after the send returns.
      await vi.waitFor(async () => {
        const rows = await second.storage.driver.query<{ state: string; attempts: number }>(
          'SELECT state, attempts FROM rtb_billing_notices WHERE decision_id = $1',
          [decisionId],
        );
        expect(rows).toEqual([{ state: 'sent', attempts: 2 }]);
      });
    } finally {
      await second.close();
    }
    expect(bills).toHaveLength(2);
  });
});
