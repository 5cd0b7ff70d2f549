/**
 * Chooses the trace exporter from ADSTACK_OTEL (issue 8 item 5); off by default.
 *
 *   ADSTACK_OTEL unset / 'off'  no tracer, no observer: the decision path measures nothing extra
 *   'console'                   spans printed to stdout (ConsoleSpanExporter), batched
 *   'otlp'                      OTLP over HTTP (@opentelemetry/exporter-trace-otlp-http); the
 *                               endpoint comes from the standard OTEL_EXPORTER_OTLP_ENDPOINT /
 *                               OTEL_EXPORTER_OTLP_TRACES_ENDPOINT variables
 *                               (default http://localhost:4318/v1/traces)
 *
 * The provider is not registered globally: the decision observer gets its tracer directly, so
 * tests can run several runtimes (and an in-memory exporter) side by side.
 */
import type { Tracer } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Config } from '../config/config.js';

export interface TracingHandle {
  tracer: Tracer;
  close(): Promise<void>;
}

export function exporterFor(kind: Config['otel']): SpanExporter | null {
  switch (kind) {
    case 'console':
      return new ConsoleSpanExporter();
    case 'otlp':
      return new OTLPTraceExporter();
    default:
      return null;
  }
}

/** A tracer over the given span processor (tests pass a SimpleSpanProcessor + memory exporter). */
export function createTracing(processor: SpanProcessor): TracingHandle {
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return {
    tracer: provider.getTracer('adstack'),
    close: () => provider.shutdown(),
  };
}

export function tracingFromConfig(kind: Config['otel']): TracingHandle | null {
  const exporter = exporterFor(kind);
  return exporter === null ? null : createTracing(new BatchSpanProcessor(exporter));
}
