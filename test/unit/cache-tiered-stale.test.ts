/**
 * The tiered cache's stale entries (issue 8, degradation ladder step 1 "serve stale cache"):
 * an L1 entry past its TTL is served instead of a refresh while the ladder says so, and when
 * the refresh fails; otherwise it is refreshed as before, and invalidation still drops it.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryRemoteCache } from '../../src/adapters/memory/remote-cache.js';
import { TieredCache } from '../../src/core/cache/tiered.js';
import { xorshift32 } from '../../src/core/cache/w-tinylfu.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { CountingTier } from './cache-tiered-helpers.js';

interface Profile {
  id: string;
  v: number;
}

function setup(staleMs: number) {
  const clock = new FakeClock();
  const l2 = new CountingTier(createMemoryRemoteCache({ clock }));
  const store = new Map<string, Profile>([['u1', { id: 'u1', v: 1 }]]);
  const state = { stale: false, l3Down: false, l3Loads: 0 };
  const cache = new TieredCache<Profile>({
    namespace: 'profile',
    schemaVersion: 1,
    l1MaxEntries: 100,
    l1TtlMs: 10_000,
    l2: null,
    load: async (id) => {
      state.l3Loads++;
      if (state.l3Down) throw new Error('ECONNREFUSED');
      return store.get(id) ?? null;
    },
    random: xorshift32(7),
    staleMs,
    serveStale: () => state.stale,
  });
  return { clock, l2, store, cache, state };
}

describe('TieredCache stale entries', () => {
  it('while the ladder asks for it, an expired L1 entry is served without a refresh', async () => {
    const { clock, store, cache, state } = setup(60_000);
    expect(await cache.get('u1', clock.nowMs())).toEqual({ id: 'u1', v: 1 });
    store.set('u1', { id: 'u1', v: 2 });
    clock.advance(11_000); // past the 10 s L1 TTL
    state.stale = true;
    expect(await cache.get('u1', clock.nowMs())).toEqual({ id: 'u1', v: 1 });
    expect(state.l3Loads).toBe(1);
    expect(cache.stats().staleServed).toBe(1);
    // Ladder back to normal: the same read refreshes.
    state.stale = false;
    expect(await cache.get('u1', clock.nowMs())).toEqual({ id: 'u1', v: 2 });
    expect(state.l3Loads).toBe(2);
  });

  it('a failed refresh falls back to the stale copy; without one the error propagates', async () => {
    const { clock, cache, state } = setup(60_000);
    await cache.get('u1', clock.nowMs());
    clock.advance(11_000);
    state.l3Down = true;
    expect(await cache.get('u1', clock.nowMs())).toEqual({ id: 'u1', v: 1 });
    expect(cache.stats().staleServed).toBe(1);
    await expect(cache.get('u2', clock.nowMs())).rejects.toThrow('ECONNREFUSED');
  });

  it('the stale window ends, and staleMs 0 (the default) never serves stale', async () => {
    const withWindow = setup(60_000);
    await withWindow.cache.get('u1', withWindow.clock.nowMs());
    withWindow.clock.advance(71_000); // past TTL + stale window
    withWindow.state.stale = true;
    withWindow.store.set('u1', { id: 'u1', v: 2 });
    expect(await withWindow.cache.get('u1', withWindow.clock.nowMs())).toEqual({ id: 'u1', v: 2 });

    const off = setup(0);
    await off.cache.get('u1', off.clock.nowMs());
    off.clock.advance(11_000);
    off.state.stale = true;
    off.store.set('u1', { id: 'u1', v: 2 });
    expect(await off.cache.get('u1', off.clock.nowMs())).toEqual({ id: 'u1', v: 2 });
    expect(off.cache.stats().staleServed).toBe(0);
  });

  it('an invalidated entry is never served stale', async () => {
    const { clock, store, cache, state } = setup(60_000);
    await cache.get('u1', clock.nowMs());
    store.delete('u1'); // erased
    await cache.invalidate('u1');
    state.stale = true;
    expect(await cache.get('u1', clock.nowMs())).toBeNull();
  });
});
