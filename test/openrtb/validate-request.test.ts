import { describe, expect, it } from 'vitest';
import type { RequestProblem } from '../../src/core/openrtb/validate-request.js';
import { RequestWarning, validateBidRequest } from '../../src/core/openrtb/validate-request.js';
import type { BidRequest } from '../../src/core/openrtb/types.js';
import { requestPayload, rows } from './corpus.js';

/** What each invalid corpus file must be rejected for: problem code and the path it names. */
const EXPECTED_REJECTIONS: Record<string, { problem: RequestProblem; path: string }> = {
  'pbs-ep__empty-object.json': { problem: 'missing_id', path: 'id' },
  'pbs-ep__malformed-bid-request.json': { problem: 'not_an_object', path: 'request' },
  'pbs-ep__only-request-id.json': { problem: 'missing_imp', path: 'imp' },
  'pbs-ep__imp-empty-object.json': { problem: 'imp_id_missing', path: 'imp[0].id' },
  'pbs-ep__imp-id-duplicates.json': { problem: 'imp_id_duplicate', path: 'imp[1].id' },
  'pbs-ep__imp-no-type.json': { problem: 'imp_no_media_type', path: 'imp[0]' },
  'pbs-ep__banner-no-size.json': { problem: 'banner_no_size', path: 'imp[0].banner' },
  'pbs-ep__banner-w-negative.json': { problem: 'out_of_range', path: 'imp[0].banner.w' },
  'pbs-ep__banner-wmin.json': { problem: 'banner_no_size', path: 'imp[0].banner' },
  'pbs-ep__format-two-widths.json': {
    problem: 'banner_format_invalid',
    path: 'imp[0].banner.format[0]',
  },
  'pbs-ep__video-mimes-empty.json': { problem: 'video_mimes_missing', path: 'imp[0].video.mimes' },
  'pbs-ep__native-empty.json': { problem: 'native_request_missing', path: 'imp[0].native.request' },
  'pbs-ep__deal-no-id.json': { problem: 'deal_id_missing', path: 'imp[0].pmp.deals[0].id' },
  'pbs-ep__site-app-both.json': { problem: 'multiple_inventory_objects', path: 'app' },
  'pbs-ep__tmax-negative.json': { problem: 'out_of_range', path: 'tmax' },
  'pbs-ep__regs-gdpr-invalid.json': { problem: 'out_of_range', path: 'regs.gdpr' },
  'pbs-ep__user-ext-consent-int.json': { problem: 'wrong_type', path: 'user.ext.consent' },
  'pbs-ep-native__assets-with-dup-ids.json': {
    problem: 'native_assets_invalid',
    path: 'imp[0].native.request.assets[1].id',
  },
};

const base = (f: string): string => f.slice(f.lastIndexOf('/') + 1);

describe('corpus: valid-requests are accepted (RULES.md §3)', () => {
  for (const row of rows('valid-requests')) {
    it(base(row.file), () => {
      const v = validateBidRequest(structuredClone(requestPayload(row)));
      expect(v.ok ? null : v.rejection).toBeNull();
    });
  }
});

describe('corpus: invalid-requests are rejected naming the problem', () => {
  for (const row of rows('invalid-requests')) {
    const name = base(row.file);
    if (name === 'DERIVED__huge-2600-imps.json') {
      // Structurally valid; only the 256 KiB body cap of the endpoint rejects it
      // (test/openrtb/endpoint.test.ts). Proves the validator itself does not.
      it(`${name} is structurally valid (size policy is the endpoint's)`, () => {
        const v = validateBidRequest(requestPayload(row));
        expect(v.ok).toBe(true);
      });
      continue;
    }
    it(name, () => {
      const expected = EXPECTED_REJECTIONS[name];
      expect(expected, `add ${name} to EXPECTED_REJECTIONS`).toBeDefined();
      const v = validateBidRequest(requestPayload(row));
      expect(v.ok).toBe(false);
      if (v.ok) return;
      expect({ problem: v.rejection.problem, path: v.rejection.path }).toEqual(expected);
      expect(v.rejection.message.startsWith(`${v.rejection.path}: `)).toBe(true);
    });
  }
});

describe('2.5 → 2.6 up-conversion (RULES.md rule 11)', () => {
  it('moves every 2.5 ext location of the prebid upconvert fixture to its 2.6 field', () => {
    const row = rows('valid-requests').find((r) =>
      r.file.endsWith('ortb-2.5-to-2.6-upconvert.json'),
    );
    const v = validateBidRequest(structuredClone(requestPayload(row!)));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    const r = v.request;
    expect(r.regs).toMatchObject({ gdpr: 1, us_privacy: '1YYY' });
    expect(r.regs?.ext).not.toHaveProperty('gdpr');
    expect(r.user?.consent).toBe('some-consent-string');
    expect(r.user?.eids?.[0]?.source).toBe('source');
    expect(r.user?.ext).not.toHaveProperty('eids');
    expect(r.source?.schain?.nodes[0]?.asi).toBe('whatever.com');
    expect(r.imp[0]?.rwdd).toBe(1);
    expect(r.at).toBe(2); // the spec default written out (rule 10)
  });

  it('keeps the 2.6 value when both locations are present', () => {
    const v = validateBidRequest({
      id: 'r',
      imp: [{ id: '1', banner: { w: 300, h: 250 } }],
      regs: { gdpr: 0, ext: { gdpr: 1 } },
    });
    expect(v.ok && v.request.regs?.gdpr).toBe(0);
  });
});

describe('soft failures are warnings (RULES.md rule 24)', () => {
  const warningsOf = (file: string) => {
    const row = rows('valid-requests').find((r) => r.file.endsWith(file));
    const v = validateBidRequest(structuredClone(requestPayload(row!)));
    if (!v.ok) throw new Error(v.rejection.message);
    return v;
  };

  it('gdpr that conflicts with gpp_sid is ignored', () => {
    const v = warningsOf('pbs-ep__gdpr-conflict.json');
    expect(v.warnings.map((w) => w.warning)).toContain(RequestWarning.GdprConflictsWithGpp);
    expect(v.request.regs?.gdpr).toBeUndefined();
  });

  it('malformed us_privacy is cleared', () => {
    const v = warningsOf('pbs-ep__us-privacy-invalid.json');
    expect(v.warnings.map((w) => w.warning)).toContain(RequestWarning.UsPrivacyInvalid);
    expect(v.request.regs?.us_privacy).toBeUndefined();
  });

  it('eids without source are dropped', () => {
    const v = warningsOf('pbs-ep__user-eids-source-empty.json');
    expect(v.warnings.map((w) => w.warning)).toContain(RequestWarning.EidWithoutSource);
    expect(v.request.user?.eids).toBeUndefined();
  });

  it('the 2.5 spec native example (elided assets) is forwarded with a warning', () => {
    const v = warningsOf('iab25__native-ad.json');
    expect(v.warnings.map((w) => w.warning)).toContain(RequestWarning.NativeRequestUnparseable);
  });
});

describe('rules without a corpus file', () => {
  const banner = (extra: Record<string, unknown> = {}) => ({
    id: 'r',
    imp: [{ id: '1', banner: { w: 300, h: 250 }, ...extra }],
  });
  const problem = (body: unknown) => {
    const v = validateBidRequest(body);
    return v.ok ? null : v.rejection.problem;
  };

  it('rejects a negative imp.bidfloor (rule 22)', () => {
    expect(problem(banner({ bidfloor: -1 }))).toBe('out_of_range');
  });
  it('rejects wseat together with bseat (rule 23)', () => {
    expect(problem({ ...banner(), wseat: ['a'], bseat: ['b'] })).toBe('mutually_exclusive');
  });
  it('rejects bcat together with acat (rule 23)', () => {
    expect(problem({ ...banner(), acat: ['IAB1'], bcat: ['IAB2'] })).toBe('mutually_exclusive');
  });
  it('rejects video.rqddurs with min/maxduration (rule 23)', () => {
    const body = {
      id: 'r',
      imp: [{ id: '1', video: { mimes: ['video/mp4'], rqddurs: [15], maxduration: 30 } }],
    };
    expect(problem(body)).toBe('mutually_exclusive');
  });
  it('rejects a schain node without asi (rule 17)', () => {
    expect(
      problem({
        ...banner(),
        source: { schain: { complete: 1, ver: '1.0', nodes: [{ sid: 'x' }] } },
      }),
    ).toBe('required_field');
  });
  it('rejects audio without mimes (rule 17)', () => {
    expect(problem({ id: 'r', imp: [{ id: '1', audio: {} }] })).toBe('audio_mimes_missing');
  });
  it('accepts an interstitial banner without size (rule 19)', () => {
    expect(problem({ id: 'r', imp: [{ id: '1', instl: 1, banner: {} }] })).toBeNull();
  });
  it('accepts a raw Native 1.2 request from the corpus once wrapped', () => {
    const row = rows('valid-requests').find((r) => r.file.startsWith('valid-requests/native12'));
    expect(problem(requestPayload(row!))).toBeNull();
  });
  it('rejects a native contextsubtype of another context (rule 25)', () => {
    const req = { context: 1, contextsubtype: 21, assets: [{ id: 1, title: { len: 20 } }] };
    expect(problem({ id: 'r', imp: [{ id: '1', native: { request: JSON.stringify(req) } }] })).toBe(
      'native_assets_invalid',
    );
  });
  it('tolerates unknown fields and unknown enum values (rule 8)', () => {
    const v = validateBidRequest({ ...banner({ newfield: { a: 1 } }), at: 777, futurething: [1] });
    expect(v.ok).toBe(true);
    expect(v.ok && (v.request as BidRequest & { futurething?: unknown }).futurething).toEqual([1]);
  });
});
