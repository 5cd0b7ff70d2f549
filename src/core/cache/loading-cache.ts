/**
 * LoadingCache: a W-TinyLFU cache that fills itself on a miss through one coalesced load
 * per key (single flight), so N concurrent misses of a key cost one call to the next tier.
 *
 * Guarantees
 * - A hit returns the cached value; a miss runs `load` once for all concurrent callers and
 *   stores its result for the TTL the loader chose (a TTL ≤ 0 stores nothing).
 * - An `invalidate(key)` that happens while a load is in flight wins: the overtaken load's
 *   result is handed to the callers that were waiting for it but is NOT stored, so a value
 *   read before an invalidation never outlives it in the cache.
 * - A failed load is not cached; every waiter gets the rejection.
 * - The TTL counts from the `nowMs` of the call that started the load (the cache reads no
 *   clock), so an entry expires slightly early rather than late.
 */
import type { CacheKey } from './hash.js';
import { SingleFlight } from './single-flight.js';
import type { WTinyLfuCache } from './w-tinylfu.js';

export interface Loaded<V> {
  value: V;
  ttlMs: number;
}

export class LoadingCache<K extends CacheKey, V> {
  private readonly flights = new SingleFlight<K, V>();
  loads = 0;

  constructor(readonly cache: WTinyLfuCache<K, V>) {}

  /** The cached value without loading (counts as an access). */
  getIfPresent(key: K, nowMs: number): V | undefined {
    return this.cache.get(key, nowMs);
  }

  async get(key: K, nowMs: number, load: (key: K) => Promise<Loaded<V>>): Promise<V> {
    const hit = this.cache.get(key, nowMs);
    if (hit !== undefined) return hit;
    return this.flights.run(key, async (stillCurrent) => {
      this.loads++;
      const loaded = await load(key);
      if (stillCurrent()) this.cache.set(key, loaded.value, nowMs, loaded.ttlMs);
      return loaded.value;
    });
  }

  /** Removes the key and detaches any in-flight load so its result is not stored. */
  invalidate(key: K): void {
    this.cache.delete(key);
    this.flights.forget(key);
  }

  /** Callers that shared another caller's load. */
  get coalesced(): number {
    return this.flights.coalesced;
  }
}
