/**
 * Even-delivery throttle: the probability of sitting out one eligible auction, from actual vs
 * target cumulative spend (issue 6 item 6). Pure: `nowMs` and the random draw are arguments.
 *
 * Implementation notes
 * - Target. The day's curve (target-curve.ts) says which fraction F(t) of the budget should be
 *   spent by t. Catch-up after a pause (or a late start, or a budget change) re-plans the rest of
 *   the day from the point of resumption r: target(t) = S_r + (B − S_r) ×
 *   (F(t) − F(r)) / (1 − F(r)), with S_r the spend at r. The missed share is spread over the
 *   remaining forecast instead of being chased in a burst, and the day still ends at B.
 * - Controller. A proportional band around the target: with d = (actual − target) / (band × B),
 *   throttle = clamp((d + 1) / 2, 0, 1): 0 (serve everything) when behind by the band or more,
 *   1 (serve nothing) when ahead by the band, 1/2 on target. Monotone in overspend (property-
 *   tested). The band (default 2 % of B) is a tuning knob; the in-process pacing simulator
 *   (src/exchange/pacing-sim.ts, `adstack simulate-pacing`) measures the deviation it gives.
 * - `asap` throttles only when the budget is gone. Nothing remaining always throttles.
 * - Lifetime budgets: `dailyAllowanceMicros` turns a lifetime remainder into today's budget.
 */
import { dayFraction, type LocalDay } from './local-day.js';
import { targetFraction, type PacingCurveMode } from './target-curve.js';

export interface ThrottleInput {
  mode: PacingCurveMode;
  /** Today's budget B, integer micros (see `dailyAllowanceMicros` for lifetime budgets). */
  budgetMicros: number;
  /** Spent so far today (charged + reserved), integer micros. */
  spentMicros: number;
  nowMs: number;
  day: LocalDay;
  /** 24 hourly traffic weights (target-curve.ts). */
  forecast: readonly number[];
  /** Last resumption (pause end, flight start, budget change) today; default: day start. */
  resumedAtMs?: number;
  /** Spend at `resumedAtMs`; default 0. */
  spentAtResumeMicros?: number;
  /** Half-width of the control band as a fraction of B; default 0.02. */
  bandFraction?: number;
  frontloadTilt?: number;
}

/** Target cumulative spend at `nowMs`, micros (not rounded: a control input, not money). */
export function targetSpendMicros(input: ThrottleInput): number {
  const B = Math.max(0, input.budgetMicros);
  if (input.mode === 'asap') return B;
  const tilt = input.frontloadTilt ?? 1;
  const fNow = targetFraction(
    input.mode,
    input.forecast,
    dayFraction(input.nowMs, input.day),
    tilt,
  );
  const resumedAt = input.resumedAtMs ?? input.day.startMs;
  if (resumedAt <= input.day.startMs) return B * fNow;
  const fR = targetFraction(input.mode, input.forecast, dayFraction(resumedAt, input.day), tilt);
  const sR = Math.min(B, Math.max(0, input.spentAtResumeMicros ?? 0));
  if (fR >= 1) return B;
  return sR + ((B - sR) * Math.max(0, fNow - fR)) / (1 - fR);
}

/** Probability in [0, 1] of skipping one eligible auction now. */
export function throttleProbability(input: ThrottleInput): number {
  const B = Math.max(0, input.budgetMicros);
  if (input.spentMicros >= B) return 1;
  if (input.mode === 'asap') return 0;
  const band = Math.max(1, B * (input.bandFraction ?? 0.02));
  const d = (input.spentMicros - targetSpendMicros(input)) / band;
  return Math.min(1, Math.max(0, (d + 1) / 2));
}

/** True when this auction should be skipped; `random01` is a uniform draw in [0, 1). */
export function shouldThrottle(input: ThrottleInput, random01: number): boolean {
  return random01 < throttleProbability(input);
}

export interface AllowanceInput {
  mode: PacingCurveMode;
  dailyBudgetMicros: number | null;
  /** Lifetime budget minus lifetime spend before today, micros; null for no lifetime budget. */
  lifetimeRemainingMicros: number | null;
  /** Local days left in the flight including today (≥ 1); null for an open-ended flight. */
  daysLeft: number | null;
}

/**
 * Today's budget in integer micros: the daily budget, capped by the lifetime remainder.
 * `even` and `frontloaded` spread a lifetime remainder evenly over the days left (rounded
 * down, the last day takes the rest); `asap` may spend all of it today. Null: no budget at all
 * (the campaign is not budget-limited).
 */
export function dailyAllowanceMicros(input: AllowanceInput): number | null {
  const daily = input.dailyBudgetMicros;
  const life = input.lifetimeRemainingMicros;
  if (life === null) return daily === null ? null : Math.max(0, Math.floor(daily));
  const lifeLeft = Math.max(0, Math.floor(life));
  let lifeToday = lifeLeft;
  if (input.mode !== 'asap' && input.daysLeft !== null && input.daysLeft > 1) {
    lifeToday = Math.floor(lifeLeft / Math.floor(input.daysLeft));
  }
  return daily === null ? lifeToday : Math.min(Math.max(0, Math.floor(daily)), lifeToday);
}
