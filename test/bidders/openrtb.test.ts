import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createOpenRtbBidder } from '../../src/bidders/openrtb/bidder.js';
import { DSP_DEFAULTS } from '../../src/bidders/types.js';
import { runBidderFixtures } from './runner.js';

runBidderFixtures(
  'openrtb',
  join(dirname(fileURLToPath(import.meta.url)), 'openrtb'),
  createOpenRtbBidder,
);

describe('bidder openrtb: shared bodies', () => {
  it('bidders with the same version, media types, currencies and tmax share one body string', () => {
    const req = { id: 'r', imp: [{ id: '1', banner: { w: 300, h: 250 } }], at: 2 };
    const bodies = new Map<string, string>();
    const mk = (id: string, extra = {}) =>
      createOpenRtbBidder({ ...DSP_DEFAULTS, id, endpoint: `http://${id}.test/`, ...extra });
    const a = mk('a').buildRequests(req, { tmaxMs: 50, bodies });
    const b = mk('b').buildRequests(req, { tmaxMs: 50, bodies });
    const c = mk('c', { ortbVersion: '2.5' }).buildRequests(req, { tmaxMs: 50, bodies });
    const d = mk('d', { tmaxDeductionMs: 10 }).buildRequests(req, { tmaxMs: 50, bodies });
    if (
      a.kind !== 'requests' ||
      b.kind !== 'requests' ||
      c.kind !== 'requests' ||
      d.kind !== 'requests'
    ) {
      throw new Error('expected requests');
    }
    expect(a.requests[0]!.body).toBe(b.requests[0]!.body);
    expect(bodies.size).toBe(3);
    expect(JSON.parse(d.requests[0]!.body).tmax).toBe(40);
  });
});
