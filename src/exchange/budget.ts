/**
 * BudgetManager: this process's budget leases, one set per campaign × period (the local day in
 * the campaign's time zone for a daily budget, `lifetime` for a lifetime budget), taken from the
 * shared BudgetCounters (src/ports/budget-counters.ts) OFF the hot path and spent ON it with no
 * network call (issue 6 items 1-4; why: docs/decisions/0009-budget-leases.md).
 *
 * The decision path calls two synchronous methods:
 *   - `check(campaign)`: null when the campaign may compete, else a FilterReason —
 *     `budget_unavailable` (no usable lease yet, counters unreachable, counters lost and not
 *     rebuilt: fail closed), `budget_exhausted` (the period's budget is granted out or spent),
 *     `pacing_throttled` (even/frontloaded pacing is ahead of the target curve). It also starts
 *     an asynchronous refill when a lease runs low, ahead of need.
 *   - `reserve(...)`: reserves the winner's maximum charge from every period's lease before the
 *     decision returns; the lease ids go into the impression token, and the impression (click
 *     for CPC) turns that into spend with `BudgetCounters.recordSpend`, idempotent by the
 *     ledger's event key (src/exchange/events.ts).
 *
 * What is reserved. CPM: the impression's exact charge, round(price / 1000) — so the sum of
 * all charges against a lease can never exceed the lease, and the sum of leases never exceeds
 * the budget (the counters' check-and-decrement): overspend 0. CPC/CPA: the charge is not
 * known at decision time (a click may or may not follow), so a decision reserves the EXPECTED
 * charge (price × predicted CTR, × CVR for CPA, rounded up, ≥ 1 micro) and every lease keeps a
 * per-campaign EXPOSURE RESERVE of `exposureReserveCharges` full charges unreserved. Clicks
 * beyond reservations + that reserve are refused by the counters (`exceeds_lease`) and
 * reported separately (`exposureOverrunMicros`, a metric) — this is the bounded, reported
 * exposure of non-CPM pricing, not a zero bound.
 *
 * Leases are use-once. A reservation stays reserved until its lease is returned: the impression
 * may be recorded by another process, so this one cannot know a reservation went unused until
 * its tracking token has expired. A lease therefore serves reservations only during its serve
 * window (`leaseServeWindowMs` after the grant) and expires `trackingTtlMs + expiryGraceMs`
 * after that: every token it backs has expired by then, so returning or reclaiming it can only
 * give back budget, never let spend arrive late. The owner returns it at expiry, or as soon as
 * every reservation was committed in this process; if the owner dies, any process's timeout
 * monitor (`tick`, BudgetCounters.reclaimExpired) reclaims it. Cost: budget reserved for
 * impressions that never fire is stranded until the lease expires (under-delivery, never
 * overspend).
 *
 * Pacing. `asap` serves until the budget is gone. `even` / `frontloaded` (src/core/pacing/
 * throttle.ts) compare "spent today" with the target curve, shaped by the campaign's hourly
 * traffic forecast: every `check` counts one opportunity by local hour
 * (src/core/pacing/traffic.ts), whole past days are learned, and a day's forecast is fixed
 * when the day starts (flat until this process has seen one whole day). Spent = the
 * counters' recorded spend at the last monitor tick + this process's reservations since, an
 * estimate that lags other processes by one tick. Catch-up: a campaign back from a pause (gone
 * from the catalog, or its budget unavailable) of `pauseReplanMs` or more re-plans the rest of
 * its day from the resumption (the missed share spread over the remaining forecast, no
 * burst). Only daily budgets are paced; a lifetime-only campaign is limited, not paced.
 *
 * Counters lost (Redis restarted empty): a period whose counters answer `unknown_budget` after
 * this process had set them is marked lost and its campaign filtered (`budget_unavailable`)
 * until `rebuild` (wired to the ledger) has restored spent + open leases; only then is serving
 * resumed. Never is a lost period re-created with its full budget.
 */
import { randomUUID } from 'node:crypto';
import type { Campaign } from '../core/domain/entities.js';
import {
  dayFraction,
  HourlyTrafficHistory,
  HOURS_PER_DAY,
  LocalLease,
  leaseSizeMicros,
  localDay,
  throttleProbability,
} from '../core/pacing/index.js';
import type { LocalDay } from '../core/pacing/index.js';
import type { FilterReason } from '../core/reasons.js';
import type { BudgetCounters, CampaignPeriod, RestoredLease } from '../ports/budget-counters.js';
import type { Clock } from '../ports/clock.js';

export const LIFETIME_PERIOD = 'lifetime';

/** A lease grant or return, for the lease table in the ledger database. */
export type LeaseEvent =
  | {
      kind: 'grant';
      campaignId: string;
      period: string;
      leaseId: string;
      serverId: string;
      micros: number;
      expiresAtMs: number;
      atMs: number;
    }
  | {
      /** 'shrink': the unreserved part of a lease that stopped serving, given back early. */
      kind: 'return' | 'shrink';
      campaignId: string;
      period: string;
      leaseId: string;
      serverId: string;
      micros: number;
      atMs: number;
    };

/**
 * What lost (or never created) counters of one period are rebuilt from: the ledger's recorded
 * spend for the period, and the micros granted to leases that were still open (lease table)
 * with the latest of their expiries — their tokens may still bring spend.
 */
export interface RebuildInput {
  spentMicros: number;
  heldMicros: number;
  heldUntilMs: number;
  /**
   * The ledger rows behind `spentMicros` (event key = the counters' spend key, micros). When
   * given, every row is recorded under its own key, so a duplicate of an event counted before
   * the loss is recognised as a duplicate after the rebuild instead of being charged again.
   */
  spends?: readonly { key: string; micros: number }[];
  /** The open leases themselves, re-created under their own ids (instead of, or with, a hold). */
  openLeases?: readonly RestoredLease[];
}
export type BudgetRebuildSource = (
  key: CampaignPeriod,
  budgetMicros: number,
  /** The local day of a daily period (null for lifetime). */
  day: LocalDay | null,
) => Promise<RebuildInput>;

/** The lease that holds open leases' budget after a rebuild; spend of a lost lease goes here. */
export function holdLeaseId(period: string): string {
  return `rebuild-hold:${period}`;
}

/**
 * The closed lease a rebuild records the ledger's spend on. Spend of a lost lease that the
 * hold cannot take is recorded on it as `late` (counted, from remaining), never left out.
 */
export function rebuildLeaseId(period: string): string {
  return `rebuild:${period}`;
}

export interface BudgetManagerOptions {
  counters: BudgetCounters;
  clock: Clock;
  /** This process (lease owner), e.g. host:pid:random. */
  serverId: string;
  trackingTtlMs: number;
  /** Processes expected to share a campaign (for lease sizing); default 1. */
  servers?: number;
  /** Uniform [0, 1) draws for the pacing throttle; default Math.random. */
  random?: () => number;
  /** How long a lease takes new reservations after its grant; default 60 s. */
  leaseServeWindowMs?: number;
  /** Added to a lease's expiry for clock skew between processes; default 60 s. */
  expiryGraceMs?: number;
  /** Lease chunk while the budget is plentiful, as a fraction of the period's budget; default 0.05. */
  chunkFraction?: number;
  /** CPC/CPA: full charges kept unreserved in every lease for clicks; default 5. */
  exposureReserveCharges?: number;
  newLeaseId?: () => string;
  /**
   * A lease grant or return, for the lease log. For a grant, a returned promise is awaited
   * before the lease serves (a rebuild after a Redis loss must find every lease that can bring
   * spend); if it rejects, the lease is returned unused.
   */
  onLease?: (e: LeaseEvent) => void | Promise<void>;
  onError?: (e: unknown, what: string) => void;
  rebuild?: BudgetRebuildSource;
  /** Hourly opportunity counts the pacing forecast is learned from; default: a new one. */
  traffic?: HourlyTrafficHistory;
  /**
   * A campaign that could not serve (paused, or its budget unavailable) for at least this long
   * re-plans the rest of its day on resumption (catch-up spread over the remaining forecast,
   * not a burst); default 5 min.
   */
  pauseReplanMs?: number;
}

/** What a decision reserved: one lease per budget period of the campaign. */
export interface BudgetReservation {
  campaignId: string;
  micros: number;
  /** [period, leaseId] pairs; carried in the tracking token claims (`bl`). */
  leases: [string, string][];
}

interface LeaseSlot {
  lease: LocalLease;
  serveUntilMs: number;
  expiresAtMs: number;
}

type PeriodStatus = 'pending' | 'ok' | 'exhausted' | 'unknown' | 'lost' | 'error';

interface PeriodState {
  key: CampaignPeriod;
  budgetMicros: number;
  /** Budget last written with setBudget (null: not yet). */
  setMicros: number | null;
  status: PeriodStatus;
  leases: LeaseSlot[];
  /** Leases past serving, waiting for return. */
  draining: LeaseSlot[];
  refill: Promise<void> | null;
  setup: Promise<void> | null;
  remainingMicros: number;
  /** Recorded spend at the last state read, and this process's reservations since. */
  spentAtTickMicros: number;
  reservedSinceTickMicros: number;
  day: LocalDay | null;
  /** Traffic forecast of the day (daily periods; fixed when the day starts). */
  forecast: readonly number[];
  /** Catch-up: the day is re-planned from this resumption (null: from the day's start). */
  resumedAtMs: number | null;
  spentAtResumeMicros: number | null;
  /** Since when the period has been unable to serve (null: serving). */
  unservableSinceMs: number | null;
  /** The monitor tick at which counters this process had set were found lost. */
  lostAtTick: number | null;
}

interface CampaignState {
  campaign: Campaign;
  daily: PeriodState | null;
  lifetime: PeriodState | null;
}

/** The largest single charge one decision of this campaign can reserve (a lease's floor). */
export function maxChargeMicros(campaign: Campaign): number {
  if (campaign.pricing_model === 'cpm') return Math.max(1, Math.round(campaign.bid_micros / 1000));
  return Math.max(1, campaign.bid_micros);
}

export class BudgetManager {
  private readonly campaigns = new Map<string, CampaignState>();
  private readonly random: () => number;
  private readonly serveWindowMs: number;
  private readonly graceMs: number;
  private readonly chunkFraction: number;
  private readonly exposureCharges: number;
  private readonly newLeaseId: () => string;
  private readonly pauseReplanMs: number;
  private ticks = 0;
  /** Campaigns gone from the catalog (paused), with when they went. */
  private readonly pausedAt = new Map<string, number>();
  readonly traffic: HourlyTrafficHistory;
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;
  /** Click/action spend refused by the counters beyond the exposure reserve (reported). */
  exposureOverrunMicros = 0;
  leasesGranted = 0;
  leasesReturned = 0;
  /** Unreserved micros of drained leases given back before their expiry (shrinkLease). */
  leaseMicrosReturnedEarly = 0;

  constructor(private readonly opts: BudgetManagerOptions) {
    this.random = opts.random ?? Math.random;
    this.serveWindowMs = opts.leaseServeWindowMs ?? 60_000;
    this.graceMs = opts.expiryGraceMs ?? 60_000;
    this.chunkFraction = opts.chunkFraction ?? 0.05;
    this.exposureCharges = opts.exposureReserveCharges ?? 5;
    this.newLeaseId = opts.newLeaseId ?? (() => `${opts.serverId}:${randomUUID()}`);
    this.traffic = opts.traffic ?? new HourlyTrafficHistory();
    this.pauseReplanMs = opts.pauseReplanMs ?? 300_000;
  }

  /** Campaigns with a daily or lifetime budget; others are not budget-limited. */
  static budgeted(c: Campaign): boolean {
    return c.daily_budget_micros !== null || c.lifetime_budget_micros !== null;
  }

  /**
   * Adopts the catalog (on start and every index refresh): new or changed budgets are written
   * with setBudget, each budgeted campaign gets a first lease, campaigns gone lose theirs.
   * Resolves when that is done (the runtime awaits it before serving and after admin writes).
   */
  async sync(campaigns: readonly Campaign[]): Promise<void> {
    const nowMs = this.opts.clock.nowMs();
    const seen = new Set<string>();
    const work: Promise<void>[] = [];
    for (const campaign of campaigns) {
      if (!BudgetManager.budgeted(campaign)) continue;
      seen.add(campaign.id);
      let st = this.campaigns.get(campaign.id);
      const isNew = st === undefined;
      if (st === undefined) {
        st = { campaign, daily: null, lifetime: null };
        this.campaigns.set(campaign.id, st);
      }
      st.campaign = campaign;
      this.rollPeriods(st, nowMs);
      const pausedAt = this.pausedAt.get(campaign.id);
      this.pausedAt.delete(campaign.id);
      if (isNew && pausedAt !== undefined && st.daily?.day) {
        // Resumed after a pause: re-plan the rest of the day if the pause was long enough.
        if (nowMs - Math.max(pausedAt, st.daily.day.startMs) >= this.pauseReplanMs) {
          st.daily.resumedAtMs = nowMs;
        }
      }
      for (const p of [st.daily, st.lifetime]) {
        if (p === null) continue;
        work.push(this.ensure(st, p));
      }
    }
    for (const [id, st] of this.campaigns) {
      if (seen.has(id)) continue;
      this.campaigns.delete(id);
      this.pausedAt.set(id, nowMs);
      this.traffic.interrupt(id);
      for (const p of [st.daily, st.lifetime]) {
        if (p === null) continue;
        p.draining.push(...p.leases);
        p.leases = [];
        work.push(this.returnDrained(p, nowMs, true, this.holdback(st)));
      }
    }
    await Promise.all(work);
  }

  /** Creates or moves the period states to the current day / budgets. */
  private rollPeriods(st: CampaignState, nowMs: number): void {
    const c = st.campaign;
    if (c.daily_budget_micros === null) st.daily = null;
    else {
      const cur = st.daily;
      if (cur === null || cur.day === null || nowMs >= cur.day.endMs) {
        if (cur !== null) this.drainAll(cur);
        const day = localDay(nowMs, c.time_zone);
        // The new day is counted whole when we were counting the day that ended at its start,
        // or counting starts in its first minute.
        this.traffic.startDay(
          c.id,
          day.dayKey,
          cur?.day?.endMs === day.startMs || nowMs - day.startMs < 60_000,
        );
        st.daily = newPeriod(
          { campaignId: c.id, period: day.dayKey },
          c.daily_budget_micros,
          day,
          this.traffic.forecast(c.id),
        );
      } else this.setPeriodBudget(cur, c.daily_budget_micros);
    }
    if (c.lifetime_budget_micros === null) st.lifetime = null;
    else if (st.lifetime === null) {
      st.lifetime = newPeriod(
        { campaignId: c.id, period: LIFETIME_PERIOD },
        c.lifetime_budget_micros,
        null,
        [],
      );
    } else this.setPeriodBudget(st.lifetime, c.lifetime_budget_micros);
  }

  /**
   * A lowered budget stops this process's leases from serving (they are returned once their
   * reservations settle), so the new budget applies now, not after the leases run out.
   */
  private setPeriodBudget(p: PeriodState, budgetMicros: number): void {
    if (budgetMicros < p.budgetMicros) this.drainAll(p);
    p.budgetMicros = budgetMicros;
  }

  private drainAll(p: PeriodState): void {
    p.draining.push(...p.leases);
    p.leases = [];
  }

  /** setBudget when new or changed (never on a lost period), then a lease when none serves. */
  private async ensure(st: CampaignState, p: PeriodState): Promise<void> {
    try {
      if (p.draining.length > 0 && p.status !== 'lost') {
        await this.returnDrained(p, this.opts.clock.nowMs(), false, this.holdback(st));
      }
      if (p.status === 'lost') {
        await this.tryRebuild(p);
        if (p.status === 'lost') return;
      }
      if (p.setMicros !== p.budgetMicros) {
        if (p.setMicros !== null) {
          // Changing a budget we set before: the counters must still exist, else they were lost.
          const s = await this.opts.counters.state(p.key);
          if (s === null) {
            this.markLost(p);
            return;
          }
        } else {
          const s = await this.opts.counters.state(p.key);
          if (s === null && this.opts.rebuild !== undefined) {
            // No counters (first start, a restart with in-memory counters, or lost before we
            // saw them): created from the ledger, never with the full budget blindly.
            p.status = 'lost';
            await this.tryRebuild(p);
            if (p.status === 'lost') return;
          } else if (s !== null && s.budgetMicros === p.budgetMicros) {
            // Counters another process (or an earlier run) created are adopted, not reset.
            p.setMicros = p.budgetMicros;
            p.spentAtTickMicros = s.spentMicros;
            p.remainingMicros = s.remainingMicros;
          }
        }
        if (p.setMicros !== p.budgetMicros) {
          const s = await this.opts.counters.setBudget(p.key, p.budgetMicros);
          p.setMicros = p.budgetMicros;
          p.spentAtTickMicros = s.spentMicros;
          p.remainingMicros = s.remainingMicros;
        }
        if (p.status === 'exhausted' || p.status === 'pending' || p.status === 'error') {
          p.status = 'ok';
        }
      }
      if (this.servingMicros(st, p) < this.refillAtMicros(st, p)) await this.refill(st, p);
    } catch (e) {
      p.status = p.leases.length > 0 ? p.status : 'error';
      this.opts.onError?.(e, 'budget sync');
    }
  }

  /**
   * Counters this process had set are gone (Redis restarted empty): fail closed, drop the
   * leases (they died with the counters), rebuild after one whole monitor interval.
   */
  private markLost(p: PeriodState): void {
    if (p.status !== 'lost') p.lostAtTick = this.ticks;
    p.status = 'lost';
    p.leases = [];
    p.draining = [];
  }

  private async tryRebuild(p: PeriodState): Promise<void> {
    const rebuild = this.opts.rebuild;
    if (rebuild === undefined) return;
    // Settle: impressions counted in the lost counters just before the loss may still be on
    // their way to the ledger; at least one whole monitor interval later (the second tick
    // after the loss was seen) they have landed, and the ledger the rebuild reads holds them
    // (else their spend would be in neither the counters nor the rebuild).
    if (p.lostAtTick !== null && this.ticks - p.lostAtTick < 2) return;
    try {
      // Another process may have rebuilt it already.
      const existing = await this.opts.counters.state(p.key);
      if (existing === null) {
        const input = await rebuild(p.key, p.budgetMicros, p.day);
        await restoreCounters(this.opts.counters, p.key, p.budgetMicros, input, this.opts);
      }
      // Our own leases died with the counters: their spend cannot be recorded; drop them.
      p.leases = [];
      p.draining = [];
      p.setMicros = p.budgetMicros;
      p.status = 'ok';
      p.lostAtTick = null;
      const s = await this.opts.counters.state(p.key);
      if (s !== null) {
        p.spentAtTickMicros = s.spentMicros;
        p.remainingMicros = s.remainingMicros;
      }
    } catch (e) {
      this.opts.onError?.(e, 'budget rebuild');
    }
  }

  /** Unreserved micros across serving leases (minus the exposure reserve for CPC/CPA). */
  private servingMicros(st: CampaignState, p: PeriodState): number {
    const nowMs = this.opts.clock.nowMs();
    let sum = 0;
    for (const s of p.leases) {
      if (s.serveUntilMs > nowMs) sum += Math.max(0, s.lease.availableMicros - this.holdback(st));
    }
    return sum;
  }

  private holdback(st: CampaignState): number {
    return st.campaign.pricing_model === 'cpm'
      ? 0
      : this.exposureCharges * maxChargeMicros(st.campaign);
  }

  private chunkFor(st: CampaignState, p: PeriodState): number {
    const min = maxChargeMicros(st.campaign) + this.holdback(st);
    return leaseSizeMicros({
      budgetMicros: p.budgetMicros,
      remainingMicros: p.remainingMicros,
      servers: this.opts.servers ?? 1,
      baseChunkMicros: Math.floor(p.budgetMicros * this.chunkFraction),
      minChunkMicros: min,
    });
  }

  /** Refill when less than half a chunk (and at least one charge) is left to serve. */
  private refillAtMicros(st: CampaignState, p: PeriodState): number {
    const base = Math.floor(p.budgetMicros * this.chunkFraction);
    return Math.max(maxChargeMicros(st.campaign), Math.floor(base / 2));
  }

  /** Background setup/refill of one period (deduplicated): setBudget or rebuild, then a lease. */
  private kick(st: CampaignState, p: PeriodState): void {
    if (p.setup !== null || this.closed) return;
    const job = this.ensure(st, p).finally(() => {
      p.setup = null;
    });
    p.setup = job;
    this.track(job);
  }

  /**
   * The background setup of a campaign's periods started by `check`, if any: a caller that may
   * wait (the first decision of a new local day) can await it and check again.
   */
  pending(campaignId: string): Promise<void>[] {
    const st = this.campaigns.get(campaignId);
    if (st === undefined) return [];
    const out: Promise<void>[] = [];
    for (const p of [st.daily, st.lifetime]) if (p?.setup) out.push(p.setup);
    return out;
  }

  private track(job: Promise<void>): void {
    this.inflight.add(job);
    void job.finally(() => this.inflight.delete(job));
  }

  private refill(st: CampaignState, p: PeriodState): Promise<void> {
    if (p.refill !== null) return p.refill;
    p.refill = (async () => {
      const nowMs = this.opts.clock.nowMs();
      const requested = this.chunkFor(st, p) || maxChargeMicros(st.campaign) + this.holdback(st);
      const leaseId = this.newLeaseId();
      const serveUntilMs = nowMs + this.serveWindowMs;
      const expiresAtMs = serveUntilMs + this.opts.trackingTtlMs + this.graceMs;
      try {
        const r = await this.opts.counters.grantLease({
          ...p.key,
          leaseId,
          serverId: this.opts.serverId,
          requestedMicros: requested,
          expiresAtMs,
        });
        p.remainingMicros = r.remainingMicros;
        if (r.status === 'unknown_budget') {
          if (p.setMicros !== null) this.markLost(p);
          else p.status = 'unknown';
          return;
        }
        if (r.status === 'exhausted') {
          p.status = 'exhausted';
          return;
        }
        try {
          // Logged before it serves: a rebuild's hold must include every lease with tokens.
          await this.opts.onLease?.({
            kind: 'grant',
            campaignId: p.key.campaignId,
            period: p.key.period,
            leaseId,
            serverId: this.opts.serverId,
            micros: r.grantedMicros,
            expiresAtMs,
            atMs: nowMs,
          });
        } catch (e) {
          await this.opts.counters.returnLease(p.key, leaseId).catch(() => undefined);
          throw e;
        }
        p.status = 'ok';
        this.leasesGranted++;
        p.leases.push({
          lease: new LocalLease(leaseId, r.grantedMicros),
          serveUntilMs,
          expiresAtMs,
        });
      } catch (e) {
        if (p.leases.length === 0) p.status = 'error';
        throw e;
      }
    })().finally(() => {
      p.refill = null;
    });
    return p.refill;
  }

  /**
   * Hot path, synchronous: may this campaign compete now? null = yes (or not budget-limited).
   * Starts a refill in the background when a lease runs low.
   */
  check(campaign: Campaign, nowMs: number): FilterReason | null {
    if (!BudgetManager.budgeted(campaign)) return null;
    const st = this.campaigns.get(campaign.id);
    if (st === undefined) return 'budget_unavailable';
    // A new local day: the new period is created here, its counters set up off the hot path.
    if (st.daily !== null && st.daily.day !== null && nowMs >= st.daily.day.endMs)
      this.rollPeriods(st, nowMs);
    const today = st.daily?.day;
    if (today) {
      this.traffic.observe(
        campaign.id,
        today.dayKey,
        Math.floor(dayFraction(nowMs, today) * HOURS_PER_DAY),
      );
    }
    const need = this.expectedMinimum(st);
    let reason: FilterReason | null = null;
    for (const p of [st.daily, st.lifetime]) {
      if (p === null) continue;
      const serving = this.servingMicros(st, p);
      // Every period is looked at (and refilled) even when an earlier one already says no.
      if (serving < this.refillAtMicros(st, p) && p.status !== 'exhausted') this.kick(st, p);
      if (serving < need && reason !== 'budget_exhausted') {
        reason = p.status === 'exhausted' ? 'budget_exhausted' : 'budget_unavailable';
      }
    }
    const d = st.daily;
    if (reason !== null) {
      if (d !== null && reason === 'budget_unavailable') d.unservableSinceMs ??= nowMs;
      return reason;
    }
    if (d !== null && d.day !== null && campaign.pacing !== 'asap') {
      const spent = d.spentAtTickMicros + d.reservedSinceTickMicros;
      if (d.unservableSinceMs !== null) {
        // Catch-up after a long outage of this campaign's budget: re-plan from now.
        if (nowMs - d.unservableSinceMs >= this.pauseReplanMs) d.resumedAtMs = nowMs;
        d.unservableSinceMs = null;
      }
      if (d.resumedAtMs !== null && d.spentAtResumeMicros === null) d.spentAtResumeMicros = spent;
      const prob = throttleProbability({
        mode: campaign.pacing,
        budgetMicros: d.budgetMicros,
        spentMicros: spent,
        nowMs,
        day: d.day,
        forecast: d.forecast,
        ...(d.resumedAtMs !== null
          ? { resumedAtMs: d.resumedAtMs, spentAtResumeMicros: d.spentAtResumeMicros ?? spent }
          : {}),
      });
      if (prob > 0 && this.random() < prob) return 'pacing_throttled';
    }
    return null;
  }

  private catalog(): Campaign[] {
    return [...this.campaigns.values()].map((s) => s.campaign);
  }

  private expectedMinimum(st: CampaignState): number {
    return st.campaign.pricing_model === 'cpm' ? maxChargeMicros(st.campaign) : 1;
  }

  /**
   * The micros a decision reserves for a winner at `priceMicros` (its own billing unit):
   * CPM the exact impression charge; CPC/CPA the expected charge (see the notes at the top).
   */
  static reservationMicros(
    model: Campaign['pricing_model'],
    priceMicros: number,
    prediction: { ctr: number; cvr: number },
  ): number {
    if (model === 'cpm') return Math.round(priceMicros / 1000);
    const p = model === 'cpc' ? prediction.ctr : prediction.ctr * prediction.cvr;
    const x = Math.ceil(priceMicros * Math.min(1, Math.max(0, p)));
    return Math.max(1, Number.isFinite(x) ? x : priceMicros);
  }

  /**
   * Reserves `micros` for decision `key` from every budget period's lease of the campaign;
   * all or nothing. Null: the campaign cannot pay for it now (fall to the next candidate).
   * Campaigns without a budget get an empty reservation.
   */
  reserve(
    campaign: Campaign,
    key: string,
    micros: number,
    tokenExpiresAtMs: number,
  ): BudgetReservation | null {
    if (!BudgetManager.budgeted(campaign)) {
      return { campaignId: campaign.id, micros, leases: [] };
    }
    const st = this.campaigns.get(campaign.id);
    if (st === undefined) return null;
    const nowMs = this.opts.clock.nowMs();
    const hold = this.holdback(st);
    const taken: [PeriodState, LeaseSlot][] = [];
    for (const p of [st.daily, st.lifetime]) {
      if (p === null) continue;
      const slot = p.leases.find(
        (s) =>
          s.serveUntilMs > nowMs &&
          tokenExpiresAtMs <= s.expiresAtMs - this.graceMs &&
          s.lease.availableMicros - hold >= micros,
      );
      if (slot === undefined || slot.lease.reserve(key, micros, tokenExpiresAtMs) !== 'reserved') {
        for (const [, s] of taken) s.lease.release(key);
        return null;
      }
      taken.push([p, slot]);
    }
    for (const [p] of taken) p.reservedSinceTickMicros += micros;
    return {
      campaignId: campaign.id,
      micros,
      leases: taken.map(([p, s]) => [p.key.period, s.lease.leaseId]),
    };
  }

  /** Gives a reservation back (the winner did not serve after all). */
  release(r: BudgetReservation, key: string): void {
    const st = this.campaigns.get(r.campaignId);
    if (st === undefined) return;
    for (const [period, leaseId] of r.leases) {
      const p = st.daily?.key.period === period ? st.daily : st.lifetime;
      const slot = p?.leases.find((s) => s.lease.leaseId === leaseId);
      if (p && slot && slot.lease.release(key) === 'released') {
        p.reservedSinceTickMicros = Math.max(0, p.reservedSinceTickMicros - r.micros);
      }
    }
  }

  /**
   * The impression of a decision this process reserved was recorded: the reservation becomes
   * local spend (so a lease whose every reservation was settled can be returned early).
   * Unknown keys (another process's decision) are ignored.
   */
  settleLocal(
    campaignId: string,
    leases: readonly [string, string][],
    key: string,
    micros: number,
  ): void {
    const st = this.campaigns.get(campaignId);
    if (st === undefined) return;
    for (const [period, leaseId] of leases) {
      for (const p of [st.daily, st.lifetime]) {
        if (p === null || p.key.period !== period) continue;
        for (const s of [...p.leases, ...p.draining]) {
          if (s.lease.leaseId === leaseId) s.lease.commit(key, micros);
        }
      }
    }
  }

  /**
   * The timeout monitor's step (run on an interval): reclaims every period's expired leases
   * (any process's, so a dead process's budget comes back), returns this process's drained
   * leases, refreshes recorded spend for pacing, detects lost counters, rolls days.
   */
  async tick(): Promise<void> {
    this.ticks++;
    const nowMs = this.opts.clock.nowMs();
    const work: Promise<void>[] = [];
    for (const st of this.campaigns.values()) {
      this.rollPeriods(st, nowMs);
      for (const p of [st.daily, st.lifetime]) {
        if (p === null) continue;
        work.push(this.tickPeriod(st, p, nowMs));
      }
    }
    await Promise.all(work);
  }

  private async tickPeriod(st: CampaignState, p: PeriodState, nowMs: number): Promise<void> {
    try {
      // Leases past their serve window, or unable to pay one more charge, stop serving.
      const keep: LeaseSlot[] = [];
      for (const s of p.leases) {
        if (
          s.serveUntilMs <= nowMs ||
          s.lease.availableMicros - this.holdback(st) < this.expectedMinimum(st)
        ) {
          p.draining.push(s);
        } else keep.push(s);
      }
      p.leases = keep;
      await this.returnDrained(p, nowMs, false, this.holdback(st));
      if (p.status !== 'lost') {
        await this.opts.counters.reclaimExpired(p.key, nowMs - this.graceMs);
        const s = await this.opts.counters.state(p.key);
        if (s === null && p.setMicros !== null) {
          this.markLost(p);
        } else if (s !== null) {
          p.spentAtTickMicros = s.spentMicros;
          p.reservedSinceTickMicros = 0;
          p.remainingMicros = s.remainingMicros;
          if (p.status === 'exhausted' && s.remainingMicros > 0) p.status = 'ok';
        }
      }
      await this.ensure(st, p);
    } catch (e) {
      this.opts.onError?.(e, 'budget monitor');
    }
  }

  /**
   * Returns drained leases that can be returned safely: expired (every token they back has
   * expired), or with no open reservation left. With `all` (shutdown, campaign gone) the same
   * rule applies: a lease with open reservations is left to the timeout monitor.
   */
  private async returnDrained(
    p: PeriodState,
    nowMs: number,
    _all: boolean,
    hold: number,
  ): Promise<void> {
    const left: LeaseSlot[] = [];
    for (const s of p.draining) {
      if (s.expiresAtMs - this.graceMs > nowMs && s.lease.openReservations > 0) {
        left.push(s);
        // Early partial return: a drained lease takes no new reservations, so its unreserved
        // part (beyond the CPC/CPA exposure reserve) can never be spent; it goes back now, and
        // the outstanding reservations stay covered until they settle or the lease expires.
        const give = s.lease.shrink(Math.max(0, s.lease.availableMicros - hold));
        if (give > 0) {
          const r = await this.opts.counters.shrinkLease(p.key, s.lease.leaseId, give);
          if (r.status === 'returned') {
            this.leaseMicrosReturnedEarly += r.returnedMicros;
            // For the lease log: a rebuild re-creates this lease without the part given back
            // (never reserved: the local lease shrank first, so no token can spend it).
            this.opts.onLease?.({
              kind: 'shrink',
              campaignId: p.key.campaignId,
              period: p.key.period,
              leaseId: s.lease.leaseId,
              serverId: this.opts.serverId,
              micros: give,
              atMs: nowMs,
            });
          }
        }
        continue;
      }
      const r = await this.opts.counters.returnLease(p.key, s.lease.leaseId);
      if (r.status === 'returned') {
        this.leasesReturned++;
        this.opts.onLease?.({
          kind: 'return',
          campaignId: p.key.campaignId,
          period: p.key.period,
          leaseId: s.lease.leaseId,
          serverId: this.opts.serverId,
          micros: r.returnedMicros,
          atMs: nowMs,
        });
      }
    }
    p.draining = left;
  }

  /** Waits for background refills (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /**
   * Shutdown: stops refills and returns every lease whose reservations are all settled; the
   * others stay out until the timeout monitor of a live process reclaims them at expiry.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    const nowMs = this.opts.clock.nowMs();
    for (const st of this.campaigns.values()) {
      for (const p of [st.daily, st.lifetime]) {
        if (p === null || p.status === 'lost') continue;
        this.drainAll(p);
        try {
          await this.returnDrained(p, nowMs, true, this.holdback(st));
        } catch (e) {
          this.opts.onError?.(e, 'budget lease return');
        }
      }
    }
  }

  /**
   * The traffic forecast today's target curve of a campaign follows, and how many whole days
   * it was learned from (0: flat); null when the campaign has no daily period here.
   */
  pacingForecast(campaignId: string): { forecast: readonly number[]; learnedDays: number } | null {
    const d = this.campaigns.get(campaignId)?.daily;
    if (d === null || d === undefined) return null;
    return { forecast: d.forecast, learnedDays: this.traffic.learnedDays(campaignId) };
  }

  /** Every (campaign, period) this process manages, with its budget (reconciliation). */
  periods(): { key: CampaignPeriod; budgetMicros: number; status: string; day: LocalDay | null }[] {
    const out: {
      key: CampaignPeriod;
      budgetMicros: number;
      status: string;
      day: LocalDay | null;
    }[] = [];
    for (const st of this.campaigns.values()) {
      for (const p of [st.daily, st.lifetime]) {
        if (p !== null) {
          out.push({ key: p.key, budgetMicros: p.budgetMicros, status: p.status, day: p.day });
        }
      }
    }
    return out;
  }
}

function newPeriod(
  key: CampaignPeriod,
  budgetMicros: number,
  day: LocalDay | null,
  forecast: readonly number[],
): PeriodState {
  return {
    key,
    budgetMicros,
    setMicros: null,
    status: 'pending',
    leases: [],
    draining: [],
    refill: null,
    setup: null,
    remainingMicros: budgetMicros,
    spentAtTickMicros: 0,
    reservedSinceTickMicros: 0,
    day,
    forecast,
    resumedAtMs: null,
    spentAtResumeMicros: null,
    unservableSinceMs: null,
    lostAtTick: null,
  };
}

/**
 * Re-creates lost counters in one atomic step (BudgetCounters.restore): the budget; the
 * ledger's spend as one closed lease, with every ledger event key remembered (so a duplicate
 * delivered after the rebuild is not charged again) when the rows are given; and one open
 * "hold" lease of the micros that open leases held, expiring with the last of them, which takes
 * the spend their outstanding tokens still bring (src/exchange/events.ts falls back to it on
 * `unknown_lease`). Atomic, so no process can take a lease from the budget before the hold is
 * in place; a concurrent rebuild by another process finds the counters restored (`exists`).
 */
export async function restoreCounters(
  counters: BudgetCounters,
  key: CampaignPeriod,
  budgetMicros: number,
  input: RebuildInput,
  opts: { serverId: string },
): Promise<void> {
  const spent = Math.max(0, Math.floor(input.spentMicros));
  const rows = input.spends;
  const keys =
    rows !== undefined && rows.reduce((a, r) => a + r.micros, 0) === spent
      ? rows.map((r) => r.key)
      : [];
  await counters.restore({
    ...key,
    budgetMicros,
    spentMicros: spent,
    spentLeaseId: rebuildLeaseId(key.period),
    spendKeys: keys,
    heldMicros: Math.max(0, Math.floor(input.heldMicros)),
    holdLeaseId: holdLeaseId(key.period),
    holdUntilMs: input.heldUntilMs,
    serverId: opts.serverId,
    ...(input.openLeases !== undefined ? { openLeases: input.openLeases } : {}),
  });
}
