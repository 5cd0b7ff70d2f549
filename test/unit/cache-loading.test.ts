import { describe, expect, it } from 'vitest';
import { LoadingCache } from '../../src/core/cache/loading-cache.js';
import { SingleFlight } from '../../src/core/cache/single-flight.js';
import { WTinyLfuCache } from '../../src/core/cache/w-tinylfu.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('runs one load for concurrent callers of a key and shares its result', async () => {
    const sf = new SingleFlight<string, number>();
    const d = deferred<number>();
    let calls = 0;
    const load = () => {
      calls++;
      return d.promise;
    };
    const all = Array.from({ length: 50 }, () => sf.run('k', load));
    const other = sf.run('other', async () => 7);
    expect(sf.inFlight).toBe(2);
    d.resolve(42);
    expect(await Promise.all(all)).toEqual(Array(50).fill(42));
    expect(await other).toBe(7);
    expect(calls).toBe(1);
    expect(sf.coalesced).toBe(49);
    expect(sf.inFlight).toBe(0);
  });

  it('shares a rejection and does not remember it', async () => {
    const sf = new SingleFlight<string, number>();
    const a = sf.run('k', async () => {
      throw new Error('tier down');
    });
    const b = sf.run('k', async () => 1);
    await expect(a).rejects.toThrow('tier down');
    await expect(b).rejects.toThrow('tier down');
    expect(await sf.run('k', async () => 2)).toBe(2);
  });
});

describe('LoadingCache', () => {
  it('coalesces concurrent misses into one load, then serves hits', async () => {
    const lc = new LoadingCache(new WTinyLfuCache<string, string>({ maxEntries: 100 }));
    const d = deferred<{ value: string; ttlMs: number }>();
    let loads = 0;
    const load = () => {
      loads++;
      return d.promise;
    };
    const waiting = Array.from({ length: 1_000 }, () => lc.get('user:1', 0, load));
    d.resolve({ value: 'profile', ttlMs: 10_000 });
    expect(new Set(await Promise.all(waiting))).toEqual(new Set(['profile']));
    expect(loads).toBe(1);
    expect(lc.coalesced).toBe(999);
    expect(await lc.get('user:1', 5_000, load)).toBe('profile');
    expect(loads).toBe(1);
    // After the TTL the next read loads again.
    const again = lc.get('user:1', 10_000, async () => ({ value: 'fresh', ttlMs: 10_000 }));
    expect(await again).toBe('fresh');
  });

  it('an invalidation during a load wins: the overtaken result is returned but not stored', async () => {
    const lc = new LoadingCache(new WTinyLfuCache<string, string>({ maxEntries: 100 }));
    const slow = deferred<{ value: string; ttlMs: number }>();
    const first = lc.get('user:1', 0, () => slow.promise);
    lc.invalidate('user:1'); // e.g. a GDPR opt-out arrived
    const second = lc.get('user:1', 0, async () => ({ value: 'after', ttlMs: 10_000 }));
    slow.resolve({ value: 'before', ttlMs: 10_000 });
    expect(await first).toBe('before');
    expect(await second).toBe('after');
    expect(lc.getIfPresent('user:1', 1)).toBe('after');
  });

  it('does not cache a failed load or a result with a non-positive TTL', async () => {
    const lc = new LoadingCache(new WTinyLfuCache<string, string>({ maxEntries: 100 }));
    await expect(
      lc.get('k', 0, async () => {
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    expect(await lc.get('k', 0, async () => ({ value: 'v', ttlMs: 0 }))).toBe('v');
    expect(lc.getIfPresent('k', 0)).toBeUndefined();
    expect(lc.loads).toBe(2);
  });
});
