/**
 * A circuit breaker around one dependency (Redis, PostgreSQL, NATS, the model), for the port
 * decorators in this folder. The state machine is the DSP breaker of
 * src/core/resilience/circuit-breaker.ts (same rules, same millisecond tuning); this class adds
 * what an I/O caller needs around it:
 *
 * - `run(fn)`: fail fast with `BreakerOpenError` while open (the dependency is not called at
 *   all), else call it, optionally cut after `timeoutMs` (`DependencyTimeoutError`), and record
 *   the outcome. Errors the caller marks as the caller's own fault (`isFailure` → false, e.g. a
 *   RangeError from bad input) do not count against the dependency.
 * - `runSync(fn)`: the same for synchronous work (the model's batch scoring).
 * - transitions (closed → open → half-open → closed) reported once each to `onTransition`
 *   (the runtime logs them and counts them in Prometheus), and counters per call result for
 *   `/metrics`.
 *
 * The open period starts at `openMs` and doubles on each failed half-open probe up to
 * `maxOpenMs` (exponential back-off), reset when the breaker closes.
 */
import {
  CircuitBreaker,
  DEFAULT_BREAKER,
  type BreakerConfig,
  type BreakerState,
} from '../../core/resilience/circuit-breaker.js';
import type { Clock } from '../../ports/clock.js';

/** Dependencies: open within 2 s or 20 calls (the DSP rules), first probe after 0.5 s. */
export const DEPENDENCY_BREAKER: BreakerConfig = { ...DEFAULT_BREAKER, openMs: 500 };

export class BreakerOpenError extends Error {
  constructor(readonly dependency: string) {
    super(`${dependency}: circuit breaker open, not called`);
    this.name = 'BreakerOpenError';
  }
}

export class DependencyTimeoutError extends Error {
  constructor(
    readonly dependency: string,
    readonly timeoutMs: number,
  ) {
    super(`${dependency}: no answer within ${timeoutMs} ms`);
    this.name = 'DependencyTimeoutError';
  }
}

export type CallResult = 'success' | 'failure' | 'rejected' | 'caller_error';

export interface BreakerTransition {
  dependency: string;
  from: BreakerState;
  to: BreakerState;
  /** Times this breaker has opened since start-up. */
  opened: number;
}

export interface DependencyGuardOptions {
  name: string;
  clock: Clock;
  config?: BreakerConfig;
  /** Cut a call after this long and count it as a failure; none = no cut. */
  timeoutMs?: number;
  /** Does this error count against the dependency? Default: every error does. */
  isFailure?: (e: unknown) => boolean;
  onTransition?: (t: BreakerTransition) => void;
}

export class DependencyGuard {
  readonly name: string;
  private readonly breaker: CircuitBreaker;
  private readonly clock: Clock;
  private lastState: BreakerState = 'closed';
  readonly calls: Record<CallResult, number> = {
    success: 0,
    failure: 0,
    rejected: 0,
    caller_error: 0,
  };
  onTransition: ((t: BreakerTransition) => void) | undefined;

  constructor(private readonly opts: DependencyGuardOptions) {
    this.name = opts.name;
    this.clock = opts.clock;
    this.breaker = new CircuitBreaker(opts.config ?? DEPENDENCY_BREAKER);
    this.onTransition = opts.onTransition;
  }

  /** The state now (an expired open period reads as half-open). */
  state(): BreakerState {
    const s = this.breaker.state(this.clock.monotonicMs());
    this.notice(s);
    return s;
  }

  get opened(): number {
    return this.breaker.opened;
  }

  /** Would a call be let through now (without reserving a probe)? */
  allows(): boolean {
    return this.state() !== 'open';
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.acquire();
    let result: T;
    try {
      result = await this.withTimeout(fn);
    } catch (e) {
      this.settle(e);
      throw e;
    }
    this.settle(null);
    return result;
  }

  runSync<T>(fn: () => T): T {
    this.acquire();
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.settle(e);
      throw e;
    }
    this.settle(null);
    return result;
  }

  private acquire(): void {
    const ok = this.breaker.tryAcquire(this.clock.monotonicMs());
    this.notice(this.breaker.state(this.clock.monotonicMs()));
    if (!ok) {
      this.calls.rejected++;
      throw new BreakerOpenError(this.name);
    }
  }

  private settle(error: unknown): void {
    const now = this.clock.monotonicMs();
    if (error === null) {
      this.calls.success++;
      this.breaker.record(true, now);
    } else if (this.opts.isFailure !== undefined && !this.opts.isFailure(error)) {
      this.calls.caller_error++;
      this.breaker.abandon();
    } else {
      this.calls.failure++;
      this.breaker.record(false, now);
    }
    this.notice(this.breaker.state(now));
  }

  private withTimeout<T>(fn: () => Promise<T>): Promise<T> {
    const ms = this.opts.timeoutMs;
    if (ms === undefined) return fn();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DependencyTimeoutError(this.name, ms)), ms);
      let p: Promise<T>;
      try {
        p = fn();
      } catch (e) {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  private notice(s: BreakerState): void {
    if (s === this.lastState) return;
    const from = this.lastState;
    this.lastState = s;
    this.onTransition?.({ dependency: this.name, from, to: s, opened: this.breaker.opened });
  }
}

/** Numeric state for the Prometheus gauge: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE: Record<BreakerState, number> = {
  closed: 0,
  half_open: 1,
  open: 2,
};
