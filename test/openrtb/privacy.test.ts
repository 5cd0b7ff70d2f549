import { GVL, TCModel, TCString } from '@iabtcf/core';
import { describe, expect, it } from 'vitest';
import type { BidRequest } from '../../src/core/openrtb/types.js';
import {
  appendSchainNode,
  applyPrivacy,
  decidePrivacy,
  truncateIp,
} from '../../src/exchange/rtb/privacy.js';

/** A real TCF v2 string with the given purposes consented (encoded by @iabtcf/core). */
function tcString(purposes: number[]): string {
  const p = (id: number) => ({ id, name: `p${id}`, description: '', descriptionLegal: '' });
  const gvl = new GVL({
    gvlSpecificationVersion: 2,
    vendorListVersion: 1,
    tcfPolicyVersion: 2,
    lastUpdated: '2020-01-01T00:00:00Z',
    purposes: Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => [i, p(i)])),
    specialPurposes: {},
    features: {},
    specialFeatures: {},
    vendors: {},
    stacks: {},
  } as unknown as ConstructorParameters<typeof GVL>[0]);
  const m = new TCModel(gvl);
  m.cmpId = 10;
  m.cmpVersion = 1;
  m.purposeConsents.set(purposes);
  return TCString.encode(m);
}

const full: BidRequest = {
  id: 'r',
  imp: [{ id: '1', banner: { w: 1, h: 1 } }],
  user: {
    id: 'u',
    buyeruid: 'b',
    yob: 1980,
    eids: [{ source: 's', uids: [{ id: 'x' }] }],
    geo: { lat: 51.50735, lon: -0.12776, zip: 'SW1' },
  },
  device: {
    ip: '198.51.100.23',
    ipv6: '2001:db8:85a3:1234:5678::1',
    ifa: 'ifa',
    didmd5: 'm',
    geo: { lat: 51.50735, lon: -0.12776, country: 'GBR' },
  },
};

describe('privacy before fan-out (issue 4 item 6)', () => {
  it('GDPR with purposes 1, 3, 4 consented keeps ids and personalisation', () => {
    const d = decidePrivacy({
      ...full,
      regs: { gdpr: 1 },
      user: { ...full.user, consent: tcString([1, 2, 3, 4]) },
    });
    expect(d).toEqual({
      idsAllowed: true,
      personalisedTargeting: true,
      preciseGeoAllowed: true,
      reasons: [],
    });
  });

  it('GDPR with purpose 1 only: ids yes, personalised targeting no', () => {
    const d = decidePrivacy({ ...full, regs: { gdpr: 1 }, user: { consent: tcString([1]) } });
    expect(d).toEqual({
      idsAllowed: true,
      personalisedTargeting: false,
      preciseGeoAllowed: true,
      reasons: [],
    });
  });

  it('GDPR without consent, or with an undecodable string, strips ids, truncates IPs, coarsens geo', () => {
    for (const consent of [undefined, 'not-a-tc-string', tcString([2, 3, 4])]) {
      const req = {
        ...full,
        regs: { gdpr: 1 },
        user: { ...full.user, ...(consent !== undefined ? { consent } : {}) },
      };
      const d = decidePrivacy(req);
      expect(d.reasons).toEqual(['gdpr_no_consent']);
      const out = applyPrivacy(req, d);
      expect(out.user).toEqual({
        ...(consent !== undefined ? { consent } : {}),
        geo: { lat: 51.51, lon: -0.13 },
      });
      expect(out.device).toEqual({
        ip: '198.51.100.0',
        ipv6: '2001:db8:85a3::',
        geo: { lat: 51.51, lon: -0.13, country: 'GBR' },
      });
    }
    expect(full.user?.id).toBe('u'); // the caller's request is not mutated
  });

  it('us_privacy opt-out of sale, LMT and DNT strip ids and personalisation', () => {
    expect(decidePrivacy({ ...full, regs: { us_privacy: '1YYN' } }).reasons).toEqual([
      'ccpa_opt_out',
    ]);
    expect(decidePrivacy({ ...full, regs: { us_privacy: '1YNN' } }).idsAllowed).toBe(true);
    expect(decidePrivacy({ ...full, device: { lmt: 1 } }).reasons).toEqual(['limit_ad_tracking']);
    expect(decidePrivacy({ ...full, device: { dnt: 1 } }).personalisedTargeting).toBe(false);
  });

  it('COPPA drops user geo and lat/lon entirely', () => {
    const req = { ...full, regs: { coppa: 1 } };
    const out = applyPrivacy(req, decidePrivacy(req));
    expect(out.user).toEqual({});
    expect(out.device?.geo).toEqual({ country: 'GBR' });
  });

  it('truncates IPv4 to /24 and IPv6 to /48', () => {
    expect(truncateIp('203.0.113.99')).toBe('203.0.113.0');
    expect(truncateIp('2001:db8::1')).toBe('2001:db8:0::');
  });

  it('appends our schain node after the upstream ones (RULES.md rule 29)', () => {
    const req: BidRequest = {
      ...full,
      app: { publisher: { id: 'p7' } },
      source: {
        schain: { complete: 1, ver: '1.0', nodes: [{ asi: 'ssp.example', sid: '1', hp: 1 }] },
      },
    };
    const out = appendSchainNode(req, { asi: 'adstack.example' });
    expect(out.source?.schain).toEqual({
      complete: 1,
      ver: '1.0',
      nodes: [
        { asi: 'ssp.example', sid: '1', hp: 1 },
        { asi: 'adstack.example', sid: 'p7', hp: 1 },
      ],
    });
    expect(req.source?.schain?.nodes).toHaveLength(1);
  });
});
