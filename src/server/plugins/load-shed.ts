/**
 * Admission control for the decision routes (policy: src/core/resilience/load-shed.ts).
 *
 * Utilisation = max(median event-loop lag / lagTargetMs, requests in flight / maxInFlight),
 * sampled every `sampleIntervalMs` and smoothed: lag catches CPU saturation (work queued behind the loop, including
 * connections not yet parsed), in-flight catches slow dependencies. A request's value is the
 * recent revenue per request of its placement (an EWMA of clearing price / 1000 per decision,
 * 0 for no-fills); the P95 of recent request values sets the keep-always line.
 * Only decisions are shed; events, billing, admin and ops routes are always admitted.
 * Apart from load, decisions are refused while the local event spool is nearly full
 * (`eventBacklog`): the ad server sheds before events are lost.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_ADMISSION,
  DEFAULT_LOAD_SHED,
  decideShed,
  nextAdmitFraction,
  quantile,
  zoneOf,
  type AdmissionConfig,
  type LoadShedConfig,
  type LoadZone,
  type ShedReason,
} from '../../core/resilience/load-shed.js';

export interface LoadShedOptions {
  lagTargetMs?: number;
  maxInFlight?: number;
  sampleIntervalMs?: number;
  policy?: LoadShedConfig;
  /** The early admission controller (core `nextAdmitFraction`), stepped once per sample. */
  admission?: AdmissionConfig;
  /** Tests force a utilisation; production measures it. */
  utilization?: () => number;
  /** Tests force the share of decisions admitted before their body is read; production steps it. */
  admitFraction?: () => number;
  /**
   * How full the local event spool is, 0..1 (src/stream/spooling-event-log.ts `fill`); at
   * `eventBacklogLimit` (default 0.9) every decision is refused before its body is read.
   */
  eventBacklog?: () => number;
  eventBacklogLimit?: number;
  random?: () => number;
}

const VALUE_WINDOW = 1024;
const EWMA_ALPHA = 0.05;

export class LoadShedder {
  inFlight = 0;
  private lag: IntervalHistogram | null = null;
  private timer: NodeJS.Timeout | null = null;
  private measured = 0;
  private admit = 1;
  private readonly placementValue = new Map<string, number>();
  private readonly recentValues: number[] = [];
  private valueCursor = 0;
  private valueP95 = 0;
  private sinceP95 = 0;
  readonly shed: Record<ShedReason, number> = {
    low_value: 0,
    hard_limit: 0,
    event_backlog: 0,
    admission: 0,
  };
  private readonly lagTargetMs: number;
  private readonly maxInFlight: number;
  readonly policy: LoadShedConfig;

  constructor(private readonly opts: LoadShedOptions = {}) {
    this.lagTargetMs = opts.lagTargetMs ?? 50;
    this.maxInFlight = opts.maxInFlight ?? 128;
    this.policy = opts.policy ?? DEFAULT_LOAD_SHED;
  }

  start(): void {
    if (this.opts.utilization !== undefined || this.timer !== null) return;
    this.lag = monitorEventLoopDelay({ resolution: 10 });
    this.lag.enable();
    this.timer = setInterval(() => this.sample(), this.opts.sampleIntervalMs ?? 100);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.lag?.disable();
  }

  /** One utilisation sample (every `sampleIntervalMs`): measures lag, steps admission. */
  sample(): void {
    if (this.lag !== null) this.measureLag(this.lag);
    this.admit = nextAdmitFraction(
      this.admit,
      this.utilization(),
      this.opts.admission ?? DEFAULT_ADMISSION,
      this.policy,
    );
  }

  /** Share of decisions currently let past the early check (1 = all). */
  admitFraction(): number {
    return this.opts.admitFraction?.() ?? this.admit;
  }

  private measureLag(lag: IntervalHistogram): void {
    // The median, not the mean: one long stall (a GC pause, a CPU-starved moment on a shared
    // host, a WASM compile) must not shed a whole window of traffic; a saturated loop delays
    // every tick, which moves the median. The histogram includes the 10 ms sampling
    // resolution itself; subtract it. Smoothed over two windows for the same reason.
    const lagMs = Math.max(0, lag.percentile(50) / 1e6 - 10);
    lag.reset();
    this.measured = 0.5 * this.measured + 0.5 * (lagMs / this.lagTargetMs);
  }

  utilization(): number {
    if (this.opts.utilization !== undefined) return this.opts.utilization();
    return Math.max(this.measured, this.inFlight / this.maxInFlight);
  }

  zone(): LoadZone {
    return zoneOf(this.utilization(), this.policy);
  }

  /**
   * Before the body is read (the cheapest "no"): the event backlog, the hard limit, then the
   * admission controller's uniform draw (the request's value is not known before its body).
   */
  admitEarly(): ShedReason | null {
    const backlog = this.opts.eventBacklog?.() ?? 0;
    if (backlog >= (this.opts.eventBacklogLimit ?? 0.9)) {
      this.shed.event_backlog += 1;
      return 'event_backlog';
    }
    if (this.utilization() >= this.policy.hardLimit) {
      this.shed.hard_limit += 1;
      return 'hard_limit';
    }
    const admit = this.admitFraction();
    if (admit < 1 && (this.opts.random ?? Math.random)() >= admit) {
      this.shed.admission += 1;
      return 'admission';
    }
    return null;
  }

  /** With the placement known: value-based shedding in the critical zone. */
  admitDecision(placementId: string): ShedReason | null {
    const value = this.placementValue.get(placementId) ?? 0;
    const random = (this.opts.random ?? Math.random)();
    const reason = decideShed(this.utilization(), value, this.valueP95, random, this.policy);
    if (reason !== null) this.shed[reason] += 1;
    return reason;
  }

  /** Learns what a decision on this placement earned (micros per request). */
  observe(placementId: string, revenueMicros: number): void {
    const prev = this.placementValue.get(placementId);
    const next = prev === undefined ? revenueMicros : prev + EWMA_ALPHA * (revenueMicros - prev);
    this.placementValue.set(placementId, next);
    if (this.recentValues.length < VALUE_WINDOW) this.recentValues.push(next);
    else this.recentValues[this.valueCursor] = next;
    this.valueCursor = (this.valueCursor + 1) % VALUE_WINDOW;
    if (++this.sinceP95 >= 128) {
      this.sinceP95 = 0;
      this.valueP95 = quantile(this.recentValues, 0.95);
    }
  }
}

/** Counts in-flight requests (decremented when the response closes, even on client abort). */
export function installInFlightCounter(app: FastifyInstance, shedder: LoadShedder): void {
  app.addHook('onRequest', async (req, reply) => {
    shedder.inFlight += 1;
    reply.raw.once('close', () => {
      shedder.inFlight -= 1;
    });
    void req;
  });
  app.addHook('onClose', async () => shedder.stop());
}
