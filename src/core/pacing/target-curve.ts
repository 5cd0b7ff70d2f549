/**
 * Target delivery curve for one day: the fraction of the day's budget that should be spent by
 * a given point of the day (issue 6 item 6). Pure.
 *
 * Implementation notes
 * - `even` follows traffic, not the wall clock: the curve is the cumulative share of an hourly
 *   traffic forecast (24 weights, hour 0 = local midnight), linear inside each hour. Spending
 *   the same amount in every hour would starve the busy evening and overpay the quiet night.
 * - `frontloaded` tilts the same forecast towards the morning: hour h's weight is multiplied by
 *   1 + tilt × (1 − (h + 0.5) / 24) (default tilt 1: the first hour counts ~2×, the last ~1×).
 * - `asap` has no curve: the target is the whole budget at once (only the budget stops it).
 * - Position in the day is real elapsed time over the real day length (src/core/pacing/
 *   local-day.ts `dayFraction`), so the curve stays monotone on 23 h and 25 h DST days; the
 *   forecast is then stretched by at most one hour in 24.
 */

export type PacingCurveMode = 'even' | 'asap' | 'frontloaded';

export const HOURS_PER_DAY = 24;

/** A flat forecast: every hour the same traffic. */
export const FLAT_FORECAST: readonly number[] = Array.from({ length: HOURS_PER_DAY }, () => 1);

/**
 * Learns an hourly forecast from past days of traffic (requests or eligible impressions per
 * local hour, one array of 24 counts per day): the mean of each day's normalised shape, with
 * every hour floored at `floorShare` of an average hour so no hour is ever planned at zero
 * (forecasts are wrong; a zero would make the pacer refuse traffic that does arrive).
 * Days with no traffic or the wrong length are ignored; no usable day gives the flat forecast.
 */
export function learnHourlyForecast(
  days: readonly (readonly number[])[],
  floorShare = 0.05,
): number[] {
  const sum = new Array<number>(HOURS_PER_DAY).fill(0);
  let used = 0;
  for (const day of days) {
    if (day.length !== HOURS_PER_DAY) continue;
    const total = day.reduce((a, b) => a + Math.max(0, b), 0);
    if (!(total > 0)) continue;
    for (let h = 0; h < HOURS_PER_DAY; h++)
      sum[h] = (sum[h] ?? 0) + Math.max(0, day[h] ?? 0) / total;
    used++;
  }
  if (used === 0) return [...FLAT_FORECAST];
  const mean = 1 / HOURS_PER_DAY;
  const shape = sum.map((s) => Math.max(s / used, floorShare * mean));
  const total = shape.reduce((a, b) => a + b, 0);
  return shape.map((s) => s / total);
}

function weights(mode: PacingCurveMode, forecast: readonly number[], tilt: number): number[] {
  const w: number[] = [];
  for (let h = 0; h < HOURS_PER_DAY; h++) {
    const f = forecast[h];
    let x = f !== undefined && Number.isFinite(f) && f > 0 ? f : 0;
    if (mode === 'frontloaded') x *= 1 + Math.max(0, tilt) * (1 - (h + 0.5) / HOURS_PER_DAY);
    w.push(x);
  }
  const total = w.reduce((a, b) => a + b, 0);
  // No usable forecast: fall back to the flat one rather than a curve that never rises.
  if (!(total > 0)) return weights(mode, FLAT_FORECAST, tilt);
  return w.map((x) => x / total);
}

/**
 * Fraction of the day's budget that should be spent once `dayFraction` (0..1) of the day has
 * passed. Non-decreasing in `dayFraction`, 0 at the start and 1 at the end (asap: 1 throughout).
 */
export function targetFraction(
  mode: PacingCurveMode,
  forecast: readonly number[],
  dayFraction: number,
  frontloadTilt = 1,
): number {
  if (mode === 'asap') return 1;
  const t = Math.min(1, Math.max(0, Number.isFinite(dayFraction) ? dayFraction : 0));
  const w = weights(mode, forecast, frontloadTilt);
  const pos = t * HOURS_PER_DAY;
  const whole = Math.min(HOURS_PER_DAY, Math.floor(pos));
  let acc = 0;
  for (let h = 0; h < whole; h++) acc += w[h] ?? 0;
  if (whole < HOURS_PER_DAY) acc += (w[whole] ?? 0) * (pos - whole);
  return Math.min(1, acc);
}
