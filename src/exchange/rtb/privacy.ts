/**
 * Privacy before fan-out (issue 4 item 6; RULES.md rule 32): decide what the signals of one
 * request allow, strip what they do not, forward the signals, and append our supply-chain node
 * (RULES.md rule 29).
 *
 * Implementation notes
 * - Signals read: `regs.coppa`, `regs.gdpr` + `user.consent` (TCF v2 string, decoded with
 *   @iabtcf/core), `regs.us_privacy` (IAB CCPA string: third character 'Y' = opted out of
 *   sale), `device.lmt`, `device.dnt`, and `regs.gpp` + `regs.gpp_sid` (decoded with
 *   @iabgpp/cmpapi, the IAB's own library; see "GPP" below). Strings are forwarded untouched.
 * - GDPR: with gdpr=1, user and device ids go to DSPs only with consent to TCF purpose 1
 *   ("store and/or access information on a device"), and our own targeting is personalised
 *   only with purposes 3 and 4 (create / use a personalised ads profile). A missing or
 *   undecodable consent string is no consent. Per-vendor (GVL id) checks are not done.
 * - Without the needed consent (GDPR), with a CCPA opt-out, LMT/DNT: remove `user.id`,
 *   `user.buyeruid`, `user.eids`, `user.yob`/`gender`, device ids (`ifa`, the sha1/md5
 *   variants), truncate the IP (IPv4 to /24, IPv6 to /48), round geo to 2 decimals and drop
 *   zip. COPPA also drops `user.geo` and device/user lat-lon entirely (prebid-server's COPPA
 *   scrubbing goes furthest too).
 * - Copy-on-write: objects on changed paths are copied; the caller's request is not mutated.
 * - A decoded consent string is cached (strings repeat across requests of one user).
 * - GPP: the sections that apply are those listed in `gpp_sid` (all sections of the string when
 *   `gpp_sid` is absent; a listed section missing from the string is ignored). The TCF EU v2
 *   section (id 2) is read like a TCF string (purpose 1 → ids, purposes 3 and 4 →
 *   personalisation). A US section — national (7), a state (8 onwards), or the US Privacy
 *   section (6) — is an opt-out when `SaleOptOut`, `SharingOptOut` or
 *   `TargetedAdvertisingOptOut` is 1 (opted out), `Gpc` is true, or (section 6) `OptOutSale` is
 *   'Y'; a known child without consent (`KnownChildSensitiveDataConsents` containing 1) is
 *   treated the same. Any of these strips ids and personalisation. A GPP string that does not
 *   decode is no consent (`gpp_invalid`), like a TCF string that does not decode.
 * - GPP Canada (TCF Canada v1, section 5): the same purposes as TCF EU, each with express or
 *   implied consent (`PurposesExpressConsent` / `PurposesImpliedConsent`, either counts):
 *   purpose 1 gates ids (`gpp_ca_no_consent`), purposes 3 and 4 personalisation. Special
 *   feature 1 ("use precise geolocation data", `SpecialFeatureExpressConsent[0]`) needs express
 *   consent; without it precise geo is coarsened even when ids may be sent.
 * - GPP sensitive data (US national and state sections, `SensitiveDataProcessing`): the
 *   categories and their order differ by section (California groups several in one flag), and
 *   the one we send is precise geolocation. So any category marked 1 (no consent / opted out) in
 *   an applicable US section coarsens geo (`gpp_sensitive_data_opt_out`): lat/lon rounded to 2
 *   decimals, zip dropped; ids stay. Conservative on purpose: a health-data opt-out also
 *   coarsens geo, and we never need to know which index is geolocation in which state.
 * - Not interpreted: per-vendor consents (TCF EU/Canada vendor sections), `PersonalDataConsents`,
 *   the MSPA mode fields.
 */
import { GppModel, Sections } from '@iabgpp/cmpapi';
import { TCString } from '@iabtcf/core';
import type { BidRequest, Device, Geo, SupplyChain, User } from '../../core/openrtb/types.js';

export const PrivacyReason = {
  Coppa: 'coppa',
  GdprNoConsent: 'gdpr_no_consent',
  CcpaOptOut: 'ccpa_opt_out',
  LimitAdTracking: 'limit_ad_tracking',
  DoNotTrack: 'do_not_track',
  GppUsOptOut: 'gpp_us_opt_out',
  GppKnownChild: 'gpp_known_child',
  GppInvalid: 'gpp_invalid',
  GppCanadaNoConsent: 'gpp_ca_no_consent',
  GppSensitiveDataOptOut: 'gpp_sensitive_data_opt_out',
  GppCanadaNoPreciseGeo: 'gpp_ca_no_precise_geo',
} as const;
export type PrivacyReason = (typeof PrivacyReason)[keyof typeof PrivacyReason];

export interface PrivacyDecision {
  /** User and device identifiers may be sent to DSPs. */
  idsAllowed: boolean;
  /** Our own targeting may use the user's profile and interests. */
  personalisedTargeting: boolean;
  /** Precise geo (lat/lon beyond 2 decimals, zip) may be sent; false coarsens it (see notes). */
  preciseGeoAllowed: boolean;
  reasons: PrivacyReason[];
}

interface Consent {
  storage: boolean; // TCF purpose 1
  personalisedAds: boolean; // TCF purposes 3 and 4
}

const consentCache = new Map<string, Consent | null>();
const CACHE_MAX = 10_000;

/** TCF v2 consent string → the purposes we check; null when it does not decode. */
export function decodeTcf(consent: string): Consent | null {
  const hit = consentCache.get(consent);
  if (hit !== undefined) return hit;
  let c: Consent | null;
  try {
    const m = TCString.decode(consent);
    c = {
      storage: m.purposeConsents.has(1),
      personalisedAds: m.purposeConsents.has(3) && m.purposeConsents.has(4),
    };
  } catch {
    c = null;
  }
  if (consentCache.size >= CACHE_MAX) consentCache.clear();
  consentCache.set(consent, c);
  return c;
}

/** What a GPP string says, for the sections that apply (see the notes). */
export interface GppSignals {
  /** false: the string (or an applicable section) does not decode. */
  valid: boolean;
  /** The TCF EU v2 section's purposes; undefined when that section does not apply. */
  tcf: Consent | undefined;
  /** The TCF Canada section's purposes (express or implied); undefined when it does not apply. */
  canada: Consent | undefined;
  usOptOut: boolean;
  knownChild: boolean;
  /** A US section marks a sensitive-data category as not consented / opted out. */
  sensitiveOptOut: boolean;
  /** The Canada section applies without express consent to special feature 1 (precise geo). */
  canadaNoPreciseGeo: boolean;
}

const gppCache = new Map<string, GppSignals>();
const INVALID_GPP: GppSignals = {
  valid: false,
  tcf: undefined,
  canada: undefined,
  usOptOut: false,
  knownChild: false,
  sensitiveOptOut: false,
  canadaNoPreciseGeo: false,
};

const flags = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);

function usSectionSensitiveOptOut(f: Record<string, unknown>): boolean {
  return flags(f.SensitiveDataProcessing).includes(1);
}

/** TCF Canada: a purpose counts with express or implied consent (index = purpose − 1). */
function canadaConsent(f: Record<string, unknown>): Consent {
  const express = flags(f.PurposesExpressConsent);
  const implied = flags(f.PurposesImpliedConsent);
  const has = (purpose: number): boolean =>
    express[purpose - 1] === true || implied[purpose - 1] === true;
  return { storage: has(1), personalisedAds: has(3) && has(4) };
}

function usSectionOptOut(f: Record<string, unknown>): boolean {
  return (
    f.SaleOptOut === 1 ||
    f.SharingOptOut === 1 ||
    f.TargetedAdvertisingOptOut === 1 ||
    f.Gpc === true
  );
}

function usSectionChild(f: Record<string, unknown>): boolean {
  const k = f.KnownChildSensitiveDataConsents;
  return k === 1 || (Array.isArray(k) && k.includes(1));
}

/** Decodes `gpp` for the sections `sids` (all when undefined); cached. */
export function decideGpp(gpp: string, sids: readonly number[] | undefined): GppSignals {
  const key = sids === undefined ? gpp : `${gpp}|${sids.join(',')}`;
  const hit = gppCache.get(key);
  if (hit !== undefined) return hit;
  let out: GppSignals;
  try {
    const model = new GppModel(gpp);
    const present = new Set(model.getSectionIds());
    const applicable = sids === undefined ? [...present] : sids.filter((s) => present.has(s));
    out = { ...INVALID_GPP, valid: true };
    for (const sid of applicable) {
      const name = Sections.SECTION_ID_NAME_MAP.get(sid);
      if (name === undefined) continue;
      const fields = model.getSection(name) as Record<string, unknown>;
      if (name === 'tcfeuv2') {
        const p = Array.isArray(fields.PurposeConsents)
          ? (fields.PurposeConsents as unknown[])
          : [];
        out.tcf = {
          storage: p[0] === true,
          personalisedAds: p[2] === true && p[3] === true,
        };
      } else if (name === 'tcfcav1') {
        out.canada = canadaConsent(fields);
        if (flags(fields.SpecialFeatureExpressConsent)[0] !== true) out.canadaNoPreciseGeo = true;
      } else if (name === 'uspv1') {
        if (fields.OptOutSale === 'Y') out.usOptOut = true;
      } else if (name.startsWith('us')) {
        if (usSectionOptOut(fields)) out.usOptOut = true;
        if (usSectionChild(fields)) out.knownChild = true;
        if (usSectionSensitiveOptOut(fields)) out.sensitiveOptOut = true;
      }
    }
  } catch {
    out = INVALID_GPP;
  }
  if (gppCache.size >= CACHE_MAX) gppCache.clear();
  gppCache.set(key, out);
  return out;
}

export function decidePrivacy(req: BidRequest): PrivacyDecision {
  const reasons: PrivacyReason[] = [];
  let ids = true;
  let personal = true;
  let preciseGeo = true;
  if (req.regs?.coppa === 1) {
    reasons.push(PrivacyReason.Coppa);
    ids = false;
    personal = false;
  }
  if (req.regs?.gdpr === 1) {
    const c = typeof req.user?.consent === 'string' ? decodeTcf(req.user.consent) : null;
    if (c === null || !c.storage) {
      reasons.push(PrivacyReason.GdprNoConsent);
      ids = false;
    }
    if (c === null || !c.personalisedAds) personal = false;
  }
  const gppString = req.regs?.gpp;
  if (typeof gppString === 'string' && gppString !== '') {
    const g = decideGpp(gppString, req.regs?.gpp_sid);
    if (!g.valid) {
      reasons.push(PrivacyReason.GppInvalid);
      ids = false;
      personal = false;
    }
    if (g.tcf !== undefined) {
      if (!g.tcf.storage) {
        if (!reasons.includes(PrivacyReason.GdprNoConsent))
          reasons.push(PrivacyReason.GdprNoConsent);
        ids = false;
      }
      if (!g.tcf.personalisedAds) personal = false;
    }
    if (g.canada !== undefined) {
      if (!g.canada.storage) {
        reasons.push(PrivacyReason.GppCanadaNoConsent);
        ids = false;
      }
      if (!g.canada.personalisedAds) personal = false;
    }
    if (g.canadaNoPreciseGeo) {
      reasons.push(PrivacyReason.GppCanadaNoPreciseGeo);
      preciseGeo = false;
    }
    if (g.sensitiveOptOut) {
      reasons.push(PrivacyReason.GppSensitiveDataOptOut);
      preciseGeo = false;
    }
    if (g.usOptOut) reasons.push(PrivacyReason.GppUsOptOut);
    if (g.knownChild) reasons.push(PrivacyReason.GppKnownChild);
    if (g.usOptOut || g.knownChild) {
      ids = false;
      personal = false;
    }
  }
  const usp = req.regs?.us_privacy;
  if (typeof usp === 'string' && usp.length === 4 && usp[2]?.toUpperCase() === 'Y') {
    reasons.push(PrivacyReason.CcpaOptOut);
    ids = false;
    personal = false;
  }
  if (req.device?.lmt === 1) {
    reasons.push(PrivacyReason.LimitAdTracking);
    ids = false;
    personal = false;
  }
  if (req.device?.dnt === 1) {
    reasons.push(PrivacyReason.DoNotTrack);
    ids = false;
    personal = false;
  }
  // Without ids the geo is coarsened anyway (applyPrivacy).
  return {
    idsAllowed: ids,
    personalisedTargeting: personal,
    preciseGeoAllowed: preciseGeo && ids,
    reasons,
  };
}

/** IPv4 → /24, IPv6 → /48 (the last bits identify a household or device). */
export function truncateIp(ip: string): string {
  if (ip.includes(':')) {
    const head = ip.split('::')[0] ?? '';
    const groups = head
      .split(':')
      .filter((g) => g.length > 0)
      .slice(0, 3);
    while (groups.length < 3) groups.push('0');
    return `${groups.join(':')}::`;
  }
  const parts = ip.split('.');
  return parts.length === 4 ? `${parts[0]}.${parts[1]}.${parts[2]}.0` : '';
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

function coarsenGeo(g: Geo, drop: boolean): Geo | undefined {
  if (drop) {
    const { lat: _lat, lon: _lon, zip: _zip, ...rest } = g;
    return rest;
  }
  const out: Geo = { ...g };
  if (out.lat !== undefined) out.lat = round2(out.lat);
  if (out.lon !== undefined) out.lon = round2(out.lon);
  delete out.zip;
  return out;
}

function stripDevice(d: Device, coppa: boolean): Device {
  const out: Device = { ...d };
  for (const k of [
    'ifa',
    'didsha1',
    'didmd5',
    'dpidsha1',
    'dpidmd5',
    'macsha1',
    'macmd5',
  ] as const) {
    delete out[k];
  }
  if (out.ip !== undefined) out.ip = truncateIp(out.ip);
  if (out.ipv6 !== undefined) out.ipv6 = truncateIp(out.ipv6);
  if (out.geo !== undefined) out.geo = coarsenGeo(out.geo, coppa);
  return out;
}

function stripUser(u: User, coppa: boolean): User {
  const { id: _id, buyeruid: _b, eids: _e, yob: _y, gender: _g, ...rest } = u;
  const out: User = { ...rest };
  if (out.geo !== undefined) {
    if (coppa) delete out.geo;
    else out.geo = coarsenGeo(out.geo, false);
  }
  if (out.ext !== undefined) {
    // 2.5 locations of the same ids (validate-request.ts moved them, but a 2.5 caller's
    // other ext keys such as `ext.eids` variants would leak otherwise).
    const { eids: _x, ...ext } = out.ext;
    out.ext = ext;
  }
  return out;
}

/** The request as DSPs may see it under `decision`. */
export function applyPrivacy(req: BidRequest, decision: PrivacyDecision): BidRequest {
  if (decision.idsAllowed && decision.preciseGeoAllowed) return req;
  if (decision.idsAllowed) {
    // Ids may go, precise location may not: only the geo objects are coarsened.
    const out: BidRequest = { ...req };
    if (req.device?.geo) out.device = { ...req.device, geo: coarsenGeo(req.device.geo, false) };
    if (req.user?.geo) out.user = { ...req.user, geo: coarsenGeo(req.user.geo, false) };
    return out;
  }
  const coppa = decision.reasons.includes(PrivacyReason.Coppa);
  const out: BidRequest = { ...req };
  if (req.device) out.device = stripDevice(req.device, coppa);
  if (req.user) out.user = stripUser(req.user, coppa);
  return out;
}

export interface SchainIdentity {
  /** Our canonical domain (the `asi` of our node). */
  asi: string;
}

/**
 * Appends our node to `source.schain` (RULES.md rule 29): the last node is the entity sending
 * the request. `sid` is the seller's id with us: the publisher id. A request that arrives
 * without a chain gets one with `complete: 0` (we cannot vouch for what came before us).
 */
export function appendSchainNode(req: BidRequest, who: SchainIdentity): BidRequest {
  const sid =
    req.site?.publisher?.id ?? req.app?.publisher?.id ?? req.dooh?.publisher?.id ?? 'unknown';
  const node = { asi: who.asi, sid, hp: 1 };
  const prev = req.source?.schain;
  const schain: SupplyChain =
    prev === undefined
      ? { complete: 0, ver: '1.0', nodes: [node] }
      : { ...prev, nodes: [...prev.nodes, node] };
  return { ...req, source: { ...req.source, schain } };
}
