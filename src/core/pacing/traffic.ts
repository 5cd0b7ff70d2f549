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
 * - Memory only (one per process): a restarted process paces on the flat forecast until it
 *   has seen one whole day. Sharing or persisting the history is not built.
 */
import { FLAT_FORECAST, HOURS_PER_DAY, learnHourlyForecast } from './target-curve.js';

interface OpenDay {
  dayKey: string;
  counts: number[];
  whole: boolean;
}

interface CampaignTraffic {
  open: OpenDay | null;
  days: number[][];
  forecast: number[] | null;
}

export class HourlyTrafficHistory {
  private readonly campaigns = new Map<string, CampaignTraffic>();

  constructor(private readonly keepDays = 7) {}

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
    this.closeOpen(e);
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
    if (e?.open?.dayKey === dayKey) this.closeOpen(e);
  }

  private closeOpen(e: CampaignTraffic): void {
    const open = e.open;
    e.open = null;
    if (open === null || !open.whole) return;
    e.days.push(open.counts);
    while (e.days.length > this.keepDays) e.days.shift();
    e.forecast = null;
  }

  /** The campaign's forecast (24 weights summing to 1) from whole past days; flat if none. */
  forecast(campaignId: string): readonly number[] {
    const e = this.campaigns.get(campaignId);
    if (e === undefined || e.days.length === 0) return FLAT_FORECAST;
    e.forecast ??= learnHourlyForecast(e.days);
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
