import { describe, expect, it } from 'vitest';
import { createMemoryRemoteCache } from '../../src/adapters/memory/remote-cache.js';
import { TieredCache } from '../../src/core/cache/tiered.js';
import { xorshift32 } from '../../src/core/cache/w-tinylfu.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { CountingTier, hotKeyDrill } from './cache-tiered-helpers.js';

interface Profile {
  id: string;
  interests: Record<string, number>;
}

function setup(over: Partial<ConstructorParameters<typeof TieredCache<Profile>>[0]> = {}) {
  const clock = new FakeClock();
  const l2 = new CountingTier(createMemoryRemoteCache({ clock }));
  const store = new Map<string, Profile>([['u1', { id: 'u1', interests: { travel: 0.8 } }]]);
  let l3Loads = 0;
  const cache = new TieredCache<Profile>({
    namespace: 'profile',
    schemaVersion: 1,
    l1MaxEntries: 100,
    l2,
    load: async (id) => {
      l3Loads++;
      return store.get(id) ?? null;
    },
    random: xorshift32(7),
    ...over,
  });
  return { clock, l2, store, cache, l3: () => l3Loads };
}

describe('TieredCache read-through', () => {
  it('reads L1, then L2 after the L1 TTL (10 s), then L3 after the L2 TTL (30 s)', async () => {
    const { clock, l2, cache, l3 } = setup();
    const t0 = clock.nowMs();
    expect(await cache.get('u1', t0)).toEqual({ id: 'u1', interests: { travel: 0.8 } });
    expect([l3(), l2.reads]).toEqual([1, 1]);
    expect(await cache.get('u1', t0 + 9_999)).toMatchObject({ id: 'u1' });
    expect([l3(), l2.reads]).toEqual([1, 1]); // L1 hit
    clock.set(new Date(t0 + 10_000).toISOString());
    expect(await cache.get('u1', t0 + 10_000)).toMatchObject({ id: 'u1' });
    expect([l3(), l2.reads]).toEqual([1, 2]); // L1 expired, L2 hit
    clock.set(new Date(t0 + 30_000).toISOString());
    expect(await cache.get('u1', t0 + 30_000)).toMatchObject({ id: 'u1' });
    expect([l3(), l2.reads]).toEqual([2, 3]); // both expired: L3
    expect(cache.stats()).toMatchObject({ l1Hits: 1, l2Hits: 1, l3Loads: 2 });
  });

  it('caches "absent" with shorter TTLs (negative caching)', async () => {
    const { clock, cache, l3 } = setup();
    const t0 = clock.nowMs();
    expect(await cache.get('nobody', t0)).toBeNull();
    expect(await cache.get('nobody', t0 + 500)).toBeNull(); // L1 negative (1 s)
    expect(l3()).toBe(1);
    clock.set(new Date(t0 + 1_000).toISOString());
    expect(await cache.get('nobody', t0 + 1_000)).toBeNull(); // L2 negative (5 s)
    expect(l3()).toBe(1);
    clock.set(new Date(t0 + 5_000).toISOString());
    expect(await cache.get('nobody', t0 + 5_000)).toBeNull();
    expect(l3()).toBe(2);
    expect(cache.stats().l3Absent).toBe(2);
  });

  it('puts the schema version in every key, so a new version never reads old entries', async () => {
    const { clock, l2, store, cache } = setup();
    const now = clock.nowMs();
    await cache.get('u1', now);
    expect([...l2.readsByKey.keys()]).toEqual(['profile:v1:u1']);
    let v2Loads = 0;
    const v2 = new TieredCache<{ id: string; interests: string[] }>({
      namespace: 'profile',
      schemaVersion: 2,
      l1MaxEntries: 100,
      l2,
      load: async (id) => {
        v2Loads++;
        return { id, interests: Object.keys(store.get(id)?.interests ?? {}) };
      },
      random: xorshift32(8),
    });
    expect(await v2.get('u1', now)).toEqual({ id: 'u1', interests: ['travel'] });
    expect(v2Loads).toBe(1);
    expect(v2.key('u1')).toBe('profile:v2:u1');
  });

  it('coalesces concurrent misses into one L2 read and one L3 load', async () => {
    const { clock, l2, cache, l3 } = setup();
    const now = clock.nowMs();
    const all = await Promise.all(Array.from({ length: 100 }, () => cache.get('u1', now)));
    expect(all.every((p) => p?.id === 'u1')).toBe(true);
    expect([l2.reads, l3()]).toEqual([1, 1]);
    expect(cache.stats().coalesced).toBe(99);
  });

  it('treats an unreachable L2 as a miss and counts it; L3 still answers', async () => {
    const { clock, l2, cache, l3 } = setup();
    l2.failReads = true;
    l2.failWrites = true;
    expect(await cache.get('u1', clock.nowMs())).toMatchObject({ id: 'u1' });
    await Promise.resolve(); // let the fire-and-forget L2 write fail
    expect(l3()).toBe(1);
    expect(cache.stats()).toMatchObject({ l2Errors: 1, l2WriteErrors: 1 });
  });

  it('propagates an L3 failure and caches nothing', async () => {
    const { clock, cache } = setup({
      load: async () => {
        throw new Error('database down');
      },
    });
    await expect(cache.get('u1', clock.nowMs())).rejects.toThrow('database down');
    expect(cache.inL1('u1', clock.nowMs())).toBe(false);
  });
});

describe('TieredCache invalidation', () => {
  it('drops L1 and every L2 copy, so the next read sees the new value at once', async () => {
    const { clock, l2, store, cache } = setup();
    const now = clock.nowMs();
    await cache.get('u1', now);
    store.set('u1', { id: 'u1', interests: {} }); // e.g. consent withdrawn: interests erased
    await cache.invalidate('u1');
    expect(cache.inL1('u1', now)).toBe(false);
    expect(await l2.get('profile:v1:u1')).toBeNull();
    expect(await cache.get('u1', now + 1)).toEqual({ id: 'u1', interests: {} });
  });

  it('another process applying the same invalidation drops its own L1 copy', async () => {
    const { clock, l2, store, cache: a } = setup();
    const b = new TieredCache<Profile>({
      namespace: 'profile',
      schemaVersion: 1,
      l1MaxEntries: 100,
      l2,
      load: async (id) => store.get(id) ?? null,
      random: xorshift32(9),
    });
    const now = clock.nowMs();
    await a.get('u1', now);
    await b.get('u1', now);
    store.delete('u1'); // GDPR erasure in the store of record
    await a.invalidate('u1'); // the process that erased
    expect(await b.get('u1', now + 1)).toMatchObject({ id: 'u1' }); // b has not heard yet
    await b.invalidate('u1'); // b applies the invalidation event
    expect(await b.get('u1', now + 2)).toBeNull();
  });

  it('a read that raced the invalidation does not store its stale result', async () => {
    const { clock, l2, store } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let loaded!: () => void;
    const loading = new Promise<void>((r) => (loaded = r));
    const slow = new TieredCache<Profile>({
      namespace: 'profile',
      schemaVersion: 1,
      l1MaxEntries: 100,
      l2,
      load: async (id) => {
        const before = store.get(id) ?? null; // read before the update…
        loaded();
        await gate; // …and finished after it
        return before;
      },
      random: xorshift32(10),
    });
    const now = clock.nowMs();
    const stale = slow.get('u1', now);
    await loading;
    store.delete('u1');
    await slow.invalidate('u1');
    release();
    expect(await stale).toMatchObject({ id: 'u1' }); // the caller that asked before gets it
    await Promise.resolve();
    expect(slow.inL1('u1', now)).toBe(false);
    expect(await l2.get('profile:v1:u1')).toBeNull();
    expect(await slow.get('u1', now + 1)).toBeNull();
  });
});

describe('TieredCache hot keys', () => {
  it('flags a key read above the threshold, pins it in L1 and reads L2 through replicas', async () => {
    const { clock, l2, cache } = setup({
      l1MaxEntries: 50,
      l1TtlMs: 100,
      hotKeys: { sampleRate: 1, thresholdPerSec: 50, replicas: 3 },
    });
    for (let i = 0; i < 200; i++) {
      await cache.get('u1', clock.nowMs());
      // A flood of other keys between reads would evict u1 from an unpinned L1.
      for (let j = 0; j < 5; j++) await cache.get(`other-${i}-${j}`, clock.nowMs());
      clock.advance(5);
    }
    const hot = cache.hotKeys(clock.nowMs());
    expect(hot.map((h) => h.key)).toEqual(['profile:v1:u1']);
    expect(hot[0]!.estPerSec).toBeGreaterThanOrEqual(50);
    const replicaReads = [...l2.readsByKey.keys()].filter((k) => k.startsWith('profile:v1:u1#r'));
    expect(replicaReads.length).toBeGreaterThan(1);
    expect(cache.stats().replicaReads).toBeGreaterThan(0);
  });

  it('invalidation removes the replicas too', async () => {
    const { clock, l2, cache } = setup({
      hotKeys: { sampleRate: 1, thresholdPerSec: 1, replicas: 3 },
    });
    for (let i = 0; i < 20; i++) await cache.get('u1', clock.nowMs());
    await cache.invalidate('u1');
    for (let r = 0; r < 3; r++) expect(await l2.get(`profile:v1:u1#r${r}`)).toBeNull();
  });
});

describe('a key read 1,000×/s by concurrent requests (issue 7 Done-when)', () => {
  it('with the seed TTLs: ≤ 1% of reads reach any single L2 key', async () => {
    const clock = new FakeClock();
    const l2 = new CountingTier(createMemoryRemoteCache({ clock }));
    const r = await hotKeyDrill(l2, clock, {
      processes: 20,
      readsPerSec: 1_000,
      seconds: 30,
      l1TtlMs: 10_000,
      hotKeys: true,
    });
    expect(r.reads).toBe(30_000);
    expect(r.busiestShare).toBeLessThanOrEqual(0.01);
    expect(r.l1HitShare).toBeGreaterThan(0.99);
  });

  it('with a short L1 TTL (1 s) the replicas are what keeps one key ≤ 1% (without them: > 1%)', async () => {
    const drill = { processes: 20, readsPerSec: 1_000, seconds: 10, l1TtlMs: 1_000 };
    const clockA = new FakeClock();
    const without = await hotKeyDrill(
      new CountingTier(createMemoryRemoteCache({ clock: clockA })),
      clockA,
      {
        ...drill,
        hotKeys: false,
      },
    );
    expect(without.busiestShare).toBeGreaterThan(0.01);
    const clockB = new FakeClock();
    const withReplicas = await hotKeyDrill(
      new CountingTier(createMemoryRemoteCache({ clock: clockB })),
      clockB,
      {
        ...drill,
        hotKeys: true,
      },
    );
    expect(withReplicas.hotIn).toBe(20); // every process detected the key
    expect(withReplicas.busiestShare).toBeLessThanOrEqual(0.01);
    // Single flight is per process: at most one L3 load per process at the cold start.
    expect(withReplicas.l3Loads).toBeLessThanOrEqual(20);
  });
});
