/**
 * GPP (`regs.gpp`, `regs.gpp_sid`) before fan-out: real GPP strings encoded with the IAB's
 * library (@iabgpp/cmpapi), decoded by privacy.ts; US opt-outs, a known child, and the TCF EU
 * v2 section decide ids and personalisation like the TCF path.
 */
import { GppModel } from '@iabgpp/cmpapi';
import { describe, expect, it } from 'vitest';
import type { BidRequest } from '../../src/core/openrtb/types.js';
import { applyPrivacy, decideGpp, decidePrivacy } from '../../src/exchange/rtb/privacy.js';

/** A GPP string with the given sections and field values. */
function gpp(fields: [section: string, field: string, value: unknown][]): string {
  const m = new GppModel();
  for (const [s, f, v] of fields) m.setFieldValue(s, f, v);
  return m.encode();
}

const USNAT = 7;
const USCA = 8;
const TCFEU = 2;

const base: BidRequest = {
  id: 'r',
  imp: [{ id: '1', banner: { w: 1, h: 1 } }],
  user: { id: 'u', buyeruid: 'b', eids: [{ source: 's', uids: [{ id: 'x' }] }] },
  device: { ip: '203.0.113.77', ifa: 'ifa-1' },
};
const withGpp = (g: string, sids?: number[]): BidRequest => ({
  ...base,
  regs: { gpp: g, ...(sids !== undefined ? { gpp_sid: sids } : {}) },
});

describe('GPP', () => {
  it('US national: no opt-out keeps ids and personalisation', () => {
    const g = gpp([
      ['usnat', 'SaleOptOutNotice', 1],
      ['usnat', 'SaleOptOut', 2],
      ['usnat', 'TargetedAdvertisingOptOut', 2],
    ]);
    const d = decidePrivacy(withGpp(g, [USNAT]));
    expect(d).toEqual({ idsAllowed: true, personalisedTargeting: true, reasons: [] });
  });

  it.each([
    ['SaleOptOut', 1],
    ['SharingOptOut', 1],
    ['TargetedAdvertisingOptOut', 1],
  ])('US national: %s = %s strips ids and personalisation', (field, value) => {
    const req = withGpp(gpp([['usnat', field, value]]), [USNAT]);
    const d = decidePrivacy(req);
    expect(d.idsAllowed).toBe(false);
    expect(d.personalisedTargeting).toBe(false);
    expect(d.reasons).toEqual(['gpp_us_opt_out']);
    const out = applyPrivacy(req, d);
    expect(out.user?.id).toBeUndefined();
    expect(out.user?.eids).toBeUndefined();
    expect(out.device?.ifa).toBeUndefined();
    expect(out.device?.ip).toBe('203.0.113.0');
    expect(out.regs?.gpp).toBe(req.regs?.gpp); // the signal is forwarded
  });

  it('a state section (California) with Global Privacy Control is an opt-out', () => {
    const d = decidePrivacy(withGpp(gpp([['usca', 'Gpc', true]]), [USCA]));
    expect(d.reasons).toEqual(['gpp_us_opt_out']);
    expect(d.idsAllowed).toBe(false);
  });

  it('a known child without consent strips ids', () => {
    const d = decidePrivacy(
      withGpp(gpp([['usnat', 'KnownChildSensitiveDataConsents', [1, 0]]]), [USNAT]),
    );
    expect(d.reasons).toEqual(['gpp_known_child']);
    expect(d.idsAllowed).toBe(false);
  });

  it('only the sections in gpp_sid apply', () => {
    const g = gpp([
      ['usnat', 'SaleOptOut', 1],
      ['usca', 'SaleOptOut', 2],
    ]);
    expect(decidePrivacy(withGpp(g, [USCA])).idsAllowed).toBe(true);
    expect(decidePrivacy(withGpp(g, [USNAT])).idsAllowed).toBe(false);
    // Without gpp_sid every section of the string applies.
    expect(decidePrivacy(withGpp(g)).idsAllowed).toBe(false);
    // A listed section that the string lacks is ignored.
    expect(decidePrivacy(withGpp(gpp([['usca', 'SaleOptOut', 2]]), [USNAT])).idsAllowed).toBe(true);
  });

  it('the US Privacy section (6) opts out with OptOutSale = Y', () => {
    const g = gpp([
      ['uspv1', 'Notice', 'Y'],
      ['uspv1', 'OptOutSale', 'Y'],
      ['uspv1', 'LspaCovered', 'N'],
    ]);
    expect(decidePrivacy(withGpp(g, [6])).reasons).toEqual(['gpp_us_opt_out']);
  });

  it('TCF EU v2 section: purpose 1 gates ids, purposes 3 and 4 personalisation', () => {
    const consents = (ids: number[]) => Array.from({ length: 24 }, (_, i) => ids.includes(i + 1));
    const all = gpp([['tcfeuv2', 'PurposeConsents', consents([1, 3, 4])]]);
    expect(decidePrivacy(withGpp(all, [TCFEU]))).toEqual({
      idsAllowed: true,
      personalisedTargeting: true,
      reasons: [],
    });
    const storageOnly = gpp([['tcfeuv2', 'PurposeConsents', consents([1])]]);
    expect(decidePrivacy(withGpp(storageOnly, [TCFEU]))).toEqual({
      idsAllowed: true,
      personalisedTargeting: false,
      reasons: [],
    });
    const none = gpp([['tcfeuv2', 'PurposeConsents', consents([3, 4])]]);
    expect(decidePrivacy(withGpp(none, [TCFEU]))).toEqual({
      idsAllowed: false,
      personalisedTargeting: true,
      reasons: ['gdpr_no_consent'],
    });
  });

  it('a string that does not decode is no consent', () => {
    const d = decidePrivacy(withGpp('DBABLA~not-a-section!!', [USNAT]));
    expect(d).toEqual({
      idsAllowed: false,
      personalisedTargeting: false,
      reasons: ['gpp_invalid'],
    });
    expect(decideGpp('garbage', undefined).valid).toBe(false);
  });
});
