/**
 * OpenTelemetry traces per decision (issue 8 item 5): one `adstack.decision` span with a child
 * span per stage, built after the decision from its measured stage timings (the
 * `DecisionObserver` hook of src/exchange/decision.ts). Nothing runs on the hot path while
 * tracing is off: the runtime installs this observer only when ADSTACK_OTEL is set
 * (src/wiring/tracing.ts chooses the exporter).
 *
 * The stages run one after the other, so each child span starts where the previous one ended;
 * the wall-clock start is the monotonic start shifted by (wall now − monotonic now).
 * A stage cut or skipped by the deadline is an event `degraded` on the decision span, with the
 * stage and its closed-enum reason as attributes.
 */
import { context, trace, type Tracer } from '@opentelemetry/api';
import type { DecisionObserver, ObservedDecision } from '../decision.js';
import type { Clock } from '../../ports/clock.js';

export const DECISION_SPAN = 'adstack.decision';
const STAGES = ['placement', 'candidates', 'predict', 'auction', 'render'] as const;

export class DecisionTracer implements DecisionObserver {
  constructor(
    private readonly tracer: Tracer,
    private readonly clock: Clock,
  ) {}

  onDecision(d: ObservedDecision): void {
    const startWall = this.clock.nowMs() - (this.clock.monotonicMs() - d.startMonoMs);
    let total = 0;
    for (const s of STAGES) total += d.stage_ms[s];
    const root = this.tracer.startSpan(DECISION_SPAN, {
      startTime: startWall,
      attributes: { 'adstack.outcome': d.outcome, 'adstack.degraded': d.degraded.length },
    });
    const ctx = trace.setSpan(context.active(), root);
    let at = startWall;
    for (const s of STAGES) {
      const ms = d.stage_ms[s];
      const span = this.tracer.startSpan(`decision.${s}`, { startTime: at }, ctx);
      at += ms;
      span.end(at);
    }
    for (const g of d.degraded) {
      root.addEvent('degraded', { 'adstack.stage': g.stage, 'adstack.reason': g.reason });
    }
    root.end(startWall + total);
  }
}
