/**
 * Hourly traffic history per campaign, the input of the `even` / `frontloaded` target curve
 * (issue 6 item 6: "target curve shaped by an hourly traffic forecast learned from past
 * traffic"). Pure: the caller passes the local day and hour; no clock, no I/O.
 *
 * Implementation notes
 * - What is counted: eligible opportunities of a campaign (every budget check of the decision
 *   path, src/exchange/budget.ts), by hour of the campaign's local day. Counting opportunities
 *   rather than impressions keeps the forecast independent of the pacer's own throttling.
 * - Only whole days are learned: a day is kept when its counting started at local midnight
 *   (the owner saw the day before, too, or started in the day's first minute) and it has ended. A day joined half-way (process start,
 *   campaign created mid-day) would look like a day with a quiet morning and is dropped.
 * - The forecast is `learnHourlyForecast` (target-curve.ts) over the last `keepDays` whole
 *   days: their mean normalised shape, each hour floored at 5 % of an average hour. No whole
 *   day yet: the flat forecast.
 * - Persisted through the owner: every whole day learned is handed to `onDayLearned` (the
 *   runtime writes it to PostgreSQL, src/adapters/postgres/pacing-traffic.ts), and `seed`
 *   gives a (re)started process the days stored before, so it paces on the learned forecast
 *   at once instead of flat for a day. Seeded days are merged by day key with counted ones.
 */
import { FLAT_FORECAST, HOURS_PER_DAY, learnHourlyForecast } from './target-curve.js';

interface OpenDay {
  dayKey: string;
  counts: number[];
  whole: boolean;
}

interface CampaignTraffic {
  open: OpenDay | null;
  days: { dayKey: string; counts: number[] }[];
  forecast: number[] | null;
}

/** A whole day one history counted: (campaign, local day key, 24 hourly counts). */
export type LearnedDayListener = (campaignId: string, dayKey: string, counts: number[]) => void;

export class HourlyTrafficHistory {
  private readonly campaigns = new Map<string, CampaignTraffic>();

  constructor(
    private readonly keepDays = 7,
    private readonly onDayLearned?: LearnedDayListener,
  ) {}

  /**
   * Whole past days of a campaign learned elsewhere (stored by an earlier run or other
   * processes): days this history has not got yet are added (by day key, keeping the last
   * `keepDays` in day order). Days with no traffic at all are ignored.
   */
  seed(campaignId: string, days: readonly { dayKey: string; counts: readonly number[] }[]): void {
    const e = this.entry(campaignId);
    const have = new Set(e.days.map((d) => d.dayKey));
    let added = false;
    for (const d of days) {
      if (have.has(d.dayKey) || e.open?.dayKey === d.dayKey) continue;
      if (d.counts.length !== HOURS_PER_DAY || !d.counts.some((c) => c > 0)) continue;
      e.days.push({ dayKey: d.dayKey, counts: d.counts.map((c) => Math.max(0, c)) });
      have.add(d.dayKey);
      added = true;
    }
    if (!added) return;
    e.days.sort((a, b) => (a.dayKey < b.dayKey ? -1 : a.dayKey > b.dayKey ? 1 : 0));
    while (e.days.length > this.keepDays) e.days.shift();
    e.forecast = null;
  }

  private entry(campaignId: string): CampaignTraffic {
    let e = this.campaigns.get(campaignId);
    if (e === undefined) {
      e = { open: null, days: [], forecast: null };
      this.campaigns.set(campaignId, e);
    }
    return e;
  }

  /**
   * Starts counting `dayKey` for a campaign. `whole`: counting starts at the day's local
   * midnight (the previous day was being counted when it ended). The open day, if another,
   * is closed first (kept if whole).
   */
  startDay(campaignId: string, dayKey: string, whole: boolean): void {
    const e = this.entry(campaignId);
    if (e.open?.dayKey === dayKey) return;
    this.closeOpen(campaignId, e);
    e.open = { dayKey, counts: new Array<number>(HOURS_PER_DAY).fill(0), whole };
  }

  /** One eligible opportunity in local hour `hour` (0..23) of the open day `dayKey`. */
  observe(campaignId: string, dayKey: string, hour: number): void {
    const open = this.campaigns.get(campaignId)?.open;
    if (open === undefined || open === null || open.dayKey !== dayKey) return;
    const h = Math.min(HOURS_PER_DAY - 1, Math.max(0, Math.floor(hour)));
    open.counts[h] = (open.counts[h] ?? 0) + 1;
  }

  /** The campaign's open day ended: kept (if whole) for the forecast. */
  endDay(campaignId: string, dayKey: string): void {
    const e = this.campaigns.get(campaignId);
    if (e?.open?.dayKey === dayKey) this.closeOpen(campaignId, e);
  }

  private closeOpen(id: string, e: CampaignTraffic): void {
    const open = e.open;
    e.open = null;
    if (open === null || !open.whole) return;
    e.days = e.days.filter((d) => d.dayKey !== open.dayKey);
    e.days.push({ dayKey: open.dayKey, counts: open.counts });
    this.onDayLearned?.(id, open.dayKey, [...open.counts]);
    while (e.days.length > this.keepDays) e.days.shift();
    e.forecast = null;
  }

  /** The campaign's forecast (24 weights summing to 1) from whole past days; flat if none. */
  forecast(campaignId: string): readonly number[] {
    const e = this.campaigns.get(campaignId);
    if (e === undefined || e.days.length === 0) return FLAT_FORECAST;
    e.forecast ??= learnHourlyForecast(e.days.map((d) => d.counts));
    return e.forecast;
  }

  /** Whole days the forecast of a campaign is learned from (0: flat). */
  learnedDays(campaignId: string): number {
    return this.campaigns.get(campaignId)?.days.length ?? 0;
  }

  /**
   * Counting of the open day stopped before its end (campaign paused or gone from the
   * catalog): that day is no longer whole and will not be learned.
   */
  interrupt(campaignId: string): void {
    const open = this.campaigns.get(campaignId)?.open;
    if (open !== undefined && open !== null) open.whole = false;
  }
}
