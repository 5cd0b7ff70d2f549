/**
 * One ad decision for our own JSON ad request, as named stages with clear seams:
 *
 *   placement → candidates (targeting + creative fit) → predict (CTR/CVR) → auction → render
 *
 * Today: targeting over the in-memory ServingIndex, a constant CTR/CVR prior per pricing model,
 * eCPM ranking and a single-slot second-price auction (src/core/auction) with the placement
 * floor as reserve.
 * Later issues replace stages one by one (GBDT prediction, pacing and frequency gates,
 * external OpenRTB demand) without changing the stage boundaries.
 * Not enforced yet: budgets, pacing and frequency caps (stored and validated, not applied).
 */
import { randomUUID } from 'node:crypto';
import type { AdRequest } from '../core/domain/ad-request.js';
import type { Campaign, Creative, Placement } from '../core/domain/entities.js';
import { AdsError } from '../core/errors.js';
import { creativeFits } from '../core/filters/creative.js';
import { matchCampaign } from '../core/filters/targeting.js';
import { runAuction, type AuctionBid, type Prediction } from '../core/auction/index.js';
import { NoFillReason, type FilterReason } from '../core/reasons.js';
import type { Clock } from '../ports/clock.js';
import type { ServingIndex } from './serving-index.js';
import type { TrackingSigner } from './tracking.js';

export interface DecisionConfig {
  publicUrl: string; // base of tracking URLs, no trailing slash
  trackingTtlMs: number;
  priors: Prediction;
  incrementMicros: number; // second-price increment, in the winner's own billing unit
}

export interface DecisionDeps {
  index: ServingIndex;
  signer: TrackingSigner;
  clock: Clock;
  config: DecisionConfig;
  newId?: () => string;
}

export interface Fill {
  decision_id: string;
  placement_id: string;
  advertiser_id: string;
  campaign_id: string;
  creative_id: string;
  format: Creative['format'];
  w: number | null;
  h: number | null;
  markup: string | null;
  url: string | null;
  native: Creative['native'];
  price: { model: Campaign['pricing_model']; price_micros: number; clearing_cpm_micros: number };
  tracking: { impression_url: string; click_url: string };
}

export type DecisionOutcome =
  | { kind: 'fill'; fill: Fill }
  | { kind: 'no_fill'; reason: NoFillReason; filtered: Partial<Record<FilterReason, number>> };

interface Candidate {
  campaign: Campaign;
  creative: Creative;
}

/** Stage: resolve the placement (404 when unknown, inactive or archived). */
function resolvePlacement(index: ServingIndex, placementId: string): Placement {
  const p = index.current().placementsById.get(placementId);
  if (p === undefined) throw new AdsError('ADS_ERR_PLACEMENT_NOT_FOUND');
  return p;
}

/** Stage: targeting and creative fit; every campaign left out is counted by reason. */
function retrieveCandidates(
  index: ServingIndex,
  req: AdRequest,
  placement: Placement,
  nowMs: number,
  filtered: Partial<Record<FilterReason, number>>,
): Candidate[] {
  const view = index.current();
  const out: Candidate[] = [];
  for (const campaign of view.campaigns) {
    const r = matchCampaign(campaign, req, placement, nowMs);
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
    out.push({ campaign, creative });
  }
  return out;
}

/** Stage: CTR/CVR prediction. A constant prior until the GBDT model lands. */
function predict(_c: Candidate, priors: Prediction): Prediction {
  return priors;
}

export class DecisionService {
  private readonly newId: () => string;

  constructor(private readonly deps: DecisionDeps) {
    this.newId = deps.newId ?? randomUUID;
  }

  decide(req: AdRequest): DecisionOutcome {
    const { index, clock, config } = this.deps;
    const nowMs = clock.nowMs();
    const placement = resolvePlacement(index, req.placement_id);
    const filtered: Partial<Record<FilterReason, number>> = {};
    const candidates = retrieveCandidates(index, req, placement, nowMs, filtered);
    if (candidates.length === 0) {
      return { kind: 'no_fill', reason: NoFillReason.NoEligibleCampaign, filtered };
    }
    const byId = new Map(candidates.map((c) => [c.campaign.id, c]));
    const auctionInput: AuctionBid[] = candidates.map((c) => ({
      id: c.campaign.id,
      model: c.campaign.pricing_model,
      bid_micros: c.campaign.bid_micros,
      prediction: predict(c, config.priors),
    }));
    const outcome = runAuction(auctionInput, {
      mechanism: 'second_price',
      slot_factors: [1],
      reserve_cpm_micros: placement.floor_cpm_micros,
      increment_micros: config.incrementMicros,
    });
    const top = outcome.winners[0];
    const winner = top === undefined ? undefined : byId.get(top.id);
    if (top === undefined || winner === undefined) {
      filtered.below_floor = outcome.losers.length;
      return { kind: 'no_fill', reason: NoFillReason.AllBelowFloor, filtered };
    }
    return {
      kind: 'fill',
      fill: this.render(winner, placement, top.price_micros, top.clearing_ecpm_micros, nowMs),
    };
  }

  /** Stage: the response, with signed impression and click URLs. */
  private render(
    c: Candidate,
    placement: Placement,
    priceMicros: number,
    clearingCpmMicros: number,
    nowMs: number,
  ): Fill {
    const { signer, config } = this.deps;
    const decisionId = this.newId();
    const base = {
      v: 1 as const,
      d: decisionId,
      a: c.campaign.advertiser_id,
      c: c.campaign.id,
      cr: c.creative.id,
      p: placement.id,
      m: c.campaign.pricing_model,
      pr: priceMicros,
      exp: nowMs + config.trackingTtlMs,
    };
    const imp = signer.sign({ ...base, k: 'imp' });
    const clk = signer.sign({ ...base, k: 'clk', u: c.creative.landing_url });
    return {
      decision_id: decisionId,
      placement_id: placement.id,
      advertiser_id: c.campaign.advertiser_id,
      campaign_id: c.campaign.id,
      creative_id: c.creative.id,
      format: c.creative.format,
      w: c.creative.w,
      h: c.creative.h,
      markup: c.creative.markup,
      url: c.creative.url,
      native: c.creative.native,
      price: {
        model: c.campaign.pricing_model,
        price_micros: priceMicros,
        clearing_cpm_micros: Math.round(clearingCpmMicros),
      },
      tracking: {
        impression_url: `${config.publicUrl}/v1/events/impression?t=${imp}`,
        click_url: `${config.publicUrl}/v1/events/click?t=${clk}`,
      },
    };
  }
}
