/**
 * SingleFlight: request coalescing. Concurrent calls for the same key share one in-flight
 * load instead of each going to the next tier (the "thundering herd" / cache stampede on a
 * miss of a popular key). The name and idea come from Go's golang.org/x/sync/singleflight.
 *
 * Guarantees
 * - While a load for a key is in flight, every further `run` for that key returns the same
 *   promise (same value, same rejection); the loader runs once.
 * - Errors are not remembered: the next call after a rejection starts a new load.
 * - `forget(key)` detaches the current flight: later callers start a new one, and the old
 *   loader sees `stillCurrent() === false`, so it can refuse to store a result that an
 *   invalidation overtook (see loading-cache.ts).
 * Pure: promises only, no timers or I/O.
 */
interface Flight<V> {
  promise: Promise<V>;
}

export class SingleFlight<K, V> {
  private readonly flights = new Map<K, Flight<V>>();
  /** Calls that joined an existing flight instead of starting one. */
  coalesced = 0;

  run(key: K, load: (stillCurrent: () => boolean) => Promise<V>): Promise<V> {
    const existing = this.flights.get(key);
    if (existing !== undefined) {
      this.coalesced++;
      return existing.promise;
    }
    const flight = {} as Flight<V>;
    this.flights.set(key, flight);
    const stillCurrent = (): boolean => this.flights.get(key) === flight;
    flight.promise = (async () => {
      try {
        return await load(stillCurrent);
      } finally {
        if (stillCurrent()) this.flights.delete(key);
      }
    })();
    return flight.promise;
  }

  forget(key: K): void {
    this.flights.delete(key);
  }

  get inFlight(): number {
    return this.flights.size;
  }
}
