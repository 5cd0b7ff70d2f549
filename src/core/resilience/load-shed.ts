/**
 * Load-shedding policy (seed Part 7, "load shedding"; Part 8 SLOs): three zones by utilisation.
 *
 *   utilisation < 0.70  normal    accept everything
 *   0.70 – 0.90         elevated  accept everything, signal that more capacity is needed
 *   > 0.90              critical  shed by value: requests worth at least the rolling P95 of
 *                                 recent request values are always kept; below it, a request is
 *                                 shed with probability pressure × (1 − value / P95), where
 *                                 pressure rises linearly from 0 at 0.90 to 1 at 1.00.
 *
 * Past `hardLimit` (default 1.5, i.e. far beyond capacity) decisions are shed before their
 * body is even read, whatever their value: at that point parsing them costs more than the
 * revenue at stake. Tracking events and billing are never shed by this policy (the server only
 * applies it to decision routes), so accepted work is never lost to shedding.
 * Pure: utilisation, value and the random draw are arguments.
 */
export type LoadZone = 'normal' | 'elevated' | 'critical';

export const ShedReason = {
  LowValue: 'low_value',
  HardLimit: 'hard_limit',
  /**
   * The local event spool (NATS unreachable) is nearly full: new ads would bring events that
   * could not be kept, so decisions stop before events are refused (issue 7, backpressure).
   */
  EventBacklog: 'event_backlog',
  /**
   * Refused before the body is read by the admission controller (`nextAdmitFraction`): the
   * critical zone lasted a whole sample window, so only a share of new decisions gets in until
   * utilisation falls back. The value is not known yet at that point, so the draw is uniform.
   */
  Admission: 'admission',
} as const;
export type ShedReason = (typeof ShedReason)[keyof typeof ShedReason];

export interface LoadShedConfig {
  elevatedAt: number; // 0.70
  criticalAt: number; // 0.90
  hardLimit: number; // 1.5
}

export const DEFAULT_LOAD_SHED: LoadShedConfig = {
  elevatedAt: 0.7,
  criticalAt: 0.9,
  hardLimit: 1.5,
};

export function zoneOf(utilization: number, cfg: LoadShedConfig = DEFAULT_LOAD_SHED): LoadZone {
  if (utilization >= cfg.criticalAt) return 'critical';
  if (utilization >= cfg.elevatedAt) return 'elevated';
  return 'normal';
}

/** Probability of shedding a request worth `value` when recent values have P95 `valueP95`. */
export function shedProbability(
  utilization: number,
  value: number,
  valueP95: number,
  cfg: LoadShedConfig = DEFAULT_LOAD_SHED,
): number {
  if (utilization < cfg.criticalAt) return 0;
  if (utilization >= cfg.hardLimit) return 1;
  const pressure = Math.min(1, (utilization - cfg.criticalAt) / (1 - cfg.criticalAt));
  if (valueP95 <= 0) return pressure; // no value signal yet: shed uniformly
  if (value >= valueP95) return 0;
  return pressure * (1 - Math.max(0, value) / valueP95);
}

export function decideShed(
  utilization: number,
  value: number,
  valueP95: number,
  random01: number,
  cfg: LoadShedConfig = DEFAULT_LOAD_SHED,
): ShedReason | null {
  if (utilization >= cfg.hardLimit) return ShedReason.HardLimit;
  return random01 < shedProbability(utilization, value, valueP95, cfg) ? ShedReason.LowValue : null;
}

/**
 * Early admission (before the body is read): an additive-increase / multiplicative-decrease
 * controller on the share of decisions let in, stepped once per utilisation sample. While the
 * critical zone holds, the share shrinks geometrically (×`decrease`, never under `minAdmit`, so
 * the signal keeps being measured on real decisions); in the normal zone it grows back by
 * `increase` per sample; in the elevated zone it holds. Refusing before parsing costs a fraction
 * of a decision, so past saturation the server spends its CPU on the decisions it admits
 * instead of on parsing requests it would refuse anyway (or on queueing them).
 */
export interface AdmissionConfig {
  decrease: number; // 0.75 per sample in the critical zone
  increase: number; // +0.05 per sample in the normal zone
  minAdmit: number; // 0.02
}

export const DEFAULT_ADMISSION: AdmissionConfig = {
  decrease: 0.85,
  increase: 0.05,
  minAdmit: 0.1,
};

export function nextAdmitFraction(
  admit: number,
  utilization: number,
  cfg: AdmissionConfig = DEFAULT_ADMISSION,
  zones: LoadShedConfig = DEFAULT_LOAD_SHED,
): number {
  const zone = zoneOf(utilization, zones);
  if (zone === 'critical') return Math.max(cfg.minAdmit, admit * cfg.decrease);
  if (zone === 'normal') return Math.min(1, admit + cfg.increase);
  return admit;
}

/** P-quantile (0..1) of a sample, by sorting a copy; for small windows (≤ a few thousand). */
export function quantile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return 0;
  const sorted = [...sample].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[idx] ?? 0;
}
