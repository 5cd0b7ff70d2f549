import { describe, expect, it } from 'vitest';
import {
  formatMicros,
  macroValues,
  MACROS,
  substituteMacros,
} from '../../src/core/openrtb/macros.js';
import { readJson } from './corpus.js';

describe('substituteMacros (2.6 §4.4; RULES.md rules 58–59)', () => {
  const values = macroValues({
    auctionId: 'req-1',
    bidResponseId: 'resp-9',
    impId: 'imp-1',
    seat: 'seat-7',
    adId: 'ad-3',
    clearingPriceMicros: 1_250_000,
    bidPriceMicros: 2_500_000,
    currency: 'USD',
    lossReason: 102,
    minToWinMicros: 1_260_000,
    multiplier: 14.2,
    impTsMs: 1_700_000_000_000,
  });

  it('substitutes every supported macro', () => {
    const text = MACROS.map((m) => `${m}=\${${m}}`).join('&');
    const out = substituteMacros(text, {
      ...values,
      AUCTION_DISCOUNT_PCT: '0',
      AUCTION_DISCOUNT_CPM: '0',
    });
    expect(out).toBe(
      'AUCTION_ID=req-1&AUCTION_BID_ID=resp-9&AUCTION_IMP_ID=imp-1&AUCTION_SEAT_ID=seat-7&AUCTION_AD_ID=ad-3' +
        '&AUCTION_PRICE=1.25&AUCTION_CURRENCY=USD&AUCTION_MBR=0.5&AUCTION_LOSS=102&AUCTION_MIN_TO_WIN=1.26' +
        '&AUCTION_MULTIPLIER=14.2&AUCTION_IMP_TS=1700000000000&AUCTION_DISCOUNT_PCT=0&AUCTION_DISCOUNT_CPM=0',
    );
  });

  it('replaces an absent value with the empty string, or AUDIT in audit mode', () => {
    expect(substituteMacros('p=${AUCTION_PRICE}&l=${AUCTION_LOSS}', {})).toBe('p=&l=');
    expect(substituteMacros('p=${AUCTION_PRICE}', {}, { audit: true })).toBe('p=AUDIT');
  });

  it('is plain replacement without regard to syntax, and leaves non-auction ${…} alone', () => {
    expect(substituteMacros('<img src="x?${AUCTION_PRICE}">${OTHER}', values)).toBe(
      '<img src="x?1.25">${OTHER}',
    );
  });

  it('encodes :B64 values and blanks unknown encodings', () => {
    expect(substituteMacros('${AUCTION_PRICE:B64}', values)).toBe(btoa('1.25'));
    expect(substituteMacros('${AUCTION_PRICE:ROT13}', values)).toBe('');
  });

  it('substitutes in corpus markup and notice URLs (silverpush adm, audienceNetwork lurl)', () => {
    type Calls = {
      mockResponse: { body: { seatbid: { bid: { adm: string; burl: string }[] }[] } };
    }[];
    const sp = readJson('bid-responses/valid/pbs-ad__silverpush__banner.json') as {
      httpCalls: Calls;
    };
    const bid = sp.httpCalls[0]!.mockResponse.body.seatbid[0]!.bid[0]!;
    const both = `${bid.adm}\n${bid.burl}`;
    for (const m of [
      'AUCTION_PRICE',
      'AUCTION_ID',
      'AUCTION_BID_ID',
      'AUCTION_IMP_ID',
      'AUCTION_SEAT_ID',
      'AUCTION_AD_ID',
    ]) {
      expect(both).toContain(`\${${m}}`);
    }
    const out = substituteMacros(both, values);
    expect(out).not.toMatch(/\$\{AUCTION_[A-Z_]+\}/);
    expect(out).toContain('req-1');
    const an = readJson('bid-responses/valid/pbs-ad__audienceNetwork__banner-app.json') as {
      httpcalls: { mockResponse: { body: { seatbid: { bid: { lurl: string }[] }[] } } }[];
    };
    const lurl = an.httpcalls[0]!.mockResponse.body.seatbid[0]!.bid[0]!.lurl;
    expect(substituteMacros(lurl, values)).toContain('ortb_loss_code=102&clearing_price=1.25');
  });

  it('formats micros as plain decimals', () => {
    expect(formatMicros(1_250_000)).toBe('1.25');
    expect(formatMicros(5)).toBe('0.000005');
    expect(formatMicros(3_000_000)).toBe('3');
  });
});
