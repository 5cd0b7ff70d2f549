import { describe, expect, it } from 'vitest';
import { screenBidPolicy, type PolicyContext } from '../../src/core/openrtb/bid-policy.js';
import type { ParsedBid } from '../../src/core/openrtb/parse-response.js';
import type { Bid, BidRequest, Imp } from '../../src/core/openrtb/types.js';

const imp: Imp = {
  id: '1',
  banner: { w: 300, h: 250, battr: [3] },
  bidfloor: 1,
  bidfloorcur: 'USD',
};
const request: BidRequest = {
  id: 'r',
  imp: [imp],
  bcat: ['IAB25'],
  badv: ['ford.com'],
  bapp: ['com.bad.app'],
};
const EUR_PER_USD = 0.5; // 1 EUR = 2 USD in these tests
const ctx: PolicyContext = {
  request,
  toAuctionMicros: (m, cur) => (cur === 'USD' ? m : cur === 'EUR' ? m / EUR_PER_USD : null),
};
const parsed = (bid: Partial<Bid>, i: Imp = imp, seat = 'dsp1'): ParsedBid => ({
  seat,
  bid: { id: 'b', impid: i.id, price: 2, adm: '<div/>', ...bid },
  imp: i,
  mediaType: 'banner',
  priceMicros: 2_000_000,
  currency: 'USD',
});
const reason = (pb: ParsedBid, cpm = 2_000_000, c: PolicyContext = ctx) =>
  screenBidPolicy(pb, cpm, c)?.reason ?? null;

describe('screenBidPolicy (RULES.md rules 46–50)', () => {
  it('passes a clean bid', () => expect(reason(parsed({}))).toBeNull());
  it('blocks a sub-category of a blocked IAB category (bcat → 209)', () =>
    expect(reason(parsed({ cat: ['IAB25-3'] }))).toBe('category_blocked'));
  it('does not confuse IAB2 with IAB25', () =>
    expect(
      reason(parsed({ cat: ['IAB2-1'] }, imp), 2_000_000, {
        ...ctx,
        request: { ...request, bcat: ['IAB2'] },
      }),
    ).toBe('category_blocked'));
  it('blocks an advertiser domain and its sub-domains, with scheme and path (badv → 205)', () =>
    expect(reason(parsed({ adomain: ['https://www.ford.com/cars'] }))).toBe('advertiser_blocked'));
  it('does not block a domain that only ends with the same letters', () =>
    expect(reason(parsed({ adomain: ['notford.com'] }))).toBeNull());
  it('blocks an app bundle (bapp → 215)', () =>
    expect(reason(parsed({ bundle: 'com.bad.app' }))).toBe('app_bundle_blocked'));
  it('blocks a creative attribute of the media object (battr → 210)', () =>
    expect(reason(parsed({ attr: [1, 3] }))).toBe('attribute_blocked'));
  it('blocks seats outside wseat and inside bseat (104)', () => {
    expect(
      reason(parsed({}), 2_000_000, { ...ctx, request: { ...request, wseat: ['other'] } }),
    ).toBe('seat_blocked');
    expect(
      reason(parsed({}), 2_000_000, { ...ctx, request: { ...request, bseat: ['dsp1'] } }),
    ).toBe('seat_blocked');
  });
  it('drops http: markup on a secure imp (207)', () =>
    expect(reason(parsed({ adm: '<img src="http://x/y.gif">' }, { ...imp, secure: 1 }))).toBe(
      'not_secure',
    ));
  it('keeps https markup on a secure imp', () =>
    expect(
      reason(parsed({ adm: '<img src="https://x/y.gif">' }, { ...imp, secure: 1 })),
    ).toBeNull());
  it('drops a bid below the imp floor (100)', () =>
    expect(reason(parsed({}), 999_999)).toBe('below_floor'));

  describe('deals (rules 46, 47)', () => {
    const dealImp: Imp = {
      ...imp,
      bidfloor: 1,
      pmp: {
        private_auction: 1,
        deals: [{ id: 'D1', bidfloor: 3, bidfloorcur: 'EUR', wseat: ['dsp1'] }, { id: 'D2' }],
      },
    };
    it('requires a dealid in a private auction (4)', () =>
      expect(reason(parsed({}, dealImp))).toBe('invalid_deal'));
    it('rejects an unknown dealid (4)', () =>
      expect(reason(parsed({ dealid: 'NOPE' }, dealImp))).toBe('invalid_deal'));
    it('rejects a seat outside the deal wseat', () =>
      expect(reason(parsed({ dealid: 'D1' }, dealImp, 'dsp2'))).toBe('invalid_deal'));
    it('compares the deal floor in its own currency, not the imp one (rule 30)', () => {
      // 3 EUR = 6 USD: a 5 USD bid is under it, a 7 USD bid clears it.
      expect(reason(parsed({ dealid: 'D1' }, dealImp), 5_000_000)).toBe('below_deal_floor');
      expect(reason(parsed({ dealid: 'D1' }, dealImp), 7_000_000)).toBeNull();
    });
    it('holds a deal without its own floor to the imp floor', () => {
      expect(reason(parsed({ dealid: 'D2' }, dealImp), 900_000)).toBe('below_deal_floor');
    });
  });
});
