/**
 * Inbound BidRequest validation (RULES.md §3) with the 2.5 → 2.6 up-conversion (RULES.md §2).
 *
 * Implementation notes
 * - Tolerant by design: unknown fields and unknown enum values are never an error (2.6 §2.6,
 *   RULES.md rule 8). Only what the spec requires, or a wrong JSON type / range on a field we
 *   read, rejects. The first problem found rejects the request (as prebid-server does), named by
 *   its JSON path and a closed-enum `RequestProblem`.
 * - Soft failures are warnings, never 400s (RULES.md rule 24): an invalid us_privacy is cleared,
 *   a gdpr that contradicts gpp_sid is ignored, eids without `source` and uids without `id` are
 *   dropped, extra `cur` entries are ignored, an unparseable native payload is forwarded as is.
 * - The 2.6 banner no longer has wmin/wmax/hmin/hmax (2.6 Appendix B). As unknown fields they
 *   are ignored; a banner that has nothing else to size it is rejected for having no size
 *   (rule 19). This accepts bsm `breq.exp.json` (w/h plus wmin/hmin; valid per §2.6) and
 *   rejects prebid-server's `banner-wmin.json` (only wmin), the two corpus cases for this field.
 * - The request is the parsed JSON and is changed in place: 2.5 `ext` locations move to their
 *   2.6 fields, warnings' clean-ups are applied, `at` gets its default 2 written out (RULES.md
 *   rule 10: "always send `at` explicitly"). The caller owns the parsed body; nothing else
 *   holds it.
 */
import type { BidRequest } from './types.js';

/** Why a request was rejected (HTTP 400 on the inbound endpoint). */
export const RequestProblem = {
  NotAnObject: 'not_an_object',
  MissingId: 'missing_id',
  MissingImp: 'missing_imp',
  ImpIdMissing: 'imp_id_missing',
  ImpIdDuplicate: 'imp_id_duplicate',
  ImpNoMediaType: 'imp_no_media_type',
  BannerNoSize: 'banner_no_size',
  BannerFormatInvalid: 'banner_format_invalid',
  VideoMimesMissing: 'video_mimes_missing',
  AudioMimesMissing: 'audio_mimes_missing',
  NativeRequestMissing: 'native_request_missing',
  NativeAssetsInvalid: 'native_assets_invalid',
  DealIdMissing: 'deal_id_missing',
  MultipleInventoryObjects: 'multiple_inventory_objects',
  MutuallyExclusive: 'mutually_exclusive',
  RequiredField: 'required_field',
  WrongType: 'wrong_type',
  OutOfRange: 'out_of_range',
} as const;
export type RequestProblem = (typeof RequestProblem)[keyof typeof RequestProblem];

export interface RequestRejection {
  problem: RequestProblem;
  /** JSON path of the offending value, e.g. `imp[1].banner.format[0]`. */
  path: string;
  /** One sentence naming the problem and the rule, for the 400 body. */
  message: string;
}

export const RequestWarning = {
  UsPrivacyInvalid: 'us_privacy_invalid',
  GdprConflictsWithGpp: 'gdpr_conflicts_with_gpp_sid',
  EidWithoutSource: 'eid_without_source',
  UidWithoutId: 'uid_without_id',
  ExtraCurrencies: 'extra_currencies',
  NativeRequestUnparseable: 'native_request_unparseable',
  NativeAssetsMissing: 'native_assets_missing',
} as const;
export type RequestWarning = (typeof RequestWarning)[keyof typeof RequestWarning];

export interface RequestWarningEntry {
  warning: RequestWarning;
  path: string;
}

export type RequestValidation =
  | { ok: true; request: BidRequest; warnings: RequestWarningEntry[] }
  | { ok: false; rejection: RequestRejection };

type Obj = Record<string, unknown>;

class Reject extends Error {
  constructor(readonly rejection: RequestRejection) {
    super(rejection.message);
  }
}

function fail(problem: RequestProblem, path: string, detail: string): never {
  throw new Reject({ problem, path, message: `${path}: ${detail}` });
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Obj, k: string): boolean => o[k] !== undefined;

const join = (path: string, k: string): string => (path === '' ? k : `${path}.${k}`);

function optObj(o: Obj, k: string, path: string): Obj | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail(RequestProblem.WrongType, join(path, k), 'must be an object');
  return v;
}

function optString(o: Obj, k: string, path: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(RequestProblem.WrongType, join(path, k), 'must be a string');
  return v;
}

function optNumber(o: Obj, k: string, path: string, min?: number): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    fail(RequestProblem.WrongType, join(path, k), 'must be a number');
  }
  if (min !== undefined && v < min) {
    fail(RequestProblem.OutOfRange, join(path, k), `must be ≥ ${min}, got ${v}`);
  }
  return v;
}

function optArray(o: Obj, k: string, path: string): unknown[] | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) fail(RequestProblem.WrongType, join(path, k), 'must be an array');
  return v;
}

function optStringArray(o: Obj, k: string, path: string): string[] | undefined {
  const a = optArray(o, k, path);
  a?.forEach((x, i) => {
    if (typeof x !== 'string')
      fail(RequestProblem.WrongType, `${path}.${k}[${i}]`, 'must be a string');
  });
  return a as string[] | undefined;
}

function reqString(o: Obj, k: string, path: string, problem: RequestProblem, rule: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0) {
    fail(problem, join(path, k).replace(/^\./, ''), `required non-empty string (${rule})`);
  }
  return v;
}

/** Both present: the spec's "only one of" (RULES.md rule 23). */
function exclusive(o: Obj, a: string, b: string, path: string, rule: string): void {
  if (has(o, a) && has(o, b)) {
    fail(
      RequestProblem.MutuallyExclusive,
      `${path}${path === '' ? '' : '.'}${a}`,
      `${a} and ${b} must not both be present (${rule})`,
    );
  }
}

const NON_NEGATIVE = (o: Obj, path: string, keys: readonly string[]): void => {
  for (const k of keys) optNumber(o, k, path, 0);
};

function checkFormat(f: unknown, path: string): void {
  if (!isObj(f)) fail(RequestProblem.WrongType, path, 'must be an object');
  NON_NEGATIVE(f, path, ['w', 'h', 'wratio', 'hratio', 'wmin']);
  const sized = has(f, 'w') || has(f, 'h');
  const ratio = has(f, 'wratio') || has(f, 'hratio') || has(f, 'wmin');
  // RULES.md rule 19 (pbs ortb/request_validator_banner.go): {w,h} or {wmin,wratio,hratio}.
  if (sized && ratio) {
    fail(
      RequestProblem.BannerFormatInvalid,
      path,
      'define either {w, h} or {wmin, wratio, hratio}, not both (2.6 §3.2.10)',
    );
  }
  if (sized && !((f.w as number) > 0 && (f.h as number) > 0)) {
    fail(RequestProblem.BannerFormatInvalid, path, 'w and h must both be > 0 (2.6 §3.2.10)');
  }
  if (ratio && !((f.wratio as number) > 0 && (f.hratio as number) > 0 && (f.wmin as number) > 0)) {
    fail(
      RequestProblem.BannerFormatInvalid,
      path,
      'wmin, wratio and hratio must all be > 0 (2.6 §3.2.10)',
    );
  }
}

function checkBanner(b: Obj, path: string, instl: boolean): void {
  NON_NEGATIVE(b, path, ['w', 'h']);
  const format = optArray(b, 'format', path);
  format?.forEach((f, i) => checkFormat(f, `${path}.format[${i}]`));
  optArray(b, 'battr', path);
  NON_NEGATIVE(b, path, ['wmin', 'wmax', 'hmin', 'hmax']);
  const sized = (b.w as number) > 0 && (b.h as number) > 0;
  // OpenRTB 2.5 (accepted inbound) could size a banner by ranges; 2.6 removed them. A range
  // counts as a size only when it bounds both width and height.
  const ranged = (has(b, 'wmin') || has(b, 'wmax')) && (has(b, 'hmin') || has(b, 'hmax'));
  if (!sized && !ranged && (format === undefined || format.length === 0) && !instl) {
    const removed = ['wmin', 'wmax', 'hmin', 'hmax'].filter((k) => has(b, k));
    fail(
      RequestProblem.BannerNoSize,
      path,
      `needs w and h or a non-empty format[] (RULES.md rule 19)${
        removed.length > 0
          ? `; ${removed.join('/')} alone bound only one dimension (2.5 ranges; removed in 2.6)`
          : ''
      }`,
    );
  }
}

function checkVideoOrAudio(v: Obj, path: string, kind: 'video' | 'audio'): void {
  const mimes = optStringArray(v, 'mimes', path);
  if (mimes === undefined || mimes.length === 0) {
    fail(
      kind === 'video' ? RequestProblem.VideoMimesMissing : RequestProblem.AudioMimesMissing,
      `${path}.mimes`,
      `required, at least one MIME type (2.6 §3.2.${kind === 'video' ? 7 : 8})`,
    );
  }
  NON_NEGATIVE(v, path, [
    'w',
    'h',
    'minbitrate',
    'maxbitrate',
    'sequence',
    'maxseq',
    'minduration',
    'maxduration',
    'poddur',
    'mincpmpersec',
  ]);
  if (has(v, 'rqddurs') && (has(v, 'minduration') || has(v, 'maxduration'))) {
    fail(
      RequestProblem.MutuallyExclusive,
      `${path}.rqddurs`,
      'must not be specified with minduration/maxduration (2.6 §3.2.7)',
    );
  }
  exclusive(v, 'mincpmpersec', 'durfloors', path, '2.6 §3.2.7, impl §7.11.2');
}

/** Native 1.x context → allowed contextsubtype range (Native 1.2 §7.1–7.2; RULES.md rule 25). */
const CONTEXT_SUBTYPES: Readonly<Record<number, readonly [number, number]>> = {
  1: [10, 15],
  2: [20, 22],
  3: [30, 32],
};

function checkNative(n: Obj, path: string, warnings: RequestWarningEntry[]): void {
  const request = n.request;
  if (typeof request !== 'string' || request.length === 0) {
    fail(
      RequestProblem.NativeRequestMissing,
      `${path}.request`,
      'required, the Native request JSON-encoded as a string (2.6 §3.2.9)',
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(request);
  } catch {
    // 2.6 §3.2.9 only requires a string; the OpenRTB 2.5 spec's own example 6 elides its assets
    // with "...". Forwarded verbatim; the buyer decides.
    warnings.push({ warning: RequestWarning.NativeRequestUnparseable, path: `${path}.request` });
    return;
  }
  // Native 1.0/1.1 wrap the payload in a "native" root; 1.2 does not.
  const root = isObj(payload) && isObj(payload.native) ? payload.native : payload;
  const p = `${path}.request`;
  if (!isObj(root))
    fail(RequestProblem.NativeAssetsInvalid, p, 'the native payload must be a JSON object');
  const assets = root.assets;
  if (assets === undefined) {
    // Native 1.x requires assets, but a payload without the key is an older or partial form
    // (google/openrtb's full 2.x request fixture, a "valid" corpus case): forwarded with a
    // warning. An assets key that is present but empty or malformed is rejected (rule 25).
    warnings.push({ warning: RequestWarning.NativeAssetsMissing, path: `${p}.assets` });
    return;
  }
  if (!Array.isArray(assets) || assets.length === 0) {
    fail(
      RequestProblem.NativeAssetsInvalid,
      `${p}.assets`,
      'required, at least one asset (Native 1.2 §4.1)',
    );
  }
  const ids = new Set<unknown>();
  assets.forEach((a, i) => {
    if (!isObj(a) || typeof a.id !== 'number') {
      fail(
        RequestProblem.NativeAssetsInvalid,
        `${p}.assets[${i}].id`,
        'required integer (Native 1.2 §4.2)',
      );
    }
    if (ids.has(a.id)) {
      fail(
        RequestProblem.NativeAssetsInvalid,
        `${p}.assets[${i}].id`,
        `duplicate asset id ${String(a.id)}; asset ids must be unique (Native 1.2 §4.2)`,
      );
    }
    ids.add(a.id);
  });
  const context = root.context;
  const sub = root.contextsubtype;
  if (typeof context === 'number' && typeof sub === 'number') {
    const range = CONTEXT_SUBTYPES[context];
    if (range !== undefined && sub < 500 && (sub < range[0] || sub > range[1])) {
      fail(
        RequestProblem.NativeAssetsInvalid,
        `${p}.contextsubtype`,
        `${sub} does not belong to context ${context} (Native 1.2 §7.2)`,
      );
    }
  }
  const trackers = root.eventtrackers;
  if (Array.isArray(trackers)) {
    trackers.forEach((t, i) => {
      if (
        !isObj(t) ||
        typeof t.event !== 'number' ||
        !Array.isArray(t.methods) ||
        t.methods.length === 0
      ) {
        fail(
          RequestProblem.NativeAssetsInvalid,
          `${p}.eventtrackers[${i}]`,
          'needs event and a non-empty methods[] (Native 1.2 §4.7)',
        );
      }
    });
  }
}

function checkPmp(pmp: Obj, path: string): void {
  const deals = optArray(pmp, 'deals', path);
  deals?.forEach((d, i) => {
    const dp = `${path}.deals[${i}]`;
    if (!isObj(d)) fail(RequestProblem.WrongType, dp, 'must be an object');
    if (typeof d.id !== 'string' || d.id.length === 0) {
      fail(RequestProblem.DealIdMissing, `${dp}.id`, 'required non-empty string (2.6 §3.2.12)');
    }
    optNumber(d, 'bidfloor', dp, 0); // RULES.md rule 22 [REC]: a negative floor is rejected
    optString(d, 'bidfloorcur', dp);
    optStringArray(d, 'wseat', dp);
    if (has(d, 'bidfloor') && (has(d, 'mincpmpersec') || has(d, 'durfloors'))) {
      fail(
        RequestProblem.MutuallyExclusive,
        `${dp}.bidfloor`,
        'only one of bidfloor, mincpmpersec, durfloors per deal (impl §7.11.2)',
      );
    }
    exclusive(d, 'mincpmpersec', 'durfloors', dp, 'impl §7.11.2');
  });
}

function checkImp(
  imp: unknown,
  i: number,
  ids: Set<string>,
  warnings: RequestWarningEntry[],
): void {
  const path = `imp[${i}]`;
  if (!isObj(imp))
    fail(RequestProblem.ImpIdMissing, path, 'must be an object with an id (2.6 §3.2.4)');
  if (typeof imp.id !== 'string' || imp.id.length === 0) {
    fail(RequestProblem.ImpIdMissing, `${path}.id`, 'required non-empty string (2.6 §3.2.4)');
  }
  if (ids.has(imp.id)) {
    fail(
      RequestProblem.ImpIdDuplicate,
      `${path}.id`,
      `duplicate imp id '${imp.id}'; imp ids must be unique within the request (2.6 §3.2.4)`,
    );
  }
  ids.add(imp.id);
  const banner = optObj(imp, 'banner', path);
  const video = optObj(imp, 'video', path);
  const audio = optObj(imp, 'audio', path);
  const native = optObj(imp, 'native', path);
  if (!banner && !video && !audio && !native) {
    fail(
      RequestProblem.ImpNoMediaType,
      path,
      'offers none of banner, video, audio or native (2.6 §3.1)',
    );
  }
  const instl = imp.instl === 1;
  if (banner) checkBanner(banner, `${path}.banner`, instl);
  if (video) checkVideoOrAudio(video, `${path}.video`, 'video');
  if (audio) checkVideoOrAudio(audio, `${path}.audio`, 'audio');
  if (native) checkNative(native, `${path}.native`, warnings);
  optNumber(imp, 'bidfloor', path, 0); // RULES.md rule 22 [REC]
  optString(imp, 'bidfloorcur', path);
  optString(imp, 'tagid', path);
  optNumber(imp, 'secure', path);
  optNumber(imp, 'exp', path, 0);
  const pmp = optObj(imp, 'pmp', path);
  if (pmp) checkPmp(pmp, `${path}.pmp`);
  const metrics = optArray(imp, 'metric', path);
  metrics?.forEach((m, j) => {
    const mp = `${path}.metric[${j}]`;
    if (!isObj(m) || typeof m.type !== 'string' || typeof m.value !== 'number') {
      fail(
        RequestProblem.RequiredField,
        mp,
        'type (string) and value (number) are required (2.6 §3.2.5)',
      );
    }
  });
  const qty = optObj(imp, 'qty', path);
  if (qty && typeof qty.multiplier !== 'number') {
    fail(RequestProblem.RequiredField, `${path}.qty.multiplier`, 'required number (2.6 §3.2.31)');
  }
  // 2.5 location (prebid): imp.ext.prebid.is_rewarded_inventory → imp.rwdd (RULES.md rule 11).
  const prebid = isObj(imp.ext) && isObj(imp.ext.prebid) ? imp.ext.prebid : undefined;
  if (prebid && has(prebid, 'is_rewarded_inventory')) {
    if (!has(imp, 'rwdd')) imp.rwdd = prebid.is_rewarded_inventory;
    delete prebid.is_rewarded_inventory;
  }
}

/** Moves `from[key]` to `to[key]` unless `to` already has it (2.6 wins); drops the 2.5 copy. */
function upconvert(from: Obj | undefined, to: Obj, key: string): void {
  if (from === undefined || !has(from, key)) return;
  if (!has(to, key)) to[key] = from[key];
  delete from[key];
}

function checkSchain(s: Obj, path: string): void {
  if (typeof s.complete !== 'number' || (s.complete !== 0 && s.complete !== 1)) {
    fail(RequestProblem.RequiredField, `${path}.complete`, 'required, 0 or 1 (2.6 §3.2.25)');
  }
  if (typeof s.ver !== 'string')
    fail(RequestProblem.RequiredField, `${path}.ver`, 'required string (2.6 §3.2.25)');
  if (!Array.isArray(s.nodes))
    fail(RequestProblem.RequiredField, `${path}.nodes`, 'required array (2.6 §3.2.25)');
  s.nodes.forEach((n, i) => {
    const np = `${path}.nodes[${i}]`;
    if (!isObj(n) || typeof n.asi !== 'string' || typeof n.sid !== 'string') {
      fail(RequestProblem.RequiredField, np, 'asi and sid are required strings (2.6 §3.2.26)');
    }
  });
}

/** `1YNN`-style CCPA string: version 1, then three of Y, N or - (IAB US Privacy String spec). */
const US_PRIVACY = /^1[YN-][YN-][YN-]$/i;

function checkRegs(regs: Obj, warnings: RequestWarningEntry[]): void {
  const ext = optObj(regs, 'ext', 'regs');
  upconvert(ext, regs, 'gdpr');
  upconvert(ext, regs, 'us_privacy');
  const gdpr = optNumber(regs, 'gdpr', 'regs');
  if (gdpr !== undefined && gdpr !== 0 && gdpr !== 1) {
    fail(
      RequestProblem.OutOfRange,
      'regs.gdpr',
      `must be 0 or 1, got ${gdpr} (2.6 §3.2.3; RULES.md rule 20)`,
    );
  }
  optNumber(regs, 'coppa', 'regs');
  optString(regs, 'gpp', 'regs');
  const sids = optArray(regs, 'gpp_sid', 'regs');
  const usp = optString(regs, 'us_privacy', 'regs');
  if (usp !== undefined && !US_PRIVACY.test(usp)) {
    delete regs.us_privacy; // RULES.md rule 24: malformed us_privacy is cleared
    warnings.push({ warning: RequestWarning.UsPrivacyInvalid, path: 'regs.us_privacy' });
  }
  if (gdpr !== undefined && sids !== undefined && sids.length > 0) {
    // GPP section 2 is the EU TCF v2; its presence says whether GDPR applies (RULES.md rule 24).
    const tcfInGpp = sids.includes(2);
    if ((gdpr === 1) !== tcfInGpp) {
      delete regs.gdpr;
      warnings.push({ warning: RequestWarning.GdprConflictsWithGpp, path: 'regs.gdpr' });
    }
  }
}

function checkUser(user: Obj, warnings: RequestWarningEntry[]): void {
  const ext = optObj(user, 'ext', 'user');
  if (ext) {
    optString(ext, 'consent', 'user.ext');
    optArray(ext, 'eids', 'user.ext');
  }
  upconvert(ext, user, 'consent');
  upconvert(ext, user, 'eids');
  optString(user, 'consent', 'user');
  optString(user, 'id', 'user');
  optString(user, 'buyeruid', 'user');
  const geo = optObj(user, 'geo', 'user');
  if (geo) NON_NEGATIVE(geo, 'user.geo', ['accuracy']);
  const eids = optArray(user, 'eids', 'user');
  if (eids) {
    // RULES.md rule 24: eids without source and uids without id are dropped with a warning.
    const kept = [];
    for (let i = 0; i < eids.length; i++) {
      const e = eids[i];
      if (!isObj(e) || typeof e.source !== 'string' || e.source.length === 0) {
        warnings.push({ warning: RequestWarning.EidWithoutSource, path: `user.eids[${i}]` });
        continue;
      }
      if (Array.isArray(e.uids)) {
        const uids = e.uids.filter((u) => isObj(u) && typeof u.id === 'string' && u.id.length > 0);
        if (uids.length !== e.uids.length)
          warnings.push({ warning: RequestWarning.UidWithoutId, path: `user.eids[${i}].uids` });
        e.uids = uids;
      }
      kept.push(e);
    }
    if (kept.length > 0) user.eids = kept;
    else delete user.eids;
  }
}

function checkDevice(device: Obj): void {
  NON_NEGATIVE(device, 'device', ['w', 'h', 'ppi']);
  const geo = optObj(device, 'geo', 'device');
  if (geo) NON_NEGATIVE(geo, 'device.geo', ['accuracy']);
  optString(device, 'ip', 'device');
  optString(device, 'ua', 'device');
  const sua = optObj(device, 'sua', 'device');
  if (sua) {
    const browsers = optArray(sua, 'browsers', 'device.sua');
    browsers?.forEach((b, i) => {
      if (!isObj(b) || typeof b.brand !== 'string') {
        fail(
          RequestProblem.RequiredField,
          `device.sua.browsers[${i}].brand`,
          'required string (2.6 §3.2.30)',
        );
      }
    });
    const platform = optObj(sua, 'platform', 'device.sua');
    if (platform && typeof platform.brand !== 'string') {
      fail(
        RequestProblem.RequiredField,
        'device.sua.platform.brand',
        'required string (2.6 §3.2.30)',
      );
    }
  }
}

function validate(body: unknown, warnings: RequestWarningEntry[]): BidRequest {
  if (!isObj(body))
    fail(RequestProblem.NotAnObject, 'request', 'the body must be a JSON object (2.6 §3.2.1)');
  reqString(body, 'id', '', RequestProblem.MissingId, '2.6 §3.2.1');
  optNumber(body, 'tmax', '', 0);
  const imps = body.imp;
  if (!Array.isArray(imps) || imps.length === 0) {
    fail(RequestProblem.MissingImp, 'imp', 'required, at least one Imp (2.6 §3.2.1)');
  }
  const ids = new Set<string>();
  imps.forEach((imp, i) => checkImp(imp, i, ids, warnings));

  const channels = ['site', 'app', 'dooh'].filter((k) => body[k] !== undefined && body[k] !== null);
  if (channels.length > 1) {
    fail(
      RequestProblem.MultipleInventoryObjects,
      channels[1] as string,
      `only one of site, app or dooh may be present, got ${channels.join(' and ')} (2.6 §3.2.1)`,
    );
  }
  for (const k of channels) optObj(body, k, '');

  const auctionType = optNumber(body, 'at', '');
  if (auctionType === undefined) body.at = 2; // 2.6 §3.2.1 default, written out (RULES.md rule 10)
  optNumber(body, 'test', '');
  const cur = optStringArray(body, 'cur', '');
  if (cur && cur.length > 1)
    warnings.push({ warning: RequestWarning.ExtraCurrencies, path: 'cur' });
  for (const k of ['wseat', 'bseat', 'wlang', 'wlangb', 'acat', 'bcat', 'badv', 'bapp'])
    optStringArray(body, k, '');
  exclusive(body, 'wseat', 'bseat', '', '2.6 §3.2.1');
  exclusive(body, 'wlang', 'wlangb', '', '2.6 §3.2.1');
  exclusive(body, 'acat', 'bcat', '', '2.6 §3.2.1');
  for (const k of ['site', 'app']) {
    const o = body[k];
    if (isObj(o)) exclusive(o, 'keywords', 'kwarray', k, '2.6 §3.2.13');
  }

  const device = optObj(body, 'device', '');
  if (device) checkDevice(device);
  const regs = optObj(body, 'regs', '');
  if (regs) checkRegs(regs, warnings);
  const user = optObj(body, 'user', '');
  if (user) {
    checkUser(user, warnings);
    exclusive(user, 'keywords', 'kwarray', 'user', '2.6 §3.2.20');
  }
  const source = optObj(body, 'source', '');
  if (source) {
    const ext = optObj(source, 'ext', 'source');
    upconvert(ext, source, 'schain');
    const schain = optObj(source, 'schain', 'source');
    if (schain) checkSchain(schain, 'source.schain');
    optString(source, 'tid', 'source');
  }
  return body as unknown as BidRequest;
}

/**
 * Validates a parsed inbound BidRequest. Never throws for bad input: a rejection is data.
 * Mutates `body` (up-conversion, clean-ups, `at` default; see the implementation notes).
 */
export function validateBidRequest(body: unknown): RequestValidation {
  const warnings: RequestWarningEntry[] = [];
  try {
    return { ok: true, request: validate(body, warnings), warnings };
  } catch (e) {
    if (e instanceof Reject) return { ok: false, rejection: e.rejection };
    throw e;
  }
}
