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
    expect(d).toEqual({
      idsAllowed: true,
      personalisedTargeting: true,
      preciseGeoAllowed: true,
      reasons: [],
    });
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
      preciseGeoAllowed: true,
      reasons: [],
    });
    const storageOnly = gpp([['tcfeuv2', 'PurposeConsents', consents([1])]]);
    expect(decidePrivacy(withGpp(storageOnly, [TCFEU]))).toEqual({
      idsAllowed: true,
      personalisedTargeting: false,
      preciseGeoAllowed: true,
      reasons: [],
    });
    const none = gpp([['tcfeuv2', 'PurposeConsents', consents([3, 4])]]);
    expect(decidePrivacy(withGpp(none, [TCFEU]))).toEqual({
      idsAllowed: false,
      personalisedTargeting: true,
      preciseGeoAllowed: false,
      reasons: ['gdpr_no_consent'],
    });
  });

  it('a string that does not decode is no consent', () => {
    const d = decidePrivacy(withGpp('DBABLA~not-a-section!!', [USNAT]));
    expect(d).toEqual({
      idsAllowed: false,
      personalisedTargeting: false,
      preciseGeoAllowed: false,
      reasons: ['gpp_invalid'],
    });
    expect(decideGpp('garbage', undefined).valid).toBe(false);
  });

  describe('Canada (TCF Canada v1, section 5)', () => {
    const TCFCA = 5;
    /** Purposes (1-based) with express / implied consent, and special feature 1 (precise geo). */
    const ca = (express: number[], implied: number[], preciseGeo: boolean) => {
      const on = (ps: number[]) => Array.from({ length: 24 }, (_, i) => ps.includes(i + 1));
      return gpp([
        ['tcfcav1', 'CmpId', 5],
        ['tcfcav1', 'PurposesExpressConsent', on(express)],
        ['tcfcav1', 'PurposesImpliedConsent', on(implied)],
        [
          'tcfcav1',
          'SpecialFeatureExpressConsent',
          Array.from({ length: 12 }, (_, i) => i === 0 && preciseGeo),
        ],
      ]);
    };
    const located: BidRequest = {
      ...base,
      device: { ...base.device, geo: { lat: 45.501689, lon: -73.567256, zip: 'H2Y 1C6' } },
    };

    it('purpose 1 (express) and 3, 4 (implied) with precise geo: nothing stripped', () => {
      const req = { ...located, regs: { gpp: ca([1], [3, 4], true), gpp_sid: [TCFCA] } };
      const d = decidePrivacy(req);
      expect(d).toEqual({
        idsAllowed: true,
        personalisedTargeting: true,
        preciseGeoAllowed: true,
        reasons: [],
      });
      expect(applyPrivacy(req, d)).toBe(req);
    });

    it('without purpose 1 consent: ids stripped (gpp_ca_no_consent)', () => {
      const req = { ...located, regs: { gpp: ca([3, 4], [], true), gpp_sid: [TCFCA] } };
      const d = decidePrivacy(req);
      expect(d.idsAllowed).toBe(false);
      expect(d.personalisedTargeting).toBe(true);
      expect(d.reasons).toEqual(['gpp_ca_no_consent']);
      const out = applyPrivacy(req, d);
      expect(out.user?.id).toBeUndefined();
      expect(out.device?.ifa).toBeUndefined();
    });

    it('without purposes 3 and 4: no personalisation, ids kept', () => {
      const d = decidePrivacy({ ...located, regs: { gpp: ca([1], [3], true), gpp_sid: [TCFCA] } });
      expect(d).toMatchObject({ idsAllowed: true, personalisedTargeting: false });
    });

    it('without express consent to precise geolocation: geo coarsened, ids kept', () => {
      const req = { ...located, regs: { gpp: ca([1, 3, 4], [], false), gpp_sid: [TCFCA] } };
      const d = decidePrivacy(req);
      expect(d).toEqual({
        idsAllowed: true,
        personalisedTargeting: true,
        preciseGeoAllowed: false,
        reasons: ['gpp_ca_no_precise_geo'],
      });
      const out = applyPrivacy(req, d);
      expect(out.device?.geo).toEqual({ lat: 45.5, lon: -73.57 });
      expect(out.user?.id).toBe('u');
      expect(out.device?.ifa).toBe('ifa-1');
      expect(out.device?.ip).toBe('203.0.113.77');
      expect(req.device?.geo?.zip).toBe('H2Y 1C6'); // the caller's request is not mutated
    });
  });

  describe('US sensitive data (SensitiveDataProcessing)', () => {
    const located: BidRequest = {
      ...base,
      user: { ...base.user, geo: { lat: 37.774929, lon: -122.419416, zip: '94103' } },
      device: { ...base.device, geo: { lat: 37.774929, lon: -122.419416 } },
    };
    const sens = (section: string, n: number, at: number, value: number) =>
      gpp([
        [
          section,
          'SensitiveDataProcessing',
          Array.from({ length: n }, (_, i) => (i === at ? value : 2)),
        ],
      ]);

    it.each([
      ['usnat', USNAT, 16, 7],
      ['usnat', USNAT, 16, 2],
      ['usca', USCA, 9, 0],
    ])(
      '%s: a category not consented / opted out (1) coarsens geo, ids kept',
      (section, sid, n, at) => {
        const req = { ...located, regs: { gpp: sens(section, n, at, 1), gpp_sid: [sid] } };
        const d = decidePrivacy(req);
        expect(d).toEqual({
          idsAllowed: true,
          personalisedTargeting: true,
          preciseGeoAllowed: false,
          reasons: ['gpp_sensitive_data_opt_out'],
        });
        const out = applyPrivacy(req, d);
        expect(out.device?.geo).toEqual({ lat: 37.77, lon: -122.42 });
        expect(out.user?.geo).toEqual({ lat: 37.77, lon: -122.42 });
        expect(out.user?.id).toBe('u');
      },
    );

    it('every category consented (2) or not applicable (0): geo kept', () => {
      for (const v of [0, 2]) {
        const req = { ...located, regs: { gpp: sens('usnat', 16, 7, v), gpp_sid: [USNAT] } };
        const d = decidePrivacy(req);
        expect(d.preciseGeoAllowed).toBe(true);
        expect(applyPrivacy(req, d)).toBe(req);
      }
    });

    it('a sensitive-data opt-out in a section not listed in gpp_sid does not apply', () => {
      const req = { ...located, regs: { gpp: sens('usca', 9, 0, 1), gpp_sid: [USNAT] } };
      expect(decidePrivacy(req).preciseGeoAllowed).toBe(true);
    });
  });
});
