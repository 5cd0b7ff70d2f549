/**
 * The one JSON-fixture runner every bidder is tested through (DESIGN.md §4; the prebid-server
 * `adapterstest` model). For a bidder folder `test/bidders/<name>/`:
 *
 * - `exemplary/*.json` must produce no errors and no rejected bids;
 * - `supplemental/*.json` cover failures and edge cases and state what they expect.
 *
 * Fixture shape:
 *
 *   { "description": "…",
 *     "config": { …DspConfig overrides },            // merged over DSP_DEFAULTS + id/endpoint
 *     "tmaxMs": 100,                                 // BuildContext.tmaxMs (default 100)
 *     "mockBidRequest": { …BidRequest },
 *     "expectedSkip": 202,                           // instead of httpCalls: no request is sent
 *     "httpCalls": [ { "expectedRequest": { "uri", "headers"?, "body" },
 *                      "mockResponse": { "status", "body"? } } ],
 *     "expectedBids": [ { "seat", "impid", "price_micros", "currency", "media_type", "bid_adjustment"? } ],
 *     "expectedRejected": [ { "reason", "impid"? } ],
 *     "expectedErrors": [ { "kind", "contains" } ],
 *     "expectedNbr": 1 }
 *
 * `expectedRequest.headers` is a subset check; `body` is compared as parsed JSON, exactly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BidRequest } from '../../src/core/openrtb/types.js';
import type { RejectedBid } from '../../src/core/openrtb/parse-response.js';
import {
  DSP_DEFAULTS,
  type Bidder,
  type BidderBid,
  type BidderError,
  type DspConfig,
} from '../../src/bidders/types.js';

interface Fixture {
  description: string;
  config?: Partial<DspConfig>;
  tmaxMs?: number;
  mockBidRequest: BidRequest;
  expectedSkip?: number;
  httpCalls?: {
    expectedRequest: { uri: string; headers?: Record<string, string>; body: unknown };
    mockResponse: { status: number; body?: unknown };
  }[];
  expectedBids?: {
    seat: string;
    impid: string;
    price_micros: number;
    currency: string;
    media_type: string;
    bid_adjustment?: number;
  }[];
  expectedRejected?: { reason: string; impid?: string }[];
  expectedErrors?: { kind: string; contains: string }[];
  expectedNbr?: number;
}

function load(dir: string): [string, Fixture][] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return names.sort().map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture]);
}

function runOne(f: Fixture, make: (c: DspConfig) => Bidder, exemplary: boolean): void {
  const config: DspConfig = {
    ...DSP_DEFAULTS,
    id: 'testdsp',
    endpoint: 'http://dsp.test/bid',
    ...f.config,
  };
  const bidder = make(config);
  const built = bidder.buildRequests(structuredClone(f.mockBidRequest), {
    tmaxMs: f.tmaxMs ?? 100,
    bodies: new Map(),
  });
  if (f.expectedSkip !== undefined) {
    expect(built.kind).toBe('skip');
    if (built.kind === 'skip') expect(built.status).toBe(f.expectedSkip);
    return;
  }
  expect(built.kind, built.kind === 'skip' ? built.why : '').toBe('requests');
  if (built.kind !== 'requests') return;
  const calls = f.httpCalls ?? [];
  expect(built.requests.length).toBe(calls.length);

  const bids: BidderBid[] = [];
  const rejected: RejectedBid[] = [];
  const errors: BidderError[] = [];
  let nbr: number | null = null;
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!;
    const req = built.requests[i]!;
    expect(req.uri).toBe(call.expectedRequest.uri);
    expect(JSON.parse(req.body)).toEqual(call.expectedRequest.body);
    for (const [k, v] of Object.entries(call.expectedRequest.headers ?? {})) {
      expect(req.headers[k.toLowerCase()], `header ${k}`).toBe(v);
    }
    const mock = call.mockResponse;
    const body =
      mock.body === undefined
        ? ''
        : typeof mock.body === 'string'
          ? mock.body
          : JSON.stringify(mock.body);
    const parsed = bidder.parseBids(built.sent, req, { status: mock.status, body });
    bids.push(...parsed.bids);
    rejected.push(...parsed.rejected);
    errors.push(...parsed.errors);
    nbr = parsed.nbr ?? nbr;
  }
  if (exemplary) {
    expect(errors).toEqual([]);
    expect(rejected).toEqual([]);
  }
  expect(
    bids.map((b) => ({
      seat: b.seat,
      impid: b.bid.impid,
      price_micros: b.priceMicros,
      currency: b.currency,
      media_type: b.mediaType,
      bid_adjustment: b.bidAdjustment,
    })),
  ).toEqual((f.expectedBids ?? []).map((b) => ({ bid_adjustment: 1, ...b })));
  expect(
    rejected.map((r) => ({ reason: r.reason, ...(r.impid !== null ? { impid: r.impid } : {}) })),
  ).toEqual((f.expectedRejected ?? []).map((r) => expect.objectContaining(r)));
  expect(errors.length).toBe(f.expectedErrors?.length ?? 0);
  (f.expectedErrors ?? []).forEach((e, i) => {
    expect(errors[i]?.kind).toBe(e.kind);
    expect(errors[i]?.message).toContain(e.contains);
  });
  if (f.expectedNbr !== undefined) expect(nbr).toBe(f.expectedNbr);
}

/** Registers one vitest case per fixture file of `dir/exemplary` and `dir/supplemental`. */
export function runBidderFixtures(name: string, dir: string, make: (c: DspConfig) => Bidder): void {
  const exemplary = load(join(dir, 'exemplary'));
  const supplemental = load(join(dir, 'supplemental'));
  describe(`bidder ${name}: fixtures`, () => {
    it('has exemplary fixtures', () => expect(exemplary.length).toBeGreaterThan(0));
    for (const [file, f] of exemplary)
      it(`exemplary/${file}: ${f.description}`, () => runOne(f, make, true));
    for (const [file, f] of supplemental)
      it(`supplemental/${file}: ${f.description}`, () => runOne(f, make, false));
  });
}
