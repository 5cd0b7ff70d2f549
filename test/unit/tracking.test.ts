import { describe, expect, it } from 'vitest';
import { TrackingSigner, type TrackingClaims } from '../../src/exchange/tracking.js';

const claims: TrackingClaims = {
  v: 1,
  k: 'imp',
  d: 'dec',
  a: 'adv',
  c: 'cmp',
  cr: 'cre',
  p: 'plc',
  m: 'cpm',
  pr: 4_000_000,
  exp: 2_000,
};

describe('tracking tokens', () => {
  const signer = new TrackingSigner('0123456789abcdef0123');

  it('round-trips claims before expiry', () => {
    expect(signer.verify(signer.sign(claims), 'imp', 1_999)).toEqual(claims);
  });
  it('refuses a token signed with another secret (400), even when it has expired', () => {
    const other = new TrackingSigner('another-secret-0123456789');
    expect(() => signer.verify(other.sign(claims), 'imp', 5_000)).toThrow(
      expect.objectContaining({ code: 'ADS_ERR_TOKEN_INVALID' }),
    );
  });
  it('refuses an expired token with 410', () => {
    expect(() => signer.verify(signer.sign(claims), 'imp', 2_000)).toThrow(
      expect.objectContaining({ code: 'ADS_ERR_TOKEN_EXPIRED', statusCode: 410 }),
    );
  });
  it('refuses a token of the other kind, and signed claims of the wrong shape', () => {
    expect(() => signer.verify(signer.sign(claims), 'clk', 0)).toThrow(
      expect.objectContaining({ code: 'ADS_ERR_TOKEN_INVALID' }),
    );
    const bad = { ...claims, pr: -1 };
    expect(() => signer.verify(signer.sign(bad), 'imp', 0)).toThrow(
      expect.objectContaining({ code: 'ADS_ERR_TOKEN_INVALID' }),
    );
  });
  it('refuses short secrets', () => {
    expect(() => new TrackingSigner('short')).toThrow(/16/);
  });
});
