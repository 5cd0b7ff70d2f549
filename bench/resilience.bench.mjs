/**
 * resilience: what the issue-8 machinery costs one decision, in process (no HTTP), against the
 * same DecisionService without it, measured in the same run.
 *
 *   baseline  decide(req)                                   (what decide() did before issue 8)
 *   deadline  decide(req, { deadline }) with a fresh DecisionDeadline per call, as the route
 *             does: the frequency read goes through `cut` (one timer armed and cleared)
 *   traced    decide(req) on a service with the tracing observer (ADSTACK_OTEL on), spans to a
 *             processor that drops them: the stage timing bookkeeping plus six spans
 *
 * Data: the demo data set on in-memory PGlite, in-memory frequency counters, the demo request
 * with a user id (so the capped demo campaign makes the frequency read happen every time).
 * Method: ROUNDS rounds; each round runs one batch of each variant back to back (order rotated),
 * BATCH decisions each. Reported: the median µs per decision over rounds and the median of the
 * per-round ratios to the baseline. Runs in well under 60 s. Needs `npm run build` (the runner
 * does it).
 *
 * Env: BENCH_RESILIENCE_ROUNDS (21), BENCH_RESILIENCE_BATCH (1000).
 */
import { demoDecisionSetup, loadDist } from './lib/demo-decisions.mjs';
import { envNumber, median, round } from './lib/util.mjs';

export const name = 'resilience';
export const description =
  'decide() with the per-request deadline and with tracing on, vs plain decide() in the same run';
export const timeoutMs = 3 * 60_000;

const ROUNDS = envNumber('BENCH_RESILIENCE_ROUNDS', 21, { integer: true });
const BATCH = envNumber('BENCH_RESILIENCE_BATCH', 1000, { integer: true });

export async function run({ signal, log }) {
  const { DecisionDeadline } = await loadDist('exchange/resilient/deadline.js');
  const { DecisionTracer } = await loadDist('exchange/resilient/tracing.js');
  const { createTracing } = await loadDist('wiring/tracing.js');
  const { NoopSpanProcessor } = await import('@opentelemetry/sdk-trace-base');

  const { storage, deps, DecisionService, DEMO_REQUEST, systemClock } = await demoDecisionSetup();
  try {
    const plain = new DecisionService(deps);
    const tracing = createTracing(new NoopSpanProcessor());
    const traced = new DecisionService({
      ...deps,
      observer: new DecisionTracer(tracing.tracer, systemClock),
    });
    const req = { ...DEMO_REQUEST, user: { id: 'bench-user' } };
    const first = await plain.decide(req);
    if (first.kind !== 'fill') throw new Error(`the demo request should fill, got ${first.kind}`);

    const variants = {
      baseline: () => plain.decide(req),
      deadline: async () => {
        const d = new DecisionDeadline(systemClock, 100, 0);
        const out = await plain.decide(req, { deadline: d });
        d.done();
        return out;
      },
      traced: () => traced.decide(req),
    };
    const names = Object.keys(variants);
    const batch = async (fn) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) await fn();
      return Number(process.hrtime.bigint() - t0) / 1000 / BATCH; // µs per decision
    };
    for (const n of names) await batch(variants[n]); // warm-up
    const us = Object.fromEntries(names.map((n) => [n, []]));
    const ratios = { deadline: [], traced: [] };
    for (let r = 0; r < ROUNDS && !signal.aborted; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]);
      const got = {};
      for (const n of order) got[n] = await batch(variants[n]);
      for (const n of names) us[n].push(got[n]);
      ratios.deadline.push(got.deadline / got.baseline);
      ratios.traced.push(got.traced / got.baseline);
      log(`round ${r + 1}/${ROUNDS}: ${names.map((n) => `${n} ${round(got[n])} µs`).join(', ')}`);
    }
    await tracing.close();
    return {
      rounds: us.baseline.length,
      batch: BATCH,
      baseline_us: round(median(us.baseline)),
      deadline_us: round(median(us.deadline)),
      traced_us: round(median(us.traced)),
      deadline_ratio: round(median(ratios.deadline), 3),
      traced_ratio: round(median(ratios.traced), 3),
    };
  } finally {
    await storage.driver.close();
  }
}

export function table(r) {
  return {
    rows: [
      {
        variant: 'baseline: decide(req)',
        'µs / decision (median)': r.baseline_us,
        'vs baseline': 1,
      },
      {
        variant: 'deadline per request',
        'µs / decision (median)': r.deadline_us,
        'vs baseline': r.deadline_ratio,
      },
      {
        variant: 'tracing on (6 spans)',
        'µs / decision (median)': r.traced_us,
        'vs baseline': r.traced_ratio,
      },
    ],
    notes: [`${r.rounds} rounds × ${r.batch} decisions, in process, demo data, one user`],
  };
}
