/**
 * Prometheus metrics on a per-app registry (so tests can build many apps): request count and
 * latency histogram by route, method and status, plus Node's default process metrics.
 * Routes are labelled by their pattern (`/v1/admin/campaigns/:id`), never the raw URL.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { burnAlerts, SloWindow, WINDOW_MINUTES } from '../../core/resilience/slo.js';
import { DEGRADATION_NAMES } from '../../core/resilience/degradation.js';
import { BREAKER_STATE_VALUE } from '../../exchange/resilient/guard.js';
import type { Resilience } from '../../exchange/resilient/resilience.js';
import type { LoadShedder } from './load-shed.js';
import type { TieredCacheStats } from '../../core/cache/tiered.js';
import type { HotKey } from '../../core/cache/hot-keys.js';

/**
 * The decision SLO: 99.9% of decision requests answered without a 5xx or a 429 within the
 * seed's 100 ms budget. Burn rates per window feed multiwindow alerts (src/core/resilience/slo.ts).
 */
export const DECISION_SLO = { objective: 0.999, latencyMs: 100 } as const;
const DECISION_ROUTES = new Set(['/v1/decisions', '/openrtb2/auction']);

export interface HttpMetrics {
  registry: Registry;
  decisions: Counter<'outcome' | 'reason'>;
  shed: Counter<'reason'>;
  /** Decision stages cut or skipped (deadline, open breaker, dependency error). */
  degraded: Counter<'stage' | 'reason'>;
}

const ZONE_LEVEL = { normal: 0, elevated: 1, critical: 2 } as const;

export function installMetrics(
  app: FastifyInstance,
  shedder: LoadShedder,
  resilience?: Resilience,
): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'adstack_http_requests_total',
    help: 'HTTP requests by route pattern, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'adstack_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'adstack_decisions_total',
    help: 'Ad decisions by outcome (fill / no_fill) and no-fill reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  const shed = new Counter({
    name: 'adstack_shed_total',
    help: 'Decision requests refused with 429 by load shedding, by closed-enum reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'adstack_load_utilization',
    help: 'Utilisation seen by load shedding: max(event-loop lag / target, in-flight / limit)',
    registers: [registry],
    collect() {
      this.set(shedder.utilization());
    },
  });
  new Gauge({
    name: 'adstack_load_zone',
    help: 'Load zone: 0 normal (<70%), 1 elevated (70-90%, add capacity), 2 critical (>90%, shedding)',
    registers: [registry],
    collect() {
      this.set(ZONE_LEVEL[shedder.zone()]);
    },
  });
  new Gauge({
    name: 'adstack_http_in_flight',
    help: 'HTTP requests being processed',
    registers: [registry],
    collect() {
      this.set(shedder.inFlight);
    },
  });
  const degraded = new Counter({
    name: 'adstack_decision_degraded_total',
    help: 'Decision stages cut or skipped, by stage (frequency, budget) and reason (deadline, breaker_open, dependency_error, ladder)',
    labelNames: ['stage', 'reason'] as const,
    registers: [registry],
  });
  if (resilience !== undefined) installResilienceMetrics(registry, resilience);
  const slo = new SloWindow(DECISION_SLO.objective);
  new Gauge({
    name: 'adstack_slo_burn_rate',
    help: 'Decision SLO error-budget burn rate (1 = spending exactly the budget) by window',
    labelNames: ['window'] as const,
    registers: [registry],
    collect() {
      const rates = slo.rates(Date.now());
      for (const w of Object.keys(WINDOW_MINUTES) as (keyof typeof rates)[]) {
        this.set({ window: w }, rates[w]);
      }
    },
  });
  new Gauge({
    name: 'adstack_slo_alert',
    help: 'Multiwindow burn-rate alerts: page (1 h and 5 m > 14.4x), ticket (6 h and 30 m > 6x)',
    labelNames: ['severity'] as const,
    registers: [registry],
    collect() {
      const a = burnAlerts(slo.rates(Date.now()));
      this.set({ severity: 'page' }, a.page ? 1 : 0);
      this.set({ severity: 'ticket' }, a.ticket ? 1 : 0);
    },
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (DECISION_ROUTES.has(route)) {
      const s = reply.statusCode;
      const ok = s < 500 && s !== 429 && reply.elapsedTime <= DECISION_SLO.latencyMs;
      // Client mistakes (other 4xx) are not the service failing its users: they count as good.
      slo.record(Date.now(), ok);
    }
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    latency.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });
  return { registry, decisions, shed, degraded };
}

/** Breaker states, calls and transitions per dependency; the degradation ladder's level. */
function installResilienceMetrics(registry: Registry, r: Resilience): void {
  new Gauge({
    name: 'adstack_breaker_state',
    help: 'Dependency circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['dependency'] as const,
    registers: [registry],
    collect() {
      for (const [name, g] of r.guards)
        this.set({ dependency: name }, BREAKER_STATE_VALUE[g.state()]);
    },
  });
  const transitions = new Counter({
    name: 'adstack_breaker_transitions_total',
    help: 'Dependency circuit breaker transitions by dependency and new state',
    labelNames: ['dependency', 'to'] as const,
    registers: [registry],
  });
  r.onBreakerTransition((t) => transitions.inc({ dependency: t.dependency, to: t.to }));
  const seen = new Map<string, number>();
  new Counter({
    name: 'adstack_dependency_calls_total',
    help: 'Calls through a dependency breaker by result (success, failure, rejected = not called while open, caller_error)',
    labelNames: ['dependency', 'result'] as const,
    registers: [registry],
    collect() {
      for (const [name, g] of r.guards) {
        for (const [result, n] of Object.entries(g.calls)) {
          const key = `${name}\u0000${result}`;
          const delta = n - (seen.get(key) ?? 0);
          seen.set(key, n);
          // Zero deltas still create the series, so every result is visible from the start.
          this.inc({ dependency: name, result }, delta);
        }
      }
    },
  });
  new Gauge({
    name: 'adstack_degradation_level',
    help: 'Degradation ladder level: 0 normal, 1 stale_cache, 2 skip_ml, 3 drop_rtb_tail, 4 house_only',
    registers: [registry],
    collect() {
      this.set(r.level());
    },
  });
  new Gauge({
    name: 'adstack_degradation_step_active',
    help: 'Degradation ladder steps in force (1) or not (0), by step name',
    labelNames: ['step'] as const,
    registers: [registry],
    collect() {
      const level = r.level();
      DEGRADATION_NAMES.forEach((step, i) => {
        if (i > 0) this.set({ step }, level >= i ? 1 : 0);
      });
    },
  });
  const steps = new Counter({
    name: 'adstack_degradation_changes_total',
    help: 'Degradation ladder level changes by direction (down = degrade, up = recover) and cause',
    labelNames: ['direction', 'cause'] as const,
    registers: [registry],
  });
  r.onLadderChange((c) => steps.inc({ direction: c.to > c.from ? 'down' : 'up', cause: c.cause }));
}

/** What the budget metrics read (src/wiring/runtime.ts fills it from the BudgetManager). */
export interface BudgetMetricsSource {
  /** Last reconciliation: counters' spend minus the ledger's, per campaign × period. */
  differences(): readonly { campaignId: string; period: string; differenceMicros: number }[];
  exposureOverrunMicros(): number;
  leases(): { granted: number; returned: number };
}

/**
 * Budget metrics: `adstack_budget_ledger_difference_micros` (reconciliation job; 0 after
 * quiesce), `adstack_budget_exposure_overrun_micros_total` (CPC/CPA spend the counters refused
 * beyond the exposure reserve, recorded in the ledger only), and lease grants / returns.
 */
export function installBudgetMetrics(registry: Registry, src: BudgetMetricsSource): void {
  new Gauge({
    name: 'adstack_budget_ledger_difference_micros',
    help: 'Budget counters spend minus ledger spend per campaign and period, at the last reconciliation',
    labelNames: ['campaign_id', 'period'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of src.differences()) {
        this.set({ campaign_id: d.campaignId, period: d.period }, d.differenceMicros);
      }
    },
  });
  new Gauge({
    name: 'adstack_budget_exposure_overrun_micros_total',
    help: 'CPC/CPA spend beyond the lease exposure reserve (in the ledger, refused by the counters)',
    registers: [registry],
    collect() {
      this.set(src.exposureOverrunMicros());
    },
  });
  new Gauge({
    name: 'adstack_budget_leases_total',
    help: 'Budget leases granted to and returned by this process',
    labelNames: ['event'] as const,
    registers: [registry],
    collect() {
      const l = src.leases();
      this.set({ event: 'granted' }, l.granted);
      this.set({ event: 'returned' }, l.returned);
    },
  });
}

/** The bounded event publisher (src/stream/publisher.ts) as the metrics see it. */
export interface PublisherMetricsSource {
  stats(): {
    published: number;
    duplicates: number;
    failed: number;
    rejected: Readonly<Record<string, number>>;
    inFlight: number;
    queued: number;
  };
}

/**
 * Event publisher metrics (issue 7): `adstack_events_published_total{result}` — `published`,
 * `duplicate` (the log already had the id), `failed` (the log refused or timed out; the spool
 * takes over where configured) and `rejected_<reason>` (refused before the log: queue full,
 * closed) — and `adstack_events_publisher_pending{state}` (in flight, queued) now.
 */
export function installPublisherMetrics(registry: Registry, src: PublisherMetricsSource): void {
  new Gauge({
    name: 'adstack_events_published_total',
    help: 'Events handed to the bounded publisher since start, by result',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const s = src.stats();
      this.set({ result: 'published' }, s.published);
      this.set({ result: 'duplicate' }, s.duplicates);
      this.set({ result: 'failed' }, s.failed);
      for (const [reason, n] of Object.entries(s.rejected)) {
        this.set({ result: `rejected_${reason}` }, n);
      }
    },
  });
  new Gauge({
    name: 'adstack_events_publisher_pending',
    help: 'Events in the bounded publisher now: appends in flight, events queued',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = src.stats();
      this.set({ state: 'in_flight' }, s.inFlight);
      this.set({ state: 'queued' }, s.queued);
    },
  });
}

/** A tiered cache (src/core/cache/tiered.ts) as the metrics see it. */
export interface CacheMetricsSource {
  namespace: string;
  stats(): TieredCacheStats;
  hotKeys(nowMs: number): HotKey[];
  nowMs(): number;
}

/** Hot keys listed per cache at most (the highest rates): bounds the label set. */
const MAX_HOT_KEYS_LISTED = 20;

/**
 * Tiered-cache metrics (issue 7): reads by tier and result
 * (`adstack_cache_reads_total{namespace,result}`: l1_hit, l1_miss, l1_stale (a stale entry
 * served: degradation ladder step 1, issue 8), coalesced, l2_hit, l2_miss,
 * l2_error, replica_read, l3_load, l3_absent), invalidations, and the current hot set —
 * `adstack_cache_hot_keys{namespace}` (how many) and
 * `adstack_cache_hot_key_reads_per_second{namespace,key}` (the top 20 by estimated rate; keys
 * are cache keys, i.e. hashed ids, never raw ones).
 */
export function installCacheMetrics(
  registry: Registry,
  caches: readonly CacheMetricsSource[],
): void {
  new Gauge({
    name: 'adstack_cache_reads_total',
    help: 'Tiered cache reads by namespace and tier/result since start',
    labelNames: ['namespace', 'result'] as const,
    registers: [registry],
    collect() {
      for (const c of caches) {
        const s = c.stats();
        const rows: [string, number][] = [
          ['l1_hit', s.l1Hits],
          ['l1_miss', s.l1Misses],
          ['l1_stale', s.staleServed],
          ['coalesced', s.coalesced],
          ['l2_hit', s.l2Hits],
          ['l2_miss', s.l2Misses],
          ['l2_error', s.l2Errors],
          ['replica_read', s.replicaReads],
          ['l3_load', s.l3Loads],
          ['l3_absent', s.l3Absent],
        ];
        for (const [result, n] of rows) this.set({ namespace: c.namespace, result }, n);
      }
    },
  });
  new Gauge({
    name: 'adstack_cache_invalidations_total',
    help: 'Tiered cache invalidations applied by this process, by namespace',
    labelNames: ['namespace'] as const,
    registers: [registry],
    collect() {
      for (const c of caches) this.set({ namespace: c.namespace }, c.stats().invalidations);
    },
  });
  new Gauge({
    name: 'adstack_cache_hot_key_reads_per_second',
    help: 'Current hot keys (pinned in L1, read through L2 replicas) and their estimated reads/s',
    labelNames: ['namespace', 'key'] as const,
    registers: [registry],
    collect() {
      this.reset(); // keys that cooled down disappear
      for (const c of caches) {
        const top = [...c.hotKeys(c.nowMs())]
          .sort((a, b) => b.estPerSec - a.estPerSec)
          .slice(0, MAX_HOT_KEYS_LISTED);
        for (const k of top) this.set({ namespace: c.namespace, key: k.key }, k.estPerSec);
      }
    },
  });
  new Gauge({
    name: 'adstack_cache_hot_keys',
    help: 'How many keys are hot now, by namespace',
    labelNames: ['namespace'] as const,
    registers: [registry],
    collect() {
      for (const c of caches) this.set({ namespace: c.namespace }, c.hotKeys(c.nowMs()).length);
    },
  });
}
