/**
 * Signed tracking tokens for impression and click URLs.
 *
 * Format: base64url(JSON claims) "." base64url(HMAC-SHA256(secret, first part)).
 * The signature is checked before anything else (a tampered token is 400 even if expired);
 * then the expiry (410). The claims carry everything the event needs, so recording an event
 * reads no state (an impression of a frequency-capped campaign also carries the hashed user key
 * and the cap window to count it under), and the click's landing URL cannot be swapped (no open
 * redirect).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PricingModel } from '../core/domain/entities.js';
import { AdsError } from '../core/errors.js';

export type TrackingKind = 'imp' | 'clk';

export interface TrackingClaims {
  v: 1;
  k: TrackingKind;
  d: string; // decision id
  a: string; // advertiser id
  c: string; // campaign id
  cr: string; // creative id
  p: string; // placement id
  m: PricingModel;
  /** Price in the campaign's own billing unit, micros (cpm: per 1000 impressions). */
  pr: number;
  exp: number; // expiry, ms since epoch
  u?: string; // landing URL (clicks)
  /**
   * Frequency counting (impressions of a frequency-capped campaign for a request with a user
   * id): the user key — a SHA-256-derived hash, never the raw user id — and the cap window in
   * ms, which is how long the counter keeps this impression. Both present or both absent.
   */
  uk?: string;
  fw?: number;
  /**
   * The user's profile key (`userKey()` in ./user-key.ts: a SHA-256-derived hash, never the raw
   * id) when the request had a user id: the impression and click events carry it to the
   * windowed aggregates (per-user engagement over 7 days, src/stream/aggregates.ts).
   */
  pu?: string;
  /**
   * An ad won by a DSP in `POST /v1/decisions` (issue 4): the bidder id, and its billing notice
   * (`burl`, macros substituted) that the impression event fires server-side. Such an
   * impression is no spend of any of our campaigns (`a` is `dsp:<seat>`, `c` is `dsp:<bidder>`).
   */
  ds?: string;
  bu?: string;
  /**
   * Budget leases the decision reserved its charge from (campaigns with a budget): one
   * [period, lease id] pair per budget period (local day `YYYY-MM-DD`, `lifetime`). The event
   * records its spend against them (src/exchange/budget.ts).
   */
  bl?: [string, string][];
}

function isLeaseList(x: unknown): boolean {
  return (
    Array.isArray(x) &&
    x.length <= 4 &&
    x.every(
      (e) =>
        Array.isArray(e) &&
        e.length === 2 &&
        typeof e[0] === 'string' &&
        typeof e[1] === 'string' &&
        e[0].length > 0 &&
        e[1].length > 0,
    )
  );
}

const MODELS = new Set(['cpm', 'cpc', 'cpa']);

function isClaims(x: unknown): x is TrackingClaims {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return (
    o.v === 1 &&
    (o.k === 'imp' || o.k === 'clk') &&
    ['d', 'a', 'c', 'cr', 'p'].every((f) => typeof o[f] === 'string') &&
    typeof o.m === 'string' &&
    MODELS.has(o.m) &&
    Number.isSafeInteger(o.pr) &&
    (o.pr as number) >= 0 &&
    Number.isSafeInteger(o.exp) &&
    (o.u === undefined || typeof o.u === 'string') &&
    (o.ds === undefined || typeof o.ds === 'string') &&
    (o.bu === undefined || (typeof o.bu === 'string' && o.ds !== undefined)) &&
    (o.bl === undefined || isLeaseList(o.bl)) &&
    (o.pu === undefined || (typeof o.pu === 'string' && /^[0-9a-f]{32}$/.test(o.pu))) &&
    ((o.uk === undefined && o.fw === undefined) ||
      (typeof o.uk === 'string' &&
        /^[0-9a-f]{1,64}$/.test(o.uk) &&
        Number.isSafeInteger(o.fw) &&
        (o.fw as number) > 0))
  );
}

export class TrackingSigner {
  private readonly secret: Buffer;

  constructor(secret: string) {
    if (secret.length < 16) throw new Error('tracking secret must be at least 16 characters');
    this.secret = Buffer.from(secret, 'utf8');
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.secret).update(body).digest();
  }

  sign(claims: TrackingClaims): string {
    const body = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  /** Returns the claims, or throws ADS_ERR_TOKEN_INVALID (400) / ADS_ERR_TOKEN_EXPIRED (410). */
  verify(token: string, expected: TrackingKind, nowMs: number): TrackingClaims {
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) throw new AdsError('ADS_ERR_TOKEN_INVALID');
    const body = token.slice(0, dot);
    const sig = Buffer.from(token.slice(dot + 1), 'base64url');
    const want = this.mac(body);
    if (sig.length !== want.length || !timingSafeEqual(sig, want)) {
      throw new AdsError('ADS_ERR_TOKEN_INVALID');
    }
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new AdsError('ADS_ERR_TOKEN_INVALID');
    }
    if (!isClaims(claims) || claims.k !== expected) throw new AdsError('ADS_ERR_TOKEN_INVALID');
    if (nowMs >= claims.exp) throw new AdsError('ADS_ERR_TOKEN_EXPIRED');
    return claims;
  }
}
