/**
 * Internal demand for an OpenRTB impression: our own campaigns, found the way the decision
 * pipeline finds them (targeting with `matchCampaign`, creative fit with `creativeFits`, over
 * the ServingIndex snapshot), turned into auction bids in any pricing model so they compete with
 * DSP bids in one auction in eCPM space (DESIGN.md §1 item 4).
 *
 * Implementation notes
 * - An imp reaches our campaigns through `imp.tagid` = one of our placement ids (the usual
 *   meaning of tagid: the publisher's ad-unit id). An unknown tagid has no internal demand.
 * - OpenRTB → our AdRequest: `device.devicetype` (AdCOM Device Types: 1 mobile/tablet, 2 PC,
 *   3 CTV, 4 phone, 5 tablet, 6 connected device, 7 set-top box), `device.os`, geo from
 *   `device.geo` then `user.geo` (OpenRTB countries are ISO 3166-1 alpha-3, our targeting
 *   alpha-2: converted by a table of the common ones; an unlisted country matches only
 *   campaigns without country targeting), keywords from site/app, and from the user only when
 *   personalised targeting is allowed (privacy.ts).
 * - Candidates are computed by the same predicates as src/exchange/decision.ts's private
 *   `retrieveCandidates`; DecisionService does not expose its candidates, so this is a second
 *   caller of the predicates, not a copy of the service (docs/decisions/0008).
 * - Predictions are the configured CTR/CVR priors (DEFAULT_PRIORS), as in DecisionService.
 * - Frequency caps and budgets filter the candidates exactly as in a decision, with the same
 *   steps of src/exchange/decision.ts (`applyFrequencyCaps`, then `applyBudgets`): a capped
 *   campaign is checked when the request carries a user id we may use (`user.id`, kept only
 *   when personalised targeting is allowed; without it there is no identity and no cap, as in
 *   decisions), and a budgeted campaign needs a usable lease and passes the pacing throttle.
 *   Every campaign left out is counted by its FilterReason in `filtered`. The winner's charge
 *   is reserved by the auction (auction.ts) before the response leaves.
 */
import type { AuctionBid, Prediction } from '../../core/auction/index.js';
import type { AdRequest } from '../../core/domain/ad-request.js';
import type { Campaign, Creative, DeviceType, Placement } from '../../core/domain/entities.js';
import { creativeFits } from '../../core/filters/creative.js';
import { matchCampaign } from '../../core/filters/targeting.js';
import type { BidRequest, Imp } from '../../core/openrtb/types.js';
import type { FilterReason } from '../../core/reasons.js';
import type { FrequencyCounters } from '../../ports/frequency-counters.js';
import type { BudgetManager } from '../budget.js';
import { applyBudgets, applyFrequencyCaps, frequencyUserKey } from '../decision.js';
import type { ServingIndex } from '../serving-index.js';
import { userKey as profileUserKey } from '../user-key.js';

export interface InternalCandidate {
  campaign: Campaign;
  creative: Creative;
  placement: Placement;
  bid: AuctionBid;
  /** The user's frequency key (decision.ts `frequencyUserKey`), null without a usable user id. */
  userKey: string | null;
  /**
   * The user's hashed profile key (../user-key.ts), null without a usable user id: signed into
   * the impression and click tokens as `pu` for per-user engagement (src/stream/aggregates.ts).
   */
  profileKey: string | null;
}

/** One imp's internal demand: the candidates left, and how many were filtered for what. */
export interface InternalDemandResult {
  candidates: InternalCandidate[];
  filtered: Partial<Record<FilterReason, number>>;
}

export interface InternalDemandDeps {
  /** Budget leases and pacing; without it budgets are not enforced (bare-service tests). */
  budgets?: BudgetManager;
  /** Impressions per user × campaign; without it frequency caps are not enforced. */
  frequency?: FrequencyCounters;
}

const DEVICE_TYPES: Readonly<Record<number, DeviceType>> = {
  1: 'mobile',
  2: 'desktop',
  3: 'ctv',
  4: 'mobile',
  5: 'tablet',
  6: 'other',
  7: 'ctv',
};

/** ISO 3166-1 alpha-3 → alpha-2 for the most common ad markets. */
export const ALPHA3: Readonly<Record<string, string>> = {
  USA: 'US',
  CAN: 'CA',
  MEX: 'MX',
  BRA: 'BR',
  ARG: 'AR',
  GBR: 'GB',
  IRL: 'IE',
  FRA: 'FR',
  DEU: 'DE',
  ESP: 'ES',
  ITA: 'IT',
  NLD: 'NL',
  BEL: 'BE',
  CHE: 'CH',
  AUT: 'AT',
  SWE: 'SE',
  NOR: 'NO',
  DNK: 'DK',
  FIN: 'FI',
  POL: 'PL',
  PRT: 'PT',
  CZE: 'CZ',
  GRC: 'GR',
  TUR: 'TR',
  RUS: 'RU',
  UKR: 'UA',
  ISR: 'IL',
  ARE: 'AE',
  SAU: 'SA',
  ZAF: 'ZA',
  NGA: 'NG',
  EGY: 'EG',
  IND: 'IN',
  CHN: 'CN',
  JPN: 'JP',
  KOR: 'KR',
  SGP: 'SG',
  IDN: 'ID',
  THA: 'TH',
  VNM: 'VN',
  PHL: 'PH',
  MYS: 'MY',
  AUS: 'AU',
  NZL: 'NZ',
  HKG: 'HK',
  TWN: 'TW',
};

function country(c: string | undefined): string | undefined {
  if (c === undefined) return undefined;
  const u = c.toUpperCase();
  return u.length === 2 ? u : ALPHA3[u];
}

const splitKeywords = (k: string | undefined): string[] =>
  k === undefined
    ? []
    : k
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

/** Our AdRequest for one OpenRTB imp (see the notes for the mapping). */
export function toAdRequest(req: BidRequest, imp: Imp, personalised: boolean): AdRequest | null {
  if (imp.tagid === undefined) return null;
  const geo = req.device?.geo ?? req.user?.geo;
  const ad: AdRequest = { placement_id: imp.tagid };
  const d = req.device;
  if (d !== undefined) {
    ad.device = {};
    const t = d.devicetype === undefined ? undefined : DEVICE_TYPES[d.devicetype];
    if (t !== undefined) ad.device.type = t;
    if (d.os !== undefined) ad.device.os = d.os.toLowerCase();
  }
  if (geo !== undefined) {
    ad.geo = {};
    const c = country(geo.country);
    if (c !== undefined) ad.geo.country = c;
    if (geo.region !== undefined && c !== undefined)
      ad.geo.region = `${c}-${geo.region.toUpperCase()}`;
  }
  const keywords = [...splitKeywords(req.site?.keywords), ...splitKeywords(req.app?.keywords)];
  if (keywords.length > 0) ad.keywords = keywords;
  if (personalised && req.user !== undefined) {
    const interests = splitKeywords(req.user.keywords);
    ad.user = {};
    if (req.user.id !== undefined) ad.user.id = req.user.id;
    if (interests.length > 0) ad.user.interests = interests;
  }
  if (req.site?.domain !== undefined || req.site?.page !== undefined) {
    ad.site = {};
    if (req.site.domain !== undefined) ad.site.domain = req.site.domain;
    if (req.site.page !== undefined) ad.site.page = req.site.page;
  }
  return ad;
}

/** Does the imp offer the placement's format? (the creative must fit the slot that is sold) */
function impOffers(imp: Imp, p: Placement): boolean {
  return p.format === 'banner'
    ? imp.banner !== undefined
    : p.format === 'video'
      ? imp.video !== undefined
      : imp.native !== undefined;
}

export class InternalDemand {
  constructor(
    private readonly index: ServingIndex,
    private readonly priors: Prediction,
    private readonly deps: InternalDemandDeps = {},
  ) {}

  /** The budget manager the auction reserves winners' charges with (null: not enforced). */
  get budgets(): BudgetManager | null {
    return this.deps.budgets ?? null;
  }

  async candidates(
    req: BidRequest,
    imp: Imp,
    nowMs: number,
    personalised: boolean,
  ): Promise<InternalDemandResult> {
    const filtered: Partial<Record<FilterReason, number>> = {};
    const ad = toAdRequest(req, imp, personalised);
    if (ad === null) return { candidates: [], filtered };
    const view = this.index.current();
    const placement = view.placementsById.get(ad.placement_id);
    if (placement === undefined || !impOffers(imp, placement)) return { candidates: [], filtered };
    const userId = ad.user?.id;
    const userKey = userId === undefined || userId === '' ? null : frequencyUserKey(userId);
    const profileKey = userId === undefined || userId === '' ? null : profileUserKey(userId);
    const matched: InternalCandidate[] = [];
    for (const campaign of view.campaigns) {
      const r = matchCampaign(campaign, ad, placement, nowMs);
      if (!r.pass) {
        filtered[r.reason] = (filtered[r.reason] ?? 0) + 1;
        continue;
      }
      const creative = view.creativesByCampaign
        .get(campaign.id)
        ?.find((c) => creativeFits(c, placement));
      if (creative === undefined) {
        filtered.no_matching_creative = (filtered.no_matching_creative ?? 0) + 1;
        continue;
      }
      matched.push({
        campaign,
        creative,
        placement,
        userKey,
        profileKey,
        bid: {
          id: `int:${campaign.id}`,
          model: campaign.pricing_model,
          bid_micros: campaign.bid_micros,
          prediction: this.priors,
          tier: 'open',
        },
      });
    }
    const capped =
      this.deps.frequency === undefined
        ? matched
        : await applyFrequencyCaps(this.deps.frequency, matched, userKey, nowMs, filtered, null);
    const candidates = await applyBudgets(this.deps.budgets, capped, nowMs, filtered, null);
    return { candidates, filtered };
  }
}
