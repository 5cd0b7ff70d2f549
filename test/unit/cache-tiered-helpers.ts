/** Shared by the tiered-cache tests: an L2 that counts reads per key, and the hot-key drill. */
import { TieredCache, type RemoteTier } from '../../src/core/cache/tiered.js';
import { xorshift32 } from '../../src/core/cache/w-tinylfu.js';
import type { FakeClock } from '../helpers/fake-clock.js';

export class CountingTier implements RemoteTier {
  readsByKey = new Map<string, number>();
  reads = 0;
  writes = 0;
  failReads = false;
  failWrites = false;
  constructor(private readonly inner: RemoteTier) {}
  async get(key: string) {
    this.reads++;
    this.readsByKey.set(key, (this.readsByKey.get(key) ?? 0) + 1);
    if (this.failReads) throw new Error('ECONNREFUSED');
    return this.inner.get(key);
  }
  async set(key: string, value: string, ttlMs: number) {
    this.writes++;
    if (this.failWrites) throw new Error('ECONNREFUSED');
    return this.inner.set(key, value, ttlMs);
  }
  delete(keys: readonly string[]) {
    return this.inner.delete(keys);
  }
  maxReadsOnOneKey(): { key: string; reads: number } {
    let best = { key: '', reads: 0 };
    for (const [key, reads] of this.readsByKey) if (reads > best.reads) best = { key, reads };
    return best;
  }
}

export interface HotKeyDrill {
  processes: number;
  readsPerSec: number;
  seconds: number;
  l1TtlMs: number;
  hotKeys: boolean;
}

/**
 * `processes` ad servers (each its own TieredCache, so its own L1) share one L2 and read one
 * key `readsPerSec` times a second in total, 10 concurrent reads every 10 ms of fake time.
 * Returns the share of all reads that reached the busiest single L2 key.
 */
export async function hotKeyDrill(l2: CountingTier, clock: FakeClock, d: HotKeyDrill) {
  const pick = xorshift32(99);
  let l3Loads = 0;
  const caches = Array.from(
    { length: d.processes },
    (_, i) =>
      new TieredCache<{ id: string; segment: string }>({
        namespace: 'profile',
        schemaVersion: 1,
        l1MaxEntries: 1_000,
        l1TtlMs: d.l1TtlMs,
        l2,
        load: async (id) => {
          l3Loads++;
          return { id, segment: 'sports' };
        },
        // Each process sees readsPerSec / processes of the key; hot above a third of that.
        hotKeys: d.hotKeys
          ? { sampleRate: 0.5, thresholdPerSec: d.readsPerSec / d.processes / 3 }
          : false,
        random: xorshift32(1_000 + i),
      }),
  );
  const tickMs = 10;
  const perTick = Math.round((d.readsPerSec * tickMs) / 1000);
  let reads = 0;
  for (let t = 0; t < d.seconds * 1000; t += tickMs) {
    const now = clock.nowMs();
    await Promise.all(
      Array.from({ length: perTick }, () => {
        reads++;
        return caches[Math.floor(pick() * caches.length)]!.get('celebrity', now);
      }),
    );
    clock.advance(tickMs);
  }
  const busiest = l2.maxReadsOnOneKey();
  const l1Hits = caches.reduce((n, c) => n + c.stats().l1Hits, 0);
  return {
    reads,
    l2Reads: l2.reads,
    busiest,
    busiestShare: busiest.reads / reads,
    l1HitShare: l1Hits / reads,
    l3Loads,
    hotIn: caches.filter((c) => c.hotKeys(clock.nowMs()).length > 0).length,
  };
}
