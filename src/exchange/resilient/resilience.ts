/**
 * The process's resilience state in one place: the dependency breakers (`DependencyGuard`s made
 * by the runtime for Redis, PostgreSQL, NATS and the model) and the degradation ladder
 * (src/core/resilience/degradation.ts) they drive together with the load-shedding utilisation.
 *
 * - The ladder is evaluated lazily, at most once per `evalIntervalMs` of the clock, when
 *   someone asks for the level (every decision does, and every /metrics scrape): no timer.
 * - Breaker transitions and ladder steps are reported to listeners: the runtime logs one line
 *   per transition, the metrics plugin counts them.
 * - The utilisation comes from the HTTP layer's load shedder, attached by build()
 *   (`attachUtilization`); until then it reads 0.
 *
 * What each ladder step does today:
 * | level | step | wired? |
 * |---|---|---|
 * | 1 | stale_cache | the serving index already keeps its last snapshot when a refresh fails; no TTL stretch yet (not wired) |
 * | 2 | skip_ml | wired: the prediction stage uses the priors (`PredictionStage`, `skipModel`) |
 * | 3 | drop_rtb_tail | not wired: the OpenRTB fan-out does not read the level yet |
 * | 4 | house_only | not wired: there is no house-ad tier in the decision path yet |
 */
import {
  DegradationLadder,
  DegradationLevel,
  degradationName,
  type DegradationChange,
  type DegradationConfig,
} from '../../core/resilience/degradation.js';
import type { BreakerConfig } from '../../core/resilience/circuit-breaker.js';
import type { Clock } from '../../ports/clock.js';
import { DependencyGuard, type BreakerTransition } from './guard.js';
import { isDependencyFailure } from './ports.js';

/**
 * One breaker per dependency, except Redis, which has two: `redis` for the decision path's
 * calls (frequency counters, the profile L2 cache) and `redis_budget` for the budget counters,
 * whose calls are background lease refills, the monitor's reclaims and impression spend. Their
 * own breaker means a background refill can never take the decision path's half-open probe
 * slot (nor hold it behind a hung call): each breaker is probed by its own callers, and every
 * probe ends at the per-call timeout at the latest.
 */
export type DependencyName = 'redis' | 'redis_budget' | 'postgres' | 'nats' | 'model';

export interface ResilienceOptions {
  clock: Clock;
  ladder?: DegradationConfig;
  breaker?: BreakerConfig;
  /** Per-call timeout of Redis calls (ADSTACK_DEPENDENCY_TIMEOUT_MS); default 2000 ms. */
  callTimeoutMs?: number;
  evalIntervalMs?: number;
}

export class Resilience {
  readonly guards = new Map<DependencyName, DependencyGuard>();
  private readonly ladder: DegradationLadder;
  private readonly clock: Clock;
  private utilization: () => number = () => 0;
  private lastEvalMs = Number.NEGATIVE_INFINITY;
  private readonly breakerListeners: ((t: BreakerTransition) => void)[] = [];
  private readonly ladderListeners: ((c: DegradationChange) => void)[] = [];

  constructor(private readonly opts: ResilienceOptions) {
    this.clock = opts.clock;
    this.ladder = new DegradationLadder(opts.ladder);
  }

  /** The guard of a dependency, created on first use (one breaker per dependency). */
  guard(name: DependencyName): DependencyGuard {
    let g = this.guards.get(name);
    if (g === undefined) {
      g = new DependencyGuard({
        name,
        clock: this.clock,
        ...(this.opts.breaker !== undefined ? { config: this.opts.breaker } : {}),
        // Redis calls are cut: the decision path's reads must not wait, and a budget call cut
        // is safe (grants are bounded by their expiry and reclaimed by the monitor, spend is
        // idempotent by its key and retried by the event's client). A ledger batch or a
        // JetStream append is left to finish (cutting it would only make the caller retry a
        // write that is still in flight); their failures still count. The model is in-process
        // and synchronous.
        ...(name === 'redis' || name === 'redis_budget'
          ? { timeoutMs: this.opts.callTimeoutMs ?? 2000 }
          : {}),
        isFailure: isDependencyFailure,
        onTransition: (t) => {
          for (const l of this.breakerListeners) l(t);
        },
      });
      this.guards.set(name, g);
    }
    return g;
  }

  attachUtilization(fn: () => number): void {
    this.utilization = fn;
  }

  onBreakerTransition(l: (t: BreakerTransition) => void): void {
    this.breakerListeners.push(l);
  }

  onLadderChange(l: (c: DegradationChange) => void): void {
    this.ladderListeners.push(l);
  }

  /** Dependencies whose breaker is not closed. The model's breaker does not count: the
   * prediction stage falls back to the priors by itself. */
  openBreakers(): string[] {
    const out: string[] = [];
    for (const [name, g] of this.guards)
      if (name !== 'model' && g.state() !== 'closed') out.push(name);
    return out;
  }

  /** The current ladder level (re-evaluated at most once per `evalIntervalMs`). */
  level(): DegradationLevel {
    const now = this.clock.monotonicMs();
    if (now - this.lastEvalMs >= (this.opts.evalIntervalMs ?? 100)) {
      this.lastEvalMs = now;
      const change = this.ladder.evaluate(now, {
        utilization: this.utilization(),
        openBreakers: this.openBreakers(),
      });
      if (change !== null) for (const l of this.ladderListeners) l(change);
    }
    return this.ladder.level;
  }

  levelName(): string {
    return degradationName(this.level());
  }

  /** Ladder step 2: rank with the priors instead of the model. */
  skipModel(): boolean {
    return this.level() >= DegradationLevel.SkipMl;
  }
}
