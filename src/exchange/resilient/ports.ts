/**
 * Port decorators that put a `DependencyGuard` (circuit breaker, optional timeout) in front of
 * a dependency. Applied in src/wiring/runtime.ts; the adapters and the code that uses the ports
 * do not change. While a breaker is open a call throws `BreakerOpenError` at once, and the
 * caller's existing failure handling applies unchanged, now without waiting for the dependency:
 *
 * | port | caller's behaviour on an error (fail closed) |
 * |---|---|
 * | FrequencyCounters (Redis) | the decision filters every capped candidate (`frequency_capped`); uncapped ones compete |
 * | BudgetCounters (Redis, own breaker `redis_budget`) | a lease that cannot be granted is no lease: the campaign serves from the leases it holds, then not at all |
 * | RemoteCache (Redis, L2) | the tiered cache treats it as a miss and loads from L3 |
 * | CampaignStore reads (PostgreSQL) | the serving index keeps its last snapshot; admin reads answer 503/500 as before |
 * | Ledger (PostgreSQL) | the ledger writer retries the batch later; an event waiting for its commit answers 503 |
 * | EventLog appends (NATS) | the spooling log writes the event to the local disk spool |
 *
 * Campaign-store writes are not guarded: a management write reports its own error.
 */
import type { BudgetCounters } from '../../ports/budget-counters.js';
import type { RemoteCache } from '../../ports/cache.js';
import type { CampaignStore } from '../../ports/campaign-store.js';
import type { EventLog } from '../../ports/event-log.js';
import type { FrequencyCounters } from '../../ports/frequency-counters.js';
import type { Ledger } from '../../ports/ledger.js';
import type { DependencyGuard } from './guard.js';

/** Errors that are the caller's fault (bad arguments), not the dependency's. */
export function isDependencyFailure(e: unknown): boolean {
  return !(e instanceof RangeError || e instanceof TypeError);
}

export function guardFrequencyCounters(
  inner: FrequencyCounters,
  g: DependencyGuard,
): FrequencyCounters {
  return {
    check: (userId, rules, nowMs) => g.run(() => inner.check(userId, rules, nowMs)),
    increment: (userId, targets, key, nowMs) =>
      g.run(() => inner.increment(userId, targets, key, nowMs)),
    checkAndIncrement: (userId, rules, targets, key, nowMs) =>
      g.run(() => inner.checkAndIncrement(userId, rules, targets, key, nowMs)),
    forgetUser: (userId) => g.run(() => inner.forgetUser(userId)),
  };
}

export function guardBudgetCounters(inner: BudgetCounters, g: DependencyGuard): BudgetCounters {
  return {
    setBudget: (key, micros) => g.run(() => inner.setBudget(key, micros)),
    grantLease: (req) => g.run(() => inner.grantLease(req)),
    recordSpend: (req) => g.run(() => inner.recordSpend(req)),
    returnLease: (key, leaseId) => g.run(() => inner.returnLease(key, leaseId)),
    shrinkLease: (key, leaseId, give) => g.run(() => inner.shrinkLease(key, leaseId, give)),
    reclaimExpired: (key, nowMs) => g.run(() => inner.reclaimExpired(key, nowMs)),
    state: (key) => g.run(() => inner.state(key)),
    restore: (req) => g.run(() => inner.restore(req)),
  };
}

export function guardRemoteCache(inner: RemoteCache, g: DependencyGuard): RemoteCache {
  return {
    get: (key) => g.run(() => inner.get(key)),
    set: (key, value, ttlMs) => g.run(() => inner.set(key, value, ttlMs)),
    delete: (keys) => g.run(() => inner.delete(keys)),
  };
}

/** Guards the reads (serving snapshot, get, list, API-key lookup); writes pass through. */
export function guardCampaignStoreReads<S extends CampaignStore>(inner: S, g: DependencyGuard): S {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      const fn = v as (...args: unknown[]) => Promise<unknown>;
      if (
        prop === 'loadServingSnapshot' ||
        prop === 'get' ||
        prop === 'list' ||
        prop === 'findApiKey'
      ) {
        return (...args: unknown[]) => g.run(() => fn.apply(target, args));
      }
      return fn.bind(target);
    },
  });
}

export function guardLedger(inner: Ledger, g: DependencyGuard): Ledger {
  return {
    record: (event) => g.run(() => inner.record(event)),
    totals: (filter) => g.run(() => inner.totals(filter)),
    close: () => inner.close(),
  };
}

/** Guards appends; consumers, positions and close go straight to the inner log. */
export function guardEventLog(inner: EventLog, g: DependencyGuard): EventLog {
  return {
    get durable() {
      return inner.durable;
    },
    get dedupWindowMs() {
      return inner.dedupWindowMs;
    },
    append: (event) => g.run(() => inner.append(event)),
    consumer: (name, opts) => inner.consumer(name, opts),
    lastSeq: () => inner.lastSeq(),
    close: () => inner.close(),
  };
}
