/**
 * The graceful degradation ladder (seed Part 7): when the server is overloaded or a dependency
 * is down, give up quality one step at a time instead of failing requests.
 *
 *   0 normal       everything on
 *   1 stale_cache  serve stale cache entries instead of waiting for a refresh
 *   2 skip_ml      skip the CTR model, rank with the priors
 *   3 drop_rtb_tail  call only the fastest / most valuable DSPs
 *   4 house_only   serve house ads only
 *
 * A pure state machine: the caller passes the time and the signals (load-shedding utilisation,
 * breaker states) and gets the level back. Rules:
 * - The target level is the highest step whose `enterAt` utilisation is reached; an open
 *   breaker on a dependency raises the target to at least `breakerFloor` (1: a store or counter
 *   that fails fast means cached / fail-closed answers; the model's own breaker is handled by
 *   the prediction stage, which falls back to the priors on its own).
 * - Degrading is immediate (one evaluation may jump several steps: overload needs relief now).
 * - Recovering is one step at a time, and only once the signals have stayed below that step's
 *   `exitAt` (lower than its `enterAt`: hysteresis) for `recoverHoldMs` without interruption;
 *   the hold restarts after each step. So a server oscillating around a threshold does not
 *   flap, and recovery from 4 to 0 takes at least 4 × recoverHoldMs.
 */
export const DegradationLevel = {
  Normal: 0,
  StaleCache: 1,
  SkipMl: 2,
  DropRtbTail: 3,
  HouseOnly: 4,
} as const;
export type DegradationLevel = (typeof DegradationLevel)[keyof typeof DegradationLevel];

export const DEGRADATION_NAMES = [
  'normal',
  'stale_cache',
  'skip_ml',
  'drop_rtb_tail',
  'house_only',
] as const;
export type DegradationName = (typeof DEGRADATION_NAMES)[number];

export function degradationName(level: DegradationLevel): DegradationName {
  return DEGRADATION_NAMES[level];
}

export interface DegradationStep {
  /** Utilisation at or above which this step is entered. */
  enterAt: number;
  /** Utilisation below which this step may be left (after the hold). */
  exitAt: number;
}

export interface DegradationConfig {
  /** Steps 1..4 in order. */
  steps: readonly [DegradationStep, DegradationStep, DegradationStep, DegradationStep];
  /** Minimum level while any dependency breaker is open or half-open. */
  breakerFloor: DegradationLevel;
  recoverHoldMs: number;
}

/**
 * Defaults against the load-shedding zones (70 % elevated, 90 % critical): stale cache from
 * 85 %, priors from 95 % (the model is the costliest stage), RTB tail from 110 %, house ads
 * only from 140 % (just short of the 150 % hard limit that refuses everything).
 */
export const DEFAULT_DEGRADATION: DegradationConfig = {
  steps: [
    { enterAt: 0.85, exitAt: 0.7 },
    { enterAt: 0.95, exitAt: 0.8 },
    { enterAt: 1.1, exitAt: 0.9 },
    { enterAt: 1.4, exitAt: 1.0 },
  ],
  breakerFloor: DegradationLevel.StaleCache,
  recoverHoldMs: 5000,
};

export interface DegradationSignals {
  utilization: number;
  /** Names of dependencies whose breaker is not closed. */
  openBreakers: readonly string[];
  /** A level pinned by the operator (a floor while set; recovery below it as usual after). */
  pinned?: DegradationLevel;
}

export interface DegradationChange {
  from: DegradationLevel;
  to: DegradationLevel;
  /** What moved it: the utilisation, an open breaker, an operator's pin, or recovery after the hold. */
  cause: 'utilization' | 'breaker' | 'pinned' | 'recovered';
}

export class DegradationLadder {
  private levelNow: DegradationLevel = DegradationLevel.Normal;
  /** Since when the signals allow leaving the current level (null: they do not). */
  private calmSinceMs: number | null = null;

  constructor(private readonly cfg: DegradationConfig = DEFAULT_DEGRADATION) {}

  get level(): DegradationLevel {
    return this.levelNow;
  }

  /** The level the signals call for, ignoring hysteresis. */
  target(s: DegradationSignals): DegradationLevel {
    let byLoad: DegradationLevel = DegradationLevel.Normal;
    this.cfg.steps.forEach((step, i) => {
      if (s.utilization >= step.enterAt) byLoad = (i + 1) as DegradationLevel;
    });
    const floor = s.openBreakers.length > 0 ? this.cfg.breakerFloor : DegradationLevel.Normal;
    return Math.max(byLoad, floor, s.pinned ?? DegradationLevel.Normal) as DegradationLevel;
  }

  /** Feeds the current signals; returns the change when the level moved, else null. */
  evaluate(nowMs: number, s: DegradationSignals): DegradationChange | null {
    const from = this.levelNow;
    const target = this.target(s);
    if (target > from) {
      this.levelNow = target;
      this.calmSinceMs = null;
      const byPin = s.pinned !== undefined && target === s.pinned;
      const breakerOnly = s.openBreakers.length > 0 && target === this.cfg.breakerFloor;
      const cause = byPin ? 'pinned' : breakerOnly ? 'breaker' : 'utilization';
      return { from, to: target, cause };
    }
    if (from === DegradationLevel.Normal || !this.mayLeave(from, s)) {
      this.calmSinceMs = null;
      return null;
    }
    if (this.calmSinceMs === null) {
      this.calmSinceMs = nowMs;
      return null;
    }
    if (nowMs - this.calmSinceMs < this.cfg.recoverHoldMs) return null;
    this.levelNow = (from - 1) as DegradationLevel;
    this.calmSinceMs = nowMs; // the next step needs its own hold
    return { from, to: this.levelNow, cause: 'recovered' };
  }

  /** May the ladder step down from `level`: below its exit line and no breaker holding it? */
  private mayLeave(level: DegradationLevel, s: DegradationSignals): boolean {
    const step = this.cfg.steps[level - 1];
    if (step === undefined) return true;
    if (s.utilization >= step.exitAt) return false;
    if (s.pinned !== undefined && s.pinned >= level) return false;
    return !(s.openBreakers.length > 0 && level <= this.cfg.breakerFloor);
  }
}
