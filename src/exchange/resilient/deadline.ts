/**
 * One deadline per decision request (issue 8 item 1): the configured decision budget
 * (ADSTACK_DECISION_BUDGET_MS, default the seed's 100 ms) measured from when the request
 * arrived. Stages that do I/O run their calls through `cut(stage, …)`: the call gets
 * min(the stage's own budget, what is left of the request's budget); a call that overruns is
 * abandoned (the caller's fail-closed path applies), recorded as degraded with a closed-enum
 * reason, and the decision goes on.
 *
 * - `signal` is an AbortSignal that aborts when the whole budget is spent, for I/O clients that
 *   accept one. It is created on first use, so a decision that does no I/O pays for no timer.
 * - Stage budgets (`DEFAULT_STAGE_BUDGETS_MS`): the frequency-cap read is a Redis round trip,
 *   10 ms in the seed's latency table for a feature/counter read; so is the user's profile and
 *   engagement read (`profile`, src/exchange/user-features.ts); later stages (budget leases,
 *   external demand) add theirs here.
 * - Used by `DecisionService.decide(req, { deadline })` (src/exchange/decision.ts), which wraps
 *   its FrequencyCounters with `deadline.frequency(…)`; the route builds one per request.
 *   The OpenRTB endpoint keeps its own `tmax` deadline (src/exchange/rtb/auction.ts).
 */
import { performance } from 'node:perf_hooks';
import type { FrequencyCounters } from '../../ports/frequency-counters.js';
import type { Clock } from '../../ports/clock.js';
import { BreakerOpenError } from './guard.js';

export const DEFAULT_DECISION_BUDGET_MS = 100;

/**
 * Each I/O stage's own budget; a stage never gets more than the request has left. `budget` is
 * the wait for a campaign's budget setup (the first decision of a local day, or counters coming
 * back: a few Redis calls): it has no budget of its own, only the request's. `profile` is the
 * user profile and 7-day engagement read (src/exchange/user-features.ts).
 */
export const DEFAULT_STAGE_BUDGETS_MS: Readonly<
  Record<'frequency' | 'budget' | 'profile', number>
> = {
  frequency: 10,
  budget: Number.POSITIVE_INFINITY,
  profile: 10,
};
export type IoStage = keyof typeof DEFAULT_STAGE_BUDGETS_MS;

/** Why a stage was cut or skipped (closed enum; shown in the explain output and metrics). */
export const DegradedReason = {
  /** The stage's budget (or the request's) ran out before the dependency answered. */
  Deadline: 'deadline',
  /** The dependency's circuit breaker is open: not called. */
  BreakerOpen: 'breaker_open',
  /** The dependency answered with an error. */
  DependencyError: 'dependency_error',
  /** Not called: the degradation ladder's step 4 (house ads only) serves from memory. */
  Ladder: 'ladder',
} as const;
export type DegradedReason = (typeof DegradedReason)[keyof typeof DegradedReason];

export interface DegradedStage {
  stage: IoStage;
  reason: DegradedReason;
}

export class DeadlineExceededError extends Error {
  constructor(
    readonly stage: IoStage,
    readonly budgetMs: number,
  ) {
    super(`${stage}: cut after ${budgetMs} ms (decision deadline)`);
    this.name = 'DeadlineExceededError';
  }
}

export class LadderSkipError extends Error {
  constructor(readonly stage: IoStage) {
    super(`${stage}: skipped by the degradation ladder`);
    this.name = 'LadderSkipError';
  }
}

/**
 * One LadderSkipError per stage, made on first use and reused: while the ladder is at its top
 * step every decision skips its stages, and capturing a fresh stack each time cost 1.8 % of the
 * server's CPU in the overload benchmark (issue 8 profile). Nothing reads its stack.
 */
const LADDER_SKIPS = new Map<IoStage, LadderSkipError>();
function ladderSkip(stage: IoStage): LadderSkipError {
  let e = LADDER_SKIPS.get(stage);
  if (e === undefined) {
    e = new LadderSkipError(stage);
    LADDER_SKIPS.set(stage, e);
  }
  return e;
}

export class DecisionDeadline {
  readonly startMs: number;
  readonly budgetMs: number;
  readonly degraded: DegradedStage[] = [];
  private readonly stageBudgets: Record<IoStage, number>;
  private controller: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly clock: Clock,
    budgetMs: number = DEFAULT_DECISION_BUDGET_MS,
    /** Time already spent on this request before the deadline was made (parsing, routing). */
    spentMs = 0,
    stageBudgets: Partial<Record<IoStage, number>> = {},
    /** Stages the degradation ladder skips now (not called; the caller fails closed). */
    private readonly skip?: (stage: IoStage) => boolean,
  ) {
    this.startMs = clock.monotonicMs() - spentMs;
    this.budgetMs = budgetMs;
    this.stageBudgets = { ...DEFAULT_STAGE_BUDGETS_MS, ...stageBudgets };
  }

  remainingMs(): number {
    return Math.max(0, this.startMs + this.budgetMs - this.clock.monotonicMs());
  }

  /** Aborts when the request's whole budget is spent (created on first use). */
  get signal(): AbortSignal {
    if (this.controller === null) {
      const c = new AbortController();
      this.controller = c;
      const left = this.remainingMs();
      if (left <= 0) c.abort(new Error('decision deadline'));
      else {
        this.timer = setTimeout(() => c.abort(new Error('decision deadline')), left);
        this.timer.unref();
      }
    }
    return this.controller.signal;
  }

  /** Ends the request: clears the signal's timer (call when the decision is answered). */
  done(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Runs one I/O call of `stage` within min(stage budget, remaining). On overrun or error the
   * stage is recorded as degraded and the error is rethrown for the caller's fail-closed path.
   */
  cut<T>(stage: IoStage, call: () => Promise<T>): Promise<T> {
    if (this.skip?.(stage) === true) {
      this.degraded.push({ stage, reason: DegradedReason.Ladder });
      return Promise.reject(ladderSkip(stage));
    }
    const ms = Math.min(this.stageBudgets[stage], this.remainingMs());
    if (ms <= 0) {
      this.degraded.push({ stage, reason: DegradedReason.Deadline });
      return Promise.reject(new DeadlineExceededError(stage, 0));
    }
    // No timer per call: this runs on every decision (see `CutTimer`).
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        cutTimer.delete(pending);
        this.degraded.push({ stage, reason: reasonOf(e) });
        reject(e instanceof Error ? e : new Error(String(e)));
      };
      const pending: PendingCut = {
        atMs: performance.now() + ms,
        fire: () => fail(new DeadlineExceededError(stage, ms)),
      };
      cutTimer.add(pending);
      let p: Promise<T>;
      try {
        p = call();
      } catch (e) {
        fail(e);
        return;
      }
      p.then((v) => {
        if (settled) return;
        settled = true;
        cutTimer.delete(pending);
        resolve(v);
      }, fail);
    });
  }

  /**
   * Waits for campaigns' budget setup (DecisionService's budget step) within what the request
   * has left; never rejects: a setup not done in time leaves the campaign filtered
   * (`budget_unavailable`), recorded as the `budget` stage degraded.
   */
  budgetSetup(setup: readonly Promise<unknown>[]): Promise<void> {
    return this.cut('budget', () => Promise.all(setup)).then(
      () => undefined,
      () => undefined,
    );
  }

  /** FrequencyCounters whose reads are cut at the frequency stage's budget. */
  frequency(inner: FrequencyCounters): FrequencyCounters {
    return {
      check: (userId, rules, nowMs) =>
        this.cut('frequency', () => inner.check(userId, rules, nowMs)),
      increment: (...a) => inner.increment(...a),
      checkAndIncrement: (...a) => inner.checkAndIncrement(...a),
      forgetUser: (userId) => inner.forgetUser(userId),
    };
  }
}

interface PendingCut {
  /** performance.now() at which the call is cut. */
  atMs: number;
  fire(): void;
}

/**
 * One timer for every pending cut of the process, armed for the earliest one. A call that
 * settles only leaves the set (the timer is not cleared), so under steady traffic the timer is
 * re-armed about once per stage budget instead of once per decision (a setTimeout/clearTimeout
 * pair per decision is avoidable native work on the hottest path; bench/README.md, resilience,
 * has what the deadline costs a decision).
 * Cuts are measured on the real monotonic clock (they bound real waiting), the remaining budget
 * on the injected one.
 */
class CutTimer {
  private readonly pending = new Set<PendingCut>();
  private timer: NodeJS.Timeout | null = null;
  private armedAtMs = Number.POSITIVE_INFINITY;

  add(p: PendingCut): void {
    this.pending.add(p);
    if (p.atMs < this.armedAtMs) this.arm(p.atMs);
  }

  delete(p: PendingCut): void {
    this.pending.delete(p);
  }

  private arm(atMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedAtMs = atMs;
    this.timer = setTimeout(() => this.fire(), Math.max(0, atMs - performance.now()));
    // A timer left armed after its cuts settled must not keep a finished process alive.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.armedAtMs = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const p of this.pending) {
      if (p.atMs <= now + 0.5) {
        this.pending.delete(p);
        p.fire();
      } else if (p.atMs < next) next = p.atMs;
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}

const cutTimer = new CutTimer();

function reasonOf(e: unknown): DegradedReason {
  if (e instanceof DeadlineExceededError) return DegradedReason.Deadline;
  if (e instanceof BreakerOpenError) return DegradedReason.BreakerOpen;
  return DegradedReason.DependencyError;
}
