/**
 * One ad decision for our own JSON ad request, as named stages with clear seams:
 *
 *   placement → candidates (targeting + creative fit + frequency caps) → predict (CTR/CVR)
 *     → auction → render
 *
 * Today: targeting over the in-memory ServingIndex, CTR from the signed GBDT model when one is
 * loaded (src/exchange/prediction.ts; else a constant CTR prior; the CVR of CPA candidates from
 * the signed CVR model when one is loaded, else the CVR prior),
 * eCPM ranking and a single-slot second-price auction (src/core/auction) with the placement
 * floor as reserve.
 * Frequency caps are enforced per user × campaign (the frequency step of the candidates stage,
 * below); the impression event counts them (src/exchange/events.ts).
 * Later issues replace stages one by one (GBDT prediction, pacing gates, external OpenRTB
 * demand) without changing the stage boundaries.
 * Budgets and pacing are enforced when a BudgetManager is given (src/exchange/budget.ts): the
 * budget step of the candidates stage filters campaigns without a usable lease or throttled by
 * pacing, and the winner reserves its charge before the decision returns.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AdRequest } from '../core/domain/ad-request.js';
import type { Campaign, Creative, Placement } from '../core/domain/entities.js';
import { AdsError } from '../core/errors.js';
import { creativeFits } from '../core/filters/creative.js';
import { matchCampaign } from '../core/filters/targeting.js';
import {
  runAuction,
  type AuctionBid,
  type AuctionResult,
  type Prediction,
} from '../core/auction/index.js';
import {
  lossReasonName,
  NoFillReason,
  type FilterReason,
  type LossReason,
} from '../core/reasons.js';
import type { Clock } from '../ports/clock.js';
import type { DecisionFeatureLog } from '../ports/decision-features.js';
import {
  EVENT_SCHEMA_VERSIONS,
  type EventEnvelope,
  type EventPayloads,
} from '../ports/event-log.js';
import type { FrequencyCapRule, FrequencyCounters } from '../ports/frequency-counters.js';
import { BudgetManager, type BudgetReservation } from './budget.js';
import { candidateInput, PredictionStage, type PredictionSummary } from './prediction.js';
import type { DecisionDeadline, DegradedStage } from './resilient/deadline.js';
import type { ServingIndex } from './serving-index.js';
import type { TrackingSigner } from './tracking.js';
import type { UserFeatureReader, UserFeatures } from './user-features.js';
import { userKey as profileUserKey } from './user-key.js';

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
  /** Impressions per user × campaign, for frequency caps (counted by the impression event). */
  frequency: FrequencyCounters;
  /**
   * Hands one `decision` event per decision to the event log (issue 7; ADSTACK_DECISION_EVENTS):
   * fire-and-forget into the bounded publisher, never awaited on the decision path. Carries ids,
   * the outcome and the closed-enum no-fill reason — no user id or key.
   */
  emit?: (event: EventEnvelope<'decision'>) => void;
  /**
   * The user's profile and 7-day engagement for the predict stage's user features (issue 7),
   * read only when a model will use them, within the deadline's `profile` stage; a miss or a
   * failure leaves them missing and never fails the decision.
   */
  userFeatures?: UserFeatureReader;
  /** The predict stage; default: the constant priors of `config.priors`. */
  prediction?: PredictionStage;
  /** Budget leases and pacing; without it budgets are not enforced (bare-service tests). */
  budgets?: BudgetManager;
  newId?: () => string;
  /** Logs each fill's feature input for training from the ledger (issue 5; best effort). */
  featureLog?: DecisionFeatureLog;
  /** Sees every decision's stage timings (tracing, src/exchange/resilient/tracing.ts). */
  observer?: DecisionObserver;
  /** The degradation ladder's current step, for the explain output. */
  degradationLevel?: () => string;
  /**
   * External OpenRTB demand for placements with `rtb_enabled` (issue 4;
   * src/exchange/rtb/decision-demand.ts). Absent: our own campaigns only.
   */
  external?: ExternalDemand;
}

/**
 * DSP demand in one decision: started right after the placement is resolved (in parallel with
 * candidates and prediction), its bids join the one auction in eCPM space.
 */
export interface ExternalDemand {
  /**
   * Starts the DSP calls; null when the placement takes no RTB demand or no DSP is configured.
   * With `deadline`, the DSPs' wait is capped by what is left of it.
   */
  start(
    req: AdRequest,
    placement: Placement,
    deadline?: Pick<DecisionDeadline, 'remainingMs'>,
  ): ExternalDemandCall | null;
}

export interface ExternalDemandCall {
  /**
   * The DSP bids that passed validation and the business checks, as CPM auction bids whose ids
   * start with `dsp:` (never a campaign id). Resolves by the call's own deadline at the latest.
   */
  bids(): Promise<AuctionBid[]>;
  /**
   * After the auction: loss notices for losing DSP bids; when a DSP bid won, its win notice and
   * the Fill with its markup (else null). `profileKey`: the request's hashed profile key
   * (./user-key.ts), signed into a DSP ad's impression token as `pu` for per-user engagement.
   */
  settle(outcome: AuctionResult, newId: () => string, profileKey?: string | null): Fill | null;
}

/** Options of one decide() call. */
export interface DecideOptions {
  explain?: boolean;
  /** The request's deadline: I/O stages are cut at their budget (src/exchange/resilient/deadline.ts). */
  deadline?: DecisionDeadline;
}

/** What an observer is told about one decision (only when an observer is configured). */
export interface ObservedDecision {
  /** Monotonic ms when decide() started; the stages ran one after the other from there. */
  startMonoMs: number;
  stage_ms: DecisionExplain['stage_ms'];
  outcome: DecisionOutcome['kind'];
  degraded: readonly DegradedStage[];
}

export interface DecisionObserver {
  onDecision(d: ObservedDecision): void;
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
  /** click_url is null for a DSP's ad: its markup tracks its own clicks. */
  tracking: { impression_url: string; click_url: string | null };
  /** Present when the ad came from a DSP (OpenRTB) rather than one of our campaigns. */
  dsp?: { bidder: string; seat: string; bid_id: string; adomain: string[] };
}

/** Why one campaign did or did not win this decision (the `?debug=1` explain output). */
export type CandidateVerdict =
  | { campaign_id: string; result: 'filtered'; reason: FilterReason }
  | {
      campaign_id: string;
      creative_id: string;
      result: 'lost';
      reason: LossReason;
      reason_name: string;
      ecpm_micros: number;
      prediction: Prediction;
    }
  | {
      campaign_id: string;
      creative_id: string;
      result: 'won';
      ecpm_micros: number;
      clearing_cpm_micros: number;
      price_micros: number;
      prediction: Prediction;
    };

export interface DecisionExplain {
  /** Milliseconds spent in each stage, measured on the monotonic clock. */
  stage_ms: {
    placement: number;
    candidates: number;
    predict: number;
    auction: number;
    render: number;
  };
  /** Where the CTR/CVR came from: the constant priors, or the model (version) in service. */
  prediction: PredictionSummary;
  /** What the user feature group got from the profile and the 7-day engagement, when read. */
  user_features?: { profile: UserFeatures['profile']; engagement: UserFeatures['engagement'] };
  floor_cpm_micros: number;
  candidates: CandidateVerdict[];
  /** The degradation ladder's step and the stages cut or skipped in this decision (issue 8). */
  resilience?: { degradation_level: string; degraded: DegradedStage[]; budget_ms: number | null };
}

export type DecisionOutcome =
  | { kind: 'fill'; fill: Fill; explain?: DecisionExplain }
  | {
      kind: 'no_fill';
      reason: NoFillReason;
      filtered: Partial<Record<FilterReason, number>>;
      explain?: DecisionExplain;
    };

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

/**
 * Stage: targeting and creative fit; every campaign left out is counted by reason (and, when
 * explaining, listed with it).
 */
function retrieveCandidates(
  index: ServingIndex,
  req: AdRequest,
  placement: Placement,
  nowMs: number,
  filtered: Partial<Record<FilterReason, number>>,
  verdicts: CandidateVerdict[] | null,
): Candidate[] {
  const view = index.current();
  const out: Candidate[] = [];
  for (const campaign of view.campaigns) {
    const r = matchCampaign(campaign, req, placement, nowMs);
    if (!r.pass) {
      filtered[r.reason] = (filtered[r.reason] ?? 0) + 1;
      verdicts?.push({ campaign_id: campaign.id, result: 'filtered', reason: r.reason });
      continue;
    }
    const creative = view.creativesByCampaign
      .get(campaign.id)
      ?.find((c) => creativeFits(c, placement));
    if (creative === undefined) {
      filtered.no_matching_creative = (filtered.no_matching_creative ?? 0) + 1;
      verdicts?.push({
        campaign_id: campaign.id,
        result: 'filtered',
        reason: 'no_matching_creative',
      });
      continue;
    }
    out.push({ campaign, creative });
  }
  return out;
}

/**
 * The key a user's frequency counters are kept under: SHA-256 of the publisher's user id
 * (domain-separated, first 128 bits in hex). Computed at decision time and carried in the
 * impression token, so the raw id is never stored, counted under, or put in a URL.
 */
export function frequencyUserKey(userId: string): string {
  return createHash('sha256')
    .update(`adstack:frequency:v1\u0000${userId}`)
    .digest('hex')
    .slice(0, 32);
}

/** The campaign's cap as a counter rule (scope campaign, sliding window of the cap period). */
function capRule(campaign: Campaign): FrequencyCapRule | null {
  const cap = campaign.frequency_cap;
  if (cap === null) return null;
  return {
    scope: 'campaign',
    id: campaign.id,
    maxImpressions: cap.max_impressions,
    windowMs: cap.period_seconds * 1000,
  };
}

/**
 * Stage (part of candidates): frequency caps. Among the candidates left by targeting, those of
 * a campaign with a `frequency_cap` are checked against the user's impression count for that
 * campaign over the cap window — one batched FrequencyCounters.check per request (one user, one
 * rule per capped candidate). A campaign at its cap is filtered as `frequency_capped`.
 * A request without a user id is never capped: no identity, no cap.
 * When the counters cannot be read (Redis unreachable), every capped candidate is filtered the
 * same way — fail closed, never serve over a cap; uncapped campaigns still compete.
 * Exported for the OpenRTB endpoint's internal demand (src/exchange/rtb/internal-demand.ts).
 */
export async function applyFrequencyCaps<C extends Pick<Candidate, 'campaign'>>(
  frequency: FrequencyCounters,
  candidates: C[],
  userKey: string | null,
  nowMs: number,
  filtered: Partial<Record<FilterReason, number>>,
  verdicts: CandidateVerdict[] | null,
): Promise<C[]> {
  if (userKey === null) return candidates;
  const rules: FrequencyCapRule[] = [];
  for (const c of candidates) {
    const rule = capRule(c.campaign);
    if (rule !== null) rules.push(rule);
  }
  if (rules.length === 0) return candidates;
  let blocked: Set<string>;
  try {
    const result = await frequency.check(userKey, rules, nowMs);
    blocked = new Set(result.counts.filter((c) => !c.allowed).map((c) => c.rule.id));
  } catch {
    blocked = new Set(rules.map((r) => r.id));
  }
  if (blocked.size === 0) return candidates;
  const out: C[] = [];
  for (const c of candidates) {
    if (!blocked.has(c.campaign.id)) {
      out.push(c);
      continue;
    }
    filtered.frequency_capped = (filtered.frequency_capped ?? 0) + 1;
    verdicts?.push({ campaign_id: c.campaign.id, result: 'filtered', reason: 'frequency_capped' });
  }
  return out;
}

/**
 * Stage (part of candidates): budgets and pacing, right after frequency caps. Synchronous, no
 * network call: each campaign with a budget needs a usable local lease (else
 * `budget_unavailable` / `budget_exhausted`) and passes the pacing throttle (else
 * `pacing_throttled`); see src/exchange/budget.ts. The one wait: a campaign whose period is
 * being set up right now (the first request of a new local day, or after the counters came
 * back) waits for that setup once instead of being filtered. Exported for the OpenRTB
 * endpoint's internal demand (src/exchange/rtb/internal-demand.ts).
 */
export async function applyBudgets<C extends Pick<Candidate, 'campaign'>>(
  budgets: BudgetManager | undefined,
  candidates: C[],
  nowMs: number,
  filtered: Partial<Record<FilterReason, number>>,
  verdicts: CandidateVerdict[] | null,
  /** How to wait for a campaign's budget setup (the decision deadline caps it); default: wait. */
  waitSetup: (setup: Promise<void>[]) => Promise<unknown> = (setup) => Promise.all(setup),
): Promise<C[]> {
  if (budgets === undefined) return candidates;
  const out: C[] = [];
  for (const c of candidates) {
    let reason = budgets.check(c.campaign, nowMs);
    if (reason === 'budget_unavailable') {
      const setup = budgets.pending(c.campaign.id);
      if (setup.length > 0) {
        await waitSetup(setup);
        reason = budgets.check(c.campaign, nowMs);
      }
    }
    if (reason === null) {
      out.push(c);
      continue;
    }
    filtered[reason] = (filtered[reason] ?? 0) + 1;
    verdicts?.push({ campaign_id: c.campaign.id, result: 'filtered', reason });
  }
  return out;
}

export class DecisionService {
  private readonly newId: () => string;
  private readonly prediction: PredictionStage;

  constructor(private readonly deps: DecisionDeps) {
    this.newId = deps.newId ?? randomUUID;
    this.prediction = deps.prediction ?? new PredictionStage(deps.config.priors);
  }

  /**
   * One decision. Without an observer or `explain` this is exactly the stages below (the hot
   * path pays for no timing); with an observer, the stage timings are measured and handed to
   * it, and the explain output is dropped unless asked for.
   */
  async decide(req: AdRequest, opts: DecideOptions = {}): Promise<DecisionOutcome> {
    const outcome = await this.decideObserved(req, opts);
    if (this.deps.emit !== undefined) this.deps.emit(this.decisionEvent(req, outcome));
    return outcome;
  }

  /** The `decision` event of one outcome (see `emit`). */
  private decisionEvent(req: AdRequest, outcome: DecisionOutcome): EventEnvelope<'decision'> {
    const data: EventPayloads['decision'] =
      outcome.kind === 'fill'
        ? {
            decision_id: outcome.fill.decision_id,
            placement_id: outcome.fill.placement_id,
            outcome: 'fill',
            campaign_id: outcome.fill.campaign_id,
            creative_id: outcome.fill.creative_id,
            price_micros: outcome.fill.price.price_micros,
          }
        : {
            decision_id: this.newId(),
            placement_id: req.placement_id,
            outcome: 'no_fill',
            reason: outcome.reason,
          };
    return {
      id: `decision:${data.decision_id}`,
      type: 'decision',
      v: EVENT_SCHEMA_VERSIONS.decision,
      occurred_at: new Date(this.deps.clock.nowMs()).toISOString(),
      data,
    };
  }

  private async decideObserved(req: AdRequest, opts: DecideOptions): Promise<DecisionOutcome> {
    const observer = this.deps.observer;
    const explaining = opts.explain === true;
    if (observer === undefined && !explaining) return this.runStages(req, opts);
    const startMonoMs = this.deps.clock.monotonicMs();
    const outcome = await this.runStages(req, { ...opts, explain: true });
    const e = outcome.explain;
    if (e === undefined) return outcome;
    const degraded = opts.deadline?.degraded ?? [];
    observer?.onDecision({ startMonoMs, stage_ms: e.stage_ms, outcome: outcome.kind, degraded });
    if (!explaining) {
      const { explain: _dropped, ...rest } = outcome;
      return rest as DecisionOutcome;
    }
    e.resilience = {
      degradation_level: this.deps.degradationLevel?.() ?? 'normal',
      degraded: [...degraded],
      budget_ms: opts.deadline?.budgetMs ?? null,
    };
    return outcome;
  }

  /**
   * Runs the stages. With `explain`, also records each stage's time and every campaign's
   * verdict; without it the hot path pays for neither. Async: the frequency step reads the
   * counters (in process memory, or one Redis round trip when capped candidates remain).
   */
  private async runStages(req: AdRequest, opts: DecideOptions): Promise<DecisionOutcome> {
    const { index, clock, config } = this.deps;
    const explaining = opts.explain === true;
    const nowMs = clock.nowMs();
    const t0 = explaining ? clock.monotonicMs() : 0;
    const lap = (from: number): number => clock.monotonicMs() - from;
    const stageMs = { placement: 0, candidates: 0, predict: 0, auction: 0, render: 0 };
    const verdicts: CandidateVerdict[] | null = explaining ? [] : null;

    const placement = resolvePlacement(index, req.placement_id);
    // Stage (issue 4): DSP demand, in flight while our own candidates are found and predicted.
    const external = this.deps.external?.start(req, placement, opts.deadline) ?? null;
    let t = explaining ? clock.monotonicMs() : 0;
    if (explaining) stageMs.placement = t - t0;

    const filtered: Partial<Record<FilterReason, number>> = {};
    const userId = req.user?.id;
    const userKey = userId === undefined || userId === '' ? null : frequencyUserKey(userId);
    const profileKey = userId === undefined || userId === '' ? null : profileUserKey(userId);
    // Stage (part of predict): the user's profile and engagement, read while the candidates
    // are found. Never rejects; its time overlaps the frequency step's.
    const deadline = opts.deadline;
    const userRead: Promise<UserFeatures> | null =
      profileKey !== null && this.deps.userFeatures !== undefined && this.prediction.usesFeatures()
        ? this.deps.userFeatures.read(
            profileKey,
            nowMs,
            deadline === undefined ? undefined : (call) => deadline.cut('profile', call),
          )
        : null;
    // The frequency step's time counts in the candidates stage.
    const capped = await applyFrequencyCaps(
      opts.deadline?.frequency(this.deps.frequency) ?? this.deps.frequency,
      retrieveCandidates(index, req, placement, nowMs, filtered, verdicts),
      userKey,
      nowMs,
      filtered,
      verdicts,
    );
    const candidates = await applyBudgets(
      this.deps.budgets,
      capped,
      nowMs,
      filtered,
      verdicts,
      deadline === undefined ? undefined : (setup) => deadline.budgetSetup(setup),
    );
    if (explaining) {
      stageMs.candidates = lap(t);
      t = clock.monotonicMs();
    }
    let summary: PredictionSummary = { ...config.priors, source: 'constant_prior' };
    let user: UserFeatures | null = null;
    const explain = (): DecisionExplain | undefined =>
      verdicts === null
        ? undefined
        : {
            stage_ms: stageMs,
            prediction: summary,
            ...(user !== null
              ? { user_features: { profile: user.profile, engagement: user.engagement } }
              : {}),
            floor_cpm_micros: placement.floor_cpm_micros,
            candidates: verdicts,
          };
    if (candidates.length === 0 && external === null) {
      const e = explain();
      return {
        kind: 'no_fill',
        reason: capped.length > 0 ? NoFillReason.BudgetExhausted : NoFillReason.NoEligibleCampaign,
        filtered,
        ...(e ? { explain: e } : {}),
      };
    }
    const byId = new Map(candidates.map((c) => [c.campaign.id, c]));
    // Stage: CTR/CVR prediction, all candidates in one batch.
    user = userRead === null ? null : await userRead;
    const predicted = this.prediction.predict(req, candidates, nowMs, user?.input);
    summary = predicted.summary;
    const predictionOf = new Map<string, Prediction>();
    const auctionInput: AuctionBid[] = candidates.map((c, i) => {
      const prediction = predicted.predictions[i] ?? config.priors;
      if (explaining) predictionOf.set(c.campaign.id, prediction);
      return {
        id: c.campaign.id,
        model: c.campaign.pricing_model,
        bid_micros: c.campaign.bid_micros,
        prediction,
      };
    });
    if (explaining) {
      stageMs.predict = lap(t);
      t = clock.monotonicMs();
    }
    // Stage (issue 4): the DSP bids join the auction (their wait counts in the auction stage).
    if (external !== null) {
      auctionInput.push(...(await external.bids()));
      if (auctionInput.length === 0) {
        const e = explain();
        return {
          kind: 'no_fill',
          reason: NoFillReason.NoEligibleCampaign,
          filtered,
          ...(e ? { explain: e } : {}),
        };
      }
    }
    let outcome = runAuction(auctionInput, {
      mechanism: 'second_price',
      slot_factors: [1],
      reserve_cpm_micros: placement.floor_cpm_micros,
      increment_micros: config.incrementMicros,
    });
    // Budget reservation: the winner reserves its charge before the decision returns; a winner
    // whose lease cannot pay is filtered (budget_exhausted) and the auction re-run without it.
    const decisionId = this.newId();
    let reservation: BudgetReservation | null = null;
    let budgetDropped = 0;
    for (let w = outcome.winners[0]; w !== undefined && this.deps.budgets; w = outcome.winners[0]) {
      const c = byId.get(w.id);
      if (c === undefined) break;
      const micros = BudgetManager.reservationMicros(
        c.campaign.pricing_model,
        w.price_micros,
        auctionInput.find((b) => b.id === w.id)?.prediction ?? config.priors,
      );
      reservation = this.deps.budgets.reserve(
        c.campaign,
        decisionId,
        micros,
        nowMs + config.trackingTtlMs,
      );
      if (reservation !== null) break;
      budgetDropped++;
      filtered.budget_exhausted = (filtered.budget_exhausted ?? 0) + 1;
      verdicts?.push({ campaign_id: w.id, result: 'filtered', reason: 'budget_exhausted' });
      const rest = auctionInput.filter((b) => b.id !== w.id);
      auctionInput.length = 0;
      auctionInput.push(...rest);
      outcome = runAuction(auctionInput, {
        mechanism: 'second_price',
        slot_factors: [1],
        reserve_cpm_micros: placement.floor_cpm_micros,
        increment_micros: config.incrementMicros,
      });
    }
    if (explaining) {
      stageMs.auction = lap(t);
      t = clock.monotonicMs();
    }
    if (verdicts !== null) {
      for (const l of outcome.losers) {
        verdicts.push({
          campaign_id: l.id,
          creative_id: byId.get(l.id)?.creative.id ?? '',
          result: 'lost',
          reason: l.reason,
          reason_name: lossReasonName(l.reason),
          ecpm_micros: Math.round(l.ecpm_micros),
          prediction: predictionOf.get(l.id) ?? config.priors,
        });
      }
    }
    const top = outcome.winners[0];
    const dspFill = external === null ? null : external.settle(outcome, this.newId, profileKey);
    if (dspFill !== null) {
      const e = explain();
      return { kind: 'fill', fill: dspFill, ...(e ? { explain: e } : {}) };
    }
    const winner = top === undefined ? undefined : byId.get(top.id);
    if (top === undefined || winner === undefined) {
      filtered.below_floor = outcome.losers.length;
      const e = explain();
      return {
        kind: 'no_fill',
        reason:
          budgetDropped > 0 && outcome.losers.length === 0
            ? NoFillReason.BudgetExhausted
            : NoFillReason.AllBelowFloor,
        filtered,
        ...(e ? { explain: e } : {}),
      };
    }
    const fill = this.render(
      winner,
      placement,
      top.price_micros,
      top.clearing_ecpm_micros,
      nowMs,
      userKey,
      profileKey,
      decisionId,
      reservation,
    );
    this.deps.featureLog?.record({
      decisionId,
      decidedAtMs: nowMs,
      input: candidateInput(req, winner, nowMs, user?.input),
    });
    if (verdicts !== null) {
      stageMs.render = lap(t);
      verdicts.push({
        campaign_id: top.id,
        creative_id: winner.creative.id,
        result: 'won',
        ecpm_micros: Math.round(top.ecpm_micros),
        clearing_cpm_micros: fill.price.clearing_cpm_micros,
        price_micros: top.price_micros,
        prediction: predictionOf.get(top.id) ?? config.priors,
      });
    }
    const e = explain();
    return { kind: 'fill', fill, ...(e ? { explain: e } : {}) };
  }

  /** Stage: the response, with signed impression and click URLs. */
  private render(
    c: Candidate,
    placement: Placement,
    priceMicros: number,
    clearingCpmMicros: number,
    nowMs: number,
    userKey: string | null,
    profileKey: string | null,
    decisionId: string,
    reservation: BudgetReservation | null,
  ): Fill {
    const { signer, config } = this.deps;
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
      ...(reservation !== null && reservation.leases.length > 0 ? { bl: reservation.leases } : {}),
      // The hashed profile key: the events feed the user's 7-day engagement (never the raw id).
      ...(profileKey !== null ? { pu: profileKey } : {}),
    };
    // A capped campaign's impression is counted for this user (hashed key) by the event.
    const cap = c.campaign.frequency_cap;
    const freq =
      userKey !== null && cap !== null ? { uk: userKey, fw: cap.period_seconds * 1000 } : {};
    const imp = signer.sign({ ...base, k: 'imp', ...freq });
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
