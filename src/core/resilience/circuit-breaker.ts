/**
 * A circuit breaker per DSP: a small state machine over call outcomes, with time passed in
 * (DESIGN.md §3: core reads no clock). Issue 4: "a DSP that starts failing has its breaker open
 * within 2 s or 20 calls, and half-open probes bring it back after it recovers".
 *
 * Implementation notes
 * - Closed → open when any of
 *   (a) the last `consecutiveFailures` calls all failed (a dead DSP opens after a handful of
 *       calls at any call rate);
 *   (b) among the calls of the last `windowMs` (at most the last `windowCalls`), at least
 *       `minCalls` were made and the failed share is ≥ `failureRatio` (a DSP failing most of
 *       its calls, not only now and then);
 *   (c) a run of at least 3 failures has lasted `windowMs` (a DSP called less than a few
 *       times per second that keeps failing).
 *   With the defaults (2 s, 20 calls, 70 % of ≥ 10, 8 in a row) a DSP that goes from healthy to
 *   failing opens after ≤ 8 calls when every call fails, ≤ 20 when 3 calls in 4 fail, and within
 *   2 s of its first failure at any call rate. A healthy DSP that times out now and then (the
 *   issue's benchmark DSPs answer 10 % of requests after 30 ms) does not trip it: 8 timeouts in
 *   a row at a 20 % timeout rate happen about once in 400,000 calls, 14 of 20 about once in
 *   500,000 windows (binomial tails).
 * - Open → half-open after `openMs`; the open time doubles on each failed probe up to
 *   `maxOpenMs` and resets when the breaker closes (exponential back-off, so a dead DSP costs
 *   one probe per `maxOpenMs`; 5 s by default, so a DSP that recovers, or whose failures were
 *   our own overload, is back within seconds).
 * - Half-open lets `halfOpenProbes` calls through at once; `closeAfterSuccesses` successes
 *   close it, any failure re-opens it. Every acquired call must end in `record` or `abandon`
 *   (no verdict), or its probe slot stays taken.
 * - What counts as failure is the caller's choice: timeouts, connection errors, 5xx, invalid
 *   bodies. A no-bid is a success: the DSP answered.
 * - Hand-written rather than cockatiel's CircuitBreakerPolicy: core/ imports no package
 *   (docs/decisions/0008-openrtb-exchange.md), and the fan-out needs a synchronous
 *   "may I call?" check with an explicit clock, not a wrapper around a promise.
 */

export interface BreakerConfig {
  windowMs: number;
  windowCalls: number;
  failureRatio: number;
  minCalls: number;
  consecutiveFailures: number;
  openMs: number;
  maxOpenMs: number;
  halfOpenProbes: number;
  closeAfterSuccesses: number;
}

export const DEFAULT_BREAKER: BreakerConfig = {
  windowMs: 2000,
  windowCalls: 20,
  failureRatio: 0.7,
  minCalls: 10,
  consecutiveFailures: 8,
  openMs: 1000,
  maxOpenMs: 5000,
  halfOpenProbes: 1,
  closeAfterSuccesses: 2,
};

export type BreakerState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private stateNow: BreakerState = 'closed';
  private readonly okAt: boolean[];
  private readonly tsAt: number[];
  private head = 0; // next write position in the ring
  private filled = 0;
  private streak = 0; // consecutive failures
  private streakStartMs = 0;
  private openUntilMs = 0;
  private openForMs: number;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  /** Times the breaker opened; for metrics and tests. */
  opened = 0;

  constructor(private readonly cfg: BreakerConfig = DEFAULT_BREAKER) {
    this.okAt = new Array<boolean>(cfg.windowCalls).fill(true);
    this.tsAt = new Array<number>(cfg.windowCalls).fill(0);
    this.openForMs = cfg.openMs;
  }

  state(nowMs: number): BreakerState {
    if (this.stateNow === 'open' && nowMs >= this.openUntilMs) return 'half_open';
    return this.stateNow;
  }

  /**
   * May a call start now? In half-open, a `true` reserves a probe slot: the caller must then
   * report the outcome with `record`.
   */
  tryAcquire(nowMs: number): boolean {
    if (this.stateNow === 'closed') return true;
    if (this.stateNow === 'open') {
      if (nowMs < this.openUntilMs) return false;
      this.stateNow = 'half_open';
      this.probesInFlight = 0;
      this.probeSuccesses = 0;
    }
    if (this.probesInFlight >= this.cfg.halfOpenProbes) return false;
    this.probesInFlight++;
    return true;
  }

  /**
   * A call ended with no verdict on the DSP (the caller cannot tell whose fault it was): frees
   * its half-open probe slot without changing the state, so the next call can probe.
   */
  abandon(): void {
    if (this.stateNow === 'half_open') this.probesInFlight = Math.max(0, this.probesInFlight - 1);
  }

  record(success: boolean, nowMs: number): void {
    if (this.stateNow === 'half_open') {
      this.probesInFlight = Math.max(0, this.probesInFlight - 1);
      if (!success) {
        this.openForMs = Math.min(this.openForMs * 2, this.cfg.maxOpenMs);
        this.trip(nowMs);
        return;
      }
      if (++this.probeSuccesses >= this.cfg.closeAfterSuccesses) this.close();
      return;
    }
    if (this.stateNow === 'open') return; // a call started before the breaker opened
    this.okAt[this.head] = success;
    this.tsAt[this.head] = nowMs;
    this.head = (this.head + 1) % this.cfg.windowCalls;
    this.filled = Math.min(this.filled + 1, this.cfg.windowCalls);
    if (!success && this.streak === 0) this.streakStartMs = nowMs;
    this.streak = success ? 0 : this.streak + 1;
    if (!success && this.shouldOpen(nowMs)) this.trip(nowMs);
  }

  private shouldOpen(nowMs: number): boolean {
    if (this.streak >= this.cfg.consecutiveFailures) return true;
    if (this.streak >= 3 && nowMs - this.streakStartMs >= this.cfg.windowMs) return true;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < this.filled; i++) {
      if (nowMs - (this.tsAt[i] as number) > this.cfg.windowMs) continue;
      calls++;
      if (!(this.okAt[i] as boolean)) failures++;
    }
    return calls >= this.cfg.minCalls && failures / calls >= this.cfg.failureRatio;
  }

  private trip(nowMs: number): void {
    this.stateNow = 'open';
    this.openUntilMs = nowMs + this.openForMs;
    this.opened++;
  }

  private close(): void {
    this.stateNow = 'closed';
    this.filled = 0;
    this.head = 0;
    this.streak = 0;
    this.openForMs = this.cfg.openMs;
  }
}
