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
 * | 1 | stale_cache | the profile cache serves entries up to a minute past their TTL instead of re-reading them (`serveStale`, src/core/cache/tiered.ts) |
 * | 2 | skip_ml | the prediction stage uses the priors (`PredictionStage`, `skipModel`) |
 * | 3 | drop_rtb_tail | the decision's DSP fan-out calls the best half of the DSPs (`dspLimit`, ladder.ts) |
 * | 4 | house_only | no DSPs, no counter read: decided from memory (`houseOnly`, ladder.ts and the deadline's skip) |
 *
 * `pin(level)` holds the ladder at a level or above (tests force each step with it).
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
/** Share of the DSPs still called at step 3 (rounded up, at least one): the best half. */
export const RTB_TAIL_KEEP = 0.5;

export type DependencyName = 'redis' | 'redis_budget' | 'postgres' | 'nats' | 'model';

export interface ResilienceOptions {
  clock: Clock;
  ladder?: DegradationConfig;
  breaker?: BreakerConfig;
  /** Per-call timeout of Redis calls (ADSTACK_DEPENDENCY_TIMEOUT_MS); default 2000 ms. */
  callTimeoutMs?: number;
  /** Per-call timeout of PostgreSQL calls (ADSTACK_POSTGRES_TIMEOUT_MS); default 5000 ms. */
  postgresTimeoutMs?: number;
  /** Per-call timeout of NATS appends (ADSTACK_NATS_TIMEOUT_MS); default 5000 ms. */
  natsTimeoutMs?: number;
  evalIntervalMs?: number;
}

export class Resilience {
  readonly guards = new Map<DependencyName, DependencyGuard>();
  private readonly ladder: DegradationLadder;
  private readonly clock: Clock;
  private utilization: () => number = () => 0;
  private lastEvalMs = Number.NEGATIVE_INFINITY;
  private pinned: DegradationLevel | undefined;
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
        // Every I/O dependency's calls are cut at its timeout and count as failures, so a hung
        // dependency opens its breaker and a half-open probe ends at the timeout at the latest.
        // Cutting is safe for every caller: a Redis read is abandoned; a budget grant cut may
        // still land and is reclaimed at its expiry, spend is idempotent by its key; a ledger
        // batch cut is retried and deduplicated by event key (ON CONFLICT DO NOTHING); a
        // JetStream append cut goes to the disk spool and is replayed with the same message id
        // (deduplicated within the stream's window); a serving-index reload cut keeps the last
        // snapshot. The model is in-process and synchronous: no timeout.
        ...(this.timeoutOf(name) !== undefined ? { timeoutMs: this.timeoutOf(name) } : {}),
        isFailure: isDependencyFailure,
        onTransition: (t) => {
          for (const l of this.breakerListeners) l(t);
        },
      });
      this.guards.set(name, g);
    }
    return g;
  }

  private timeoutOf(name: DependencyName): number | undefined {
    switch (name) {
      case 'redis':
      case 'redis_budget':
        return this.opts.callTimeoutMs ?? 2000;
      case 'postgres':
        return this.opts.postgresTimeoutMs ?? 5000;
      case 'nats':
        return this.opts.natsTimeoutMs ?? 5000;
      case 'model':
        return undefined;
    }
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
        ...(this.pinned !== undefined ? { pinned: this.pinned } : {}),
      });
      if (change !== null) for (const l of this.ladderListeners) l(change);
    }
    return this.ladder.level;
  }

  /**
   * Pins the ladder at `level` or above (an operator's override, and how tests force a step);
   * null unpins, after which the ladder recovers one step per hold as usual. Takes effect now.
   */
  pin(level: DegradationLevel | null): void {
    this.pinned = level ?? undefined;
    this.lastEvalMs = Number.NEGATIVE_INFINITY;
    this.level();
  }

  /** The pinned level's name, or null when the ladder is not pinned. */
  pinnedName(): string | null {
    return this.pinned === undefined ? null : degradationName(this.pinned);
  }

  levelName(): string {
    return degradationName(this.level());
  }

  /** Ladder step 1: serve stale cache entries instead of refreshing them from L2/L3. */
  serveStale(): boolean {
    return this.level() >= DegradationLevel.StaleCache;
  }

  /** Ladder step 2: rank with the priors instead of the model. */
  skipModel(): boolean {
    return this.level() >= DegradationLevel.SkipMl;
  }

  /** Ladder step 3: call only the most valuable DSPs (this many at most); null = all. */
  dspLimit(dspCount: number): number | null {
    if (this.level() < DegradationLevel.DropRtbTail) return null;
    return Math.max(1, Math.ceil(dspCount * RTB_TAIL_KEEP));
  }

  /** Ladder step 4: our own campaigns from memory only (no DSPs, no counter reads). */
  houseOnly(): boolean {
    return this.level() >= DegradationLevel.HouseOnly;
  }
}
