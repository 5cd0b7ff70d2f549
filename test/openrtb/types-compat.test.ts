/**
 * Our OpenRTB types (src/core/openrtb/types.ts) are hand-written because core/ imports no
 * package. This proves at compile time (npm run typecheck) that every `iab-openrtb` 2.6
 * BidRequest/BidResponse is one of ours: same field names and compatible shapes. The other
 * direction does not hold on purpose: iab-openrtb types enumerations as TypeScript enums, and
 * we must accept enum values no list knows yet (2.6 §2.6, RULES.md rule 8), so ours are `number`.
 */
import type { BidRequest as IabBidRequest, BidResponse as IabBidResponse } from 'iab-openrtb/v26';
import { describe, expect, it } from 'vitest';
import type { BidRequest, BidResponse } from '../../src/core/openrtb/types.js';
import { validateBidRequest } from '../../src/core/openrtb/validate-request.js';
import { readJson } from './corpus.js';

const fromIabRequest = (r: IabBidRequest): BidRequest => r;
const fromIabResponse = (r: IabBidResponse): BidResponse => r;

describe('types compatible with iab-openrtb/v26', () => {
  it('an iab-openrtb-typed corpus request validates and keeps its fields', () => {
    const iab = readJson('valid-requests/iab26__6.2.3-mobile-app.json') as unknown as IabBidRequest;
    const v = validateBidRequest(structuredClone(fromIabRequest(iab)));
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.request.imp[0]?.id).toBe(iab.imp[0]?.id);
    const resp: IabBidResponse = {
      id: 'x',
      seatbid: [{ bid: [{ id: 'b', impid: '1', price: 1 }] }],
    };
    expect(fromIabResponse(resp).seatbid?.[0]?.bid[0]?.price).toBe(1);
  });
});
