/**
 * SLO error-budget burn rates over several windows, for multiwindow burn-rate alerting
 * (Google SRE Workbook, "Alerting on SLOs", table 5-8: page when the 1 h AND 5 m burn rates
 * exceed 14.4, i.e. 2% of a 30-day budget spent in an hour; ticket when the 6 h AND 30 m rates
 * exceed 6, i.e. 5% in six hours).
 *
 * Counts good and bad events in one-minute buckets over the longest window (6 h = 360 buckets).
 * burn rate = (bad / total over the window) / (1 − objective). Pure: `nowMs` is an argument.
 */
export interface BurnRates {
  '5m': number;
  '30m': number;
  '1h': number;
  '6h': number;
}

export const WINDOW_MINUTES: Record<keyof BurnRates, number> = {
  '5m': 5,
  '30m': 30,
  '1h': 60,
  '6h': 360,
};

const BUCKET_MS = 60_000;
const BUCKETS = 360;

export class SloWindow {
  private readonly good = new Float64Array(BUCKETS);
  private readonly bad = new Float64Array(BUCKETS);
  private readonly minute = new Float64Array(BUCKETS).fill(-1);

  constructor(readonly objective: number) {
    if (!(objective > 0 && objective < 1)) throw new Error('objective must be in (0, 1)');
  }

  record(nowMs: number, ok: boolean): void {
    const m = Math.floor(nowMs / BUCKET_MS);
    const i = m % BUCKETS;
    if (this.minute[i] !== m) {
      this.minute[i] = m;
      this.good[i] = 0;
      this.bad[i] = 0;
    }
    if (ok) this.good[i] = (this.good[i] ?? 0) + 1;
    else this.bad[i] = (this.bad[i] ?? 0) + 1;
  }

  burnRate(nowMs: number, minutes: number): number {
    const now = Math.floor(nowMs / BUCKET_MS);
    let good = 0;
    let bad = 0;
    for (let k = 0; k < minutes; k++) {
      const m = now - k;
      const i = ((m % BUCKETS) + BUCKETS) % BUCKETS;
      if (this.minute[i] !== m) continue;
      good += this.good[i] ?? 0;
      bad += this.bad[i] ?? 0;
    }
    const total = good + bad;
    return total === 0 ? 0 : bad / total / (1 - this.objective);
  }

  rates(nowMs: number): BurnRates {
    return {
      '5m': this.burnRate(nowMs, 5),
      '30m': this.burnRate(nowMs, 30),
      '1h': this.burnRate(nowMs, 60),
      '6h': this.burnRate(nowMs, 360),
    };
  }
}

/** The workbook's two multiwindow conditions. */
export function burnAlerts(r: BurnRates): { page: boolean; ticket: boolean } {
  return { page: r['1h'] > 14.4 && r['5m'] > 14.4, ticket: r['6h'] > 6 && r['30m'] > 6 };
}
