/**
 * Pacing simulator core (issue 6 item 8, the in-process part): replays N days of synthetic
 * traffic through several BudgetManager "processes" sharing one BudgetCounters, on a simulated
 * clock, and measures what advertisers care about per campaign and day: spend vs budget,
 * overspend, delivery vs the target curve by hour, and budget stranded at the end of the day.
 * Used by `adstack simulate-pacing` (src/cli/simulate-pacing.ts) and test/unit/pacing-sim.test.ts.
 *
 * Model (deliberately simple; what it is NOT is listed below)
 * - Traffic: `requestsPerDay` requests, split over the 24 UTC hours by `hourlyShape` with
 *   day-to-day noise (each hour of each day × exp(N(0, `dailyNoise`)), so no day repeats the
 *   last one exactly and a learned forecast is never exact), at seeded-random times inside
 *   each hour. Each request goes to one live process (uniform) and
 *   is an opportunity for EVERY campaign (each campaign has its own slot; no competition between
 *   campaigns): `check` → `reserve(round(bid / 1000))` like the decision service's budget step.
 * - Impressions: a served decision's impression arrives `impressionDelayMs` × Exp(1) later (or
 *   never, with probability `lossRate`; twice with probability `duplicateRate`), at the shared
 *   counters (`recordSpend`, idempotent by event key) and the ledger map, like
 *   src/exchange/events.ts; the serving process settles its reservation if it is still alive.
 *   An impression arriving after its token expired (`trackingTtlMs`) is refused (410), as the
 *   real tracking endpoint does.
 * - Monitor: every live process runs `tick()` every `tickMs` of simulated time.
 * - Crash: process `crash.process` is dropped at `crash.atDayFraction` of day 1 without returning
 *   anything (kill -9); a fresh process with a new id takes its place `crash.restartAfterMs`
 *   later. Its leases stay out until their expiry and are then reclaimed by a live monitor.
 * - Time zone: every campaign is UTC (local day = UTC day).
 * - Pacing forecast: each process learns its own hourly forecast from the opportunities it
 *   saw on whole past days (src/core/pacing/traffic.ts): day 1 is paced on the flat forecast,
 *   later days on the learned one; a restarted process is flat until it has seen a whole day.
 * - Deviation is measured two ways, per campaign-day, at the 24 hour ends, as |cumulative
 *   recorded spend − target| in % of the daily budget: (1) against the pacer's own target
 *   curve (the forecast the processes used that day — that of the process with the most whole
 *   days learned), which measures the throttle; (2) against the curve of that day's ACTUAL
 *   traffic (an oracle no pacer has), which adds the forecast's error. p95 is the nearest-rank
 *   95th percentile of the 24 values (the 23rd smallest).
 * Not modelled (issue 6 item 8 asks for them; not built): real OS processes, Redis and
 * PostgreSQL (here: in-process managers on one BudgetCounters the caller passes in, memory by
 * default), a Redis restart, reordered event delivery beyond what random delays give, CPC/CPA
 * campaigns, lifetime budgets, campaign time zones other than UTC.
 * Deterministic for a seed: one seeded PRNG (mulberry32) drives traffic, delays, losses and every
 * process's throttle draws; the clock is simulated.
 */
import type { Campaign } from '../core/domain/entities.js';
import { HOURS_PER_DAY, FLAT_FORECAST, targetFraction } from '../core/pacing/index.js';
import type { BudgetCounters } from '../ports/budget-counters.js';
import type { Clock } from '../ports/clock.js';
import { BudgetManager } from './budget.js';
import { mulberry32 } from '../core/seeded-random.js';

export type SimPacing = 'even' | 'frontloaded' | 'asap';

export interface SimCampaign {
  id: string;
  pacing: SimPacing;
  dailyBudgetMicros: number;
  /** CPM bid in micros per 1000 impressions; one impression charges round(bid / 1000). */
  bidMicros: number;
}

export interface PacingSimOptions {
  counters: BudgetCounters;
  campaigns: readonly SimCampaign[];
  seed?: number;
  days?: number;
  requestsPerDay?: number;
  /** 24 relative weights of traffic per UTC hour; default DIURNAL_SHAPE. */
  hourlyShape?: readonly number[];
  /** Standard deviation of the per-day, per-hour log-normal traffic noise; default 0. */
  dailyNoise?: number;
  processes?: number;
  /** Mean impression delay after the decision (exponential); default 2 s. */
  impressionDelayMs?: number;
  lossRate?: number;
  duplicateRate?: number;
  /** Monitor interval of every process; default 10 s. */
  tickMs?: number;
  trackingTtlMs?: number;
  leaseServeWindowMs?: number;
  /** Null: no crash. */
  crash?: { process: number; atDayFraction: number; restartAfterMs: number } | null;
  /** First day's midnight UTC, ms; default 2026-06-01. */
  startMs?: number;
  onProgress?: (simulatedMs: number, totalMs: number) => void;
}

export interface DayReport {
  campaignId: string;
  pacing: SimPacing;
  day: string;
  budgetMicros: number;
  /** Recorded spend (ledger) of the day's period. */
  spentMicros: number;
  /** max(0, spent − budget): 0 is the promise for CPM. */
  overspendMicros: number;
  deliveryPct: number;
  /** Cumulative recorded spend / budget at the end of each UTC hour, %. */
  hourlyCumulativePct: number[];
  /** Pacer's target at the end of each hour, % (asap: 100 throughout). */
  hourlyTargetPct: number[];
  /** Max |actual − target| over the 24 hour ends, % of budget; null for asap (no curve). */
  maxAbsDeviationPct: number | null;
  /** 95th percentile (nearest rank) of the 24 |actual − target| values, %; null for asap. */
  p95AbsDeviationPct: number | null;
  /** Same against the curve the day's actual traffic gives (oracle); null for asap. */
  p95AbsDeviationVsTrafficPct: number | null;
  /** Live processes at the day's end whose forecast was learned (others paced on flat). */
  learnedForecastProcesses: number;
  liveProcesses: number;
  /** First hour end by which half the budget was spent (hours, 1..24), null if never. */
  halfSpentByHour: number | null;
  /** At the end of the day: budget still held in leases, and never leased. */
  leasedAtEndMicros: number;
  remainingAtEndMicros: number;
}

export interface PacingSimResult {
  days: DayReport[];
  requests: number;
  served: number;
  impressionsRecorded: number;
  impressionsLost: number;
  impressionsExpired: number;
  duplicatesIgnored: number;
  /** Spend the counters refused or took from `remaining` (late) — both should stay 0. */
  refusedSpend: number;
  lateSpend: number;
  /** Micros granted to the crashed process's open leases at the crash (out until expiry). */
  crashedLeaseMicros: number;
  /** Counters' spend − ledger spend per campaign-day, summed |·| (0 = they agree). */
  ledgerCounterDiffMicros: number;
}

/** A typical diurnal shape: quiet night, morning rise, evening peak (UTC hours 0..23). */
export const DIURNAL_SHAPE: readonly number[] = [
  3, 2, 1.5, 1.2, 1.2, 1.5, 2.5, 4, 5, 5.5, 5.5, 5.5, 6, 6, 5.5, 5.5, 6, 7, 8, 8.5, 8, 6.5, 5, 4,
];

class SimClock implements Clock {
  constructor(public ms: number) {}
  nowMs(): number {
    return this.ms;
  }
  monotonicMs(): number {
    return this.ms;
  }
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

function toCampaign(c: SimCampaign): Campaign {
  const campaign: Campaign = {
    id: c.id,
    advertiser_id: 'adv_sim',
    name: `sim ${c.id}`,
    status: 'active',
    start_at: null,
    end_at: null,
    time_zone: 'UTC',
    daily_budget_micros: c.dailyBudgetMicros,
    lifetime_budget_micros: null,
    pacing: c.pacing,
    pricing_model: 'cpm',
    bid_micros: c.bidMicros,
    targeting: {},
    frequency_cap: null,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
  };
  return campaign;
}

interface Pending {
  atMs: number;
  seq: number;
  campaign: number;
  key: string;
  leases: [string, string][];
  micros: number;
  expMs: number;
  owner: BudgetManager;
}

/** A binary min-heap of pending impressions by arrival time (then sequence: deterministic). */
class Heap {
  private a: Pending[] = [];
  get size(): number {
    return this.a.length;
  }
  private less(x: Pending, y: Pending): boolean {
    return x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq);
  }
  push(p: Pending): void {
    const a = this.a;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const j = (i - 1) >> 1;
      const pi = a[i] as Pending;
      const pj = a[j] as Pending;
      if (!this.less(pi, pj)) break;
      a[i] = pj;
      a[j] = pi;
      i = j;
    }
  }
  peek(): Pending | undefined {
    return this.a[0];
  }
  pop(): Pending | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l] as Pending, a[m] as Pending)) m = l;
        if (r < a.length && this.less(a[r] as Pending, a[m] as Pending)) m = r;
        if (m === i) break;
        const t = a[i] as Pending;
        a[i] = a[m] as Pending;
        a[m] = t;
        i = m;
      }
    }
    return top;
  }
}

function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Runs the simulation; see the module notes for the model. */
export async function simulatePacing(o: PacingSimOptions): Promise<PacingSimResult> {
  const seed = o.seed ?? 1;
  const rand = mulberry32(seed);
  const days = Math.max(1, Math.floor(o.days ?? 1));
  const perDay = Math.max(0, Math.floor(o.requestsPerDay ?? 100_000));
  const shape = o.hourlyShape ?? DIURNAL_SHAPE;
  if (shape.length !== HOURS_PER_DAY) throw new Error('hourlyShape needs 24 weights');
  const noise = Math.max(0, o.dailyNoise ?? 0);
  const nProc = Math.max(1, Math.floor(o.processes ?? 4));
  const delayMs = Math.max(0, o.impressionDelayMs ?? 2_000);
  const lossRate = o.lossRate ?? 0;
  const dupRate = o.duplicateRate ?? 0;
  const tickMs = Math.max(1, o.tickMs ?? 10_000);
  const ttlMs = o.trackingTtlMs ?? 600_000;
  const startMs = o.startMs ?? Date.parse('2026-06-01T00:00:00Z');
  const endMs = startMs + days * DAY_MS;
  const clock = new SimClock(startMs);
  const campaigns = o.campaigns.map(toCampaign);
  let serverSeq = 0;
  const newManager = (): BudgetManager => {
    const id = `sim-p${serverSeq++}`;
    const r = mulberry32((seed * 7919 + serverSeq * 104_729) >>> 0);
    let leaseSeq = 0;
    return new BudgetManager({
      counters: o.counters,
      clock,
      serverId: id,
      trackingTtlMs: ttlMs,
      servers: nProc,
      random: r,
      leaseServeWindowMs: o.leaseServeWindowMs ?? 60_000,
      newLeaseId: () => `${id}:${leaseSeq++}`,
      onLease: (e) => {
        if (e.kind === 'grant') leaseOwner.set(e.leaseId, { server: id, micros: e.micros });
        else leaseOwner.delete(e.leaseId);
      },
    });
  };
  /** Open leases by id as the managers reported them (grant − own returns). */
  const leaseOwner = new Map<string, { server: string; micros: number }>();
  const serverOf = new Map<BudgetManager, string>();
  const procs: (BudgetManager | null)[] = [];
  for (let i = 0; i < nProc; i++) {
    const m = newManager();
    serverOf.set(m, `sim-p${serverSeq - 1}`);
    procs.push(m);
  }
  for (const m of procs) await m?.sync(campaigns);

  // Hourly request counts per day: the shape × noise, largest remainder so every day has
  // exactly `perDay` requests.
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const dayCounts: number[][] = [];
  for (let d = 0; d < days; d++) {
    const w = shape.map((x) => Math.max(0, x) * (noise > 0 ? Math.exp(noise * gauss()) : 1));
    const wSum = w.reduce((a, b) => a + b, 0) || 1;
    const exact = w.map((x) => (perDay * x) / wSum);
    const counts = exact.map(Math.floor);
    let left = perDay - counts.reduce((a, b) => a + b, 0);
    const order = exact.map((x, h) => [x - Math.floor(x), h] as const).sort((a, b) => b[0] - a[0]);
    for (const [, h] of order) {
      if (left-- <= 0) break;
      counts[h] = (counts[h] ?? 0) + 1;
    }
    dayCounts.push(counts);
  }
  /** Per campaign-day: the forecast the pacer used, and how many live processes learned one. */
  const usedForecast = new Map<
    string,
    { forecast: readonly number[]; learned: number; live: number }
  >();

  const ledger = new Map<string, { campaign: number; day: string; micros: number }>();
  const spendByHour = campaigns.map(() => new Float64Array(days * HOURS_PER_DAY));
  const atDayEnd = new Map<string, { leased: number; remaining: number }>();
  const pending = new Heap();
  const res: PacingSimResult = {
    days: [],
    requests: 0,
    served: 0,
    impressionsRecorded: 0,
    impressionsLost: 0,
    impressionsExpired: 0,
    duplicatesIgnored: 0,
    refusedSpend: 0,
    lateSpend: 0,
    crashedLeaseMicros: 0,
    ledgerCounterDiffMicros: 0,
  };
  let seq = 0;
  let nextTick = startMs + tickMs;
  const crash = o.crash ?? null;
  let crashAt = crash === null ? Infinity : startMs + crash.atDayFraction * DAY_MS;
  let restartAt = Infinity;
  let nextDayEnd = startMs + DAY_MS;

  const deliver = async (p: Pending): Promise<void> => {
    if (p.atMs >= p.expMs) {
      res.impressionsExpired++;
      return;
    }
    const spendKey = `impression:${p.key}`;
    const c = campaigns[p.campaign] as Campaign;
    for (const [period, leaseId] of p.leases) {
      const r = await o.counters.recordSpend({
        campaignId: c.id,
        period,
        leaseId,
        spendKey,
        amountMicros: p.micros,
      });
      if (r.status === 'exceeds_lease' || r.status === 'unknown_lease') res.refusedSpend++;
      if (r.status === 'late') res.lateSpend++;
    }
    if (ledger.has(spendKey)) {
      res.duplicatesIgnored++;
      return;
    }
    const day = p.leases[0]?.[0] ?? dayKey(p.atMs);
    ledger.set(spendKey, { campaign: p.campaign, day, micros: p.micros });
    res.impressionsRecorded++;
    const hourIdx = Math.floor((p.atMs - startMs) / HOUR_MS);
    const arr = spendByHour[p.campaign];
    if (arr !== undefined && hourIdx >= 0 && hourIdx < arr.length)
      arr[hourIdx] = (arr[hourIdx] ?? 0) + p.micros;
    if (procs.includes(p.owner)) p.owner.settleLocal(c.id, p.leases, p.key, p.micros);
  };

  /** Everything scheduled before `t` (impressions, ticks, crash, restart, day ends). */
  const advanceTo = async (t: number): Promise<void> => {
    for (;;) {
      const imp = pending.peek();
      const nextImp = imp === undefined ? Infinity : imp.atMs;
      const next = Math.min(nextImp, nextTick, crashAt, restartAt, nextDayEnd);
      if (next > t) break;
      clock.ms = Math.max(clock.ms, next);
      if (next === nextImp && imp !== undefined) {
        pending.pop();
        await deliver(imp);
      } else if (next === nextDayEnd) {
        for (const c of campaigns) {
          const key = { campaignId: c.id, period: dayKey(next - 1) };
          let best: { forecast: readonly number[]; learnedDays: number } | null = null;
          let learned = 0;
          let live = 0;
          for (const m of procs) {
            const f = m?.pacingForecast(c.id) ?? null;
            if (m === null || f === null) continue;
            live++;
            if (f.learnedDays > 0 && f.forecast !== FLAT_FORECAST) learned++;
            if (best === null || f.learnedDays > best.learnedDays) best = f;
          }
          usedForecast.set(`${c.id}|${key.period}`, {
            forecast: best?.forecast ?? FLAT_FORECAST,
            learned,
            live,
          });
          const s = await o.counters.state(key);
          atDayEnd.set(`${c.id}|${key.period}`, {
            leased: s?.leasedMicros ?? 0,
            remaining: s?.remainingMicros ?? c.daily_budget_micros ?? 0,
          });
        }
        nextDayEnd += DAY_MS;
      } else if (next === crashAt && crash !== null) {
        const dead = procs[crash.process % nProc];
        const deadId = dead ? serverOf.get(dead) : undefined;
        for (const v of leaseOwner.values()) {
          if (v.server === deadId) res.crashedLeaseMicros += v.micros;
        }
        procs[crash.process % nProc] = null;
        crashAt = Infinity;
        restartAt = next + crash.restartAfterMs;
      } else if (next === restartAt && crash !== null) {
        const m = newManager();
        serverOf.set(m, `sim-p${serverSeq - 1}`);
        await m.sync(campaigns);
        procs[crash.process % nProc] = m;
        restartAt = Infinity;
      } else {
        for (const m of procs) await m?.tick();
        nextTick += tickMs;
      }
    }
    clock.ms = Math.max(clock.ms, t);
  };

  const totalMs = days * DAY_MS;
  for (let d = 0; d < days; d++) {
    for (let h = 0; h < HOURS_PER_DAY; h++) {
      const hourStart = startMs + d * DAY_MS + h * HOUR_MS;
      const n = dayCounts[d]?.[h] ?? 0;
      const times: number[] = [];
      for (let i = 0; i < n; i++) times.push(hourStart + Math.floor(rand() * HOUR_MS));
      times.sort((a, b) => a - b);
      for (const t of times) {
        await advanceTo(t);
        res.requests++;
        const alive = procs.filter((m): m is BudgetManager => m !== null);
        const m = alive[Math.floor(rand() * alive.length)];
        if (m === undefined) continue;
        for (let ci = 0; ci < campaigns.length; ci++) {
          const c = campaigns[ci] as Campaign;
          if (m.check(c, t) !== null) continue;
          const key = `s${seq++}`;
          const micros = Math.max(1, Math.round(c.bid_micros / 1000));
          const expMs = t + ttlMs;
          const r = m.reserve(c, key, micros, expMs);
          if (r === null) continue;
          res.served++;
          const base = { seq: 0, campaign: ci, key, leases: r.leases, micros, expMs, owner: m };
          if (rand() < lossRate) {
            res.impressionsLost++;
            continue;
          }
          const at = t + Math.floor(-Math.log(1 - rand()) * delayMs);
          pending.push({ ...base, atMs: at, seq: seq++ });
          if (rand() < dupRate) {
            const at2 = t + Math.floor(-Math.log(1 - rand()) * delayMs);
            pending.push({ ...base, atMs: at2, seq: seq++ });
          }
        }
        // Background refills started by `check` complete before the next request.
        await m.idle();
      }
      o.onProgress?.(hourStart + HOUR_MS - startMs, totalMs);
    }
  }
  await advanceTo(endMs);
  // Quiesce: every remaining impression arrives (or expires), every lease expires and is reclaimed.
  await advanceTo(endMs + ttlMs + 3 * 60_000 + 2 * tickMs);
  for (const m of procs) await m?.close();

  for (let ci = 0; ci < campaigns.length; ci++) {
    const c = campaigns[ci] as Campaign;
    const sc = o.campaigns[ci] as SimCampaign;
    for (let d = 0; d < days; d++) {
      const day = dayKey(startMs + d * DAY_MS);
      let spent = 0;
      for (const row of ledger.values())
        if (row.campaign === ci && row.day === day) spent += row.micros;
      const s = await o.counters.state({ campaignId: c.id, period: day });
      res.ledgerCounterDiffMicros += Math.abs((s?.spentMicros ?? 0) - spent);
      const B = sc.dailyBudgetMicros;
      const used = usedForecast.get(`${c.id}|${day}`);
      const forecast = used?.forecast ?? FLAT_FORECAST;
      const actual = dayCounts[d] ?? FLAT_FORECAST;
      const cum: number[] = [];
      const target: number[] = [];
      let acc = 0;
      let maxDev = 0;
      const devs: number[] = [];
      const devsVsTraffic: number[] = [];
      let half: number | null = null;
      for (let h = 0; h < HOURS_PER_DAY; h++) {
        acc += spendByHour[ci]?.[d * HOURS_PER_DAY + h] ?? 0;
        const pct = B > 0 ? (100 * acc) / B : 0;
        const tgt = 100 * targetFraction(sc.pacing, forecast, (h + 1) / HOURS_PER_DAY);
        const oracle = 100 * targetFraction(sc.pacing, actual, (h + 1) / HOURS_PER_DAY);
        cum.push(pct);
        target.push(tgt);
        maxDev = Math.max(maxDev, Math.abs(pct - tgt));
        devs.push(Math.abs(pct - tgt));
        devsVsTraffic.push(Math.abs(pct - oracle));
        if (half === null && pct >= 50) half = h + 1;
      }
      const end = atDayEnd.get(`${c.id}|${day}`);
      res.days.push({
        campaignId: c.id,
        pacing: sc.pacing,
        day,
        budgetMicros: B,
        spentMicros: spent,
        overspendMicros: Math.max(0, spent - B, (s?.spentMicros ?? 0) - B),
        deliveryPct: B > 0 ? (100 * spent) / B : 0,
        hourlyCumulativePct: cum,
        hourlyTargetPct: target,
        maxAbsDeviationPct: sc.pacing === 'asap' ? null : maxDev,
        p95AbsDeviationPct: sc.pacing === 'asap' ? null : p95(devs),
        p95AbsDeviationVsTrafficPct: sc.pacing === 'asap' ? null : p95(devsVsTraffic),
        learnedForecastProcesses: used?.learned ?? 0,
        liveProcesses: used?.live ?? 0,
        halfSpentByHour: half,
        leasedAtEndMicros: end?.leased ?? 0,
        remainingAtEndMicros: end?.remaining ?? 0,
      });
    }
  }
  return res;
}

/** Nearest-rank 95th percentile. */
function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.ceil(0.95 * s.length) - 1] ?? 0;
}

/** Default campaign mix for the CLI: `n` campaigns cycling even / frontloaded / asap. */
export function defaultSimCampaigns(
  n: number,
  seed: number,
  requestsPerDay: number,
): SimCampaign[] {
  const r = mulberry32(seed ^ 0x5eed);
  const modes: SimPacing[] = ['even', 'frontloaded', 'asap'];
  const out: SimCampaign[] = [];
  for (let i = 0; i < n; i++) {
    const bidMicros = 1_000_000 + Math.floor(r() * 4) * 500_000; // 1.0 .. 2.5 USD CPM
    const charge = Math.round(bidMicros / 1000);
    // Budget for 20 % .. 60 % of the day's requests: supply is 1.7× .. 5× the budget.
    const impressions = Math.max(1, Math.floor(requestsPerDay * (0.2 + 0.4 * r())));
    out.push({
      id: `cmp_sim_${String(i + 1).padStart(3, '0')}`,
      pacing: modes[i % modes.length] as SimPacing,
      dailyBudgetMicros: impressions * charge,
      bidMicros,
    });
  }
  return out;
}
