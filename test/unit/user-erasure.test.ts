/**
 * UserService.erase when stores fail: every other step still runs, the receipt names the
 * failed stores (complete: false), and a retry once they are back completes the erasure.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryFrequencyCounters } from '../../src/adapters/memory/frequency-counters.js';
import { createMemoryProfileStore } from '../../src/adapters/memory/profile-store.js';
import { createMemoryRemoteCache } from '../../src/adapters/memory/remote-cache.js';
import { TieredCache } from '../../src/core/cache/tiered.js';
import { frequencyUserKey } from '../../src/exchange/decision.js';
import { userKey } from '../../src/exchange/user-key.js';
import {
  ErasureGuardedFrequency,
  UserService,
  type ErasureReceipt,
} from '../../src/exchange/users.js';
import type { RemoteCache } from '../../src/ports/cache.js';
import type { UserProfile } from '../../src/ports/profile-store.js';
import { FakeClock } from '../helpers/fake-clock.js';

function outcomes(r: ErasureReceipt): Record<string, string> {
  return Object.fromEntries(r.stores.map((s) => [s.store, s.outcome]));
}

describe('UserService.erase with failing stores', () => {
  it('reports failed stores, still erases the rest, and a retry completes', async () => {
    const clock = new FakeClock();
    const profiles = createMemoryProfileStore();
    const inner = createMemoryRemoteCache({ clock });
    let l2Down = true;
    const l2: RemoteCache = {
      get: (k) => inner.get(k),
      set: (k, v, t) => inner.set(k, v, t),
      delete: async (keys) => {
        if (l2Down) throw new Error('redis unreachable');
        await inner.delete(keys);
      },
    };
    const frequency = createMemoryFrequencyCounters();
    const published: string[] = [];
    let logDown = true;
    const profileCache = new TieredCache<UserProfile>({
      namespace: 'profile',
      schemaVersion: 1,
      l1MaxEntries: 100,
      l2,
      load: (k) => profiles.get(k),
      hotKeys: false,
      random: () => 0.5,
    });
    const tombstoneCache = new TieredCache<true>({
      namespace: 'tombstone',
      schemaVersion: 1,
      l1MaxEntries: 100,
      l2: null,
      load: async (k) => ((await profiles.isTombstoned(k)) ? true : null),
      hotKeys: false,
      random: () => 0.5,
    });
    const users = new UserService({
      profiles,
      profileCache,
      tombstoneCache,
      hasL2: true,
      frequency,
      features: null,
      publishInvalidation: async (ns, key) => {
        if (logDown) throw new Error('log unreachable');
        published.push(`${ns}:${key}`);
      },
      clock,
    });
    const raw = 'user-42';
    const key = userKey(raw);
    await profiles.put(
      {
        user_key: key,
        demographics: {},
        interests: { a: 0.5 },
        consent: { personalization: true, measurement: true, tcf: null },
      },
      clock.nowMs(),
    );
    expect(await users.getProfile(raw)).not.toBeNull(); // now in L1 and L2
    await frequency.increment(
      frequencyUserKey(raw),
      [{ scope: 'campaign', id: 'c', retainMs: null }],
      'imp:1',
      clock.nowMs(),
    );

    const first = await users.erase(raw);
    expect(first.complete).toBe(false);
    expect(outcomes(first)).toEqual({
      tombstones: 'recorded',
      profile_store: 'erased',
      profile_cache_l1: 'erased',
      profile_cache_l2: 'failed',
      frequency_counters: 'erased',
      feature_store: 'not_configured',
      invalidation_events: 'failed',
    });
    expect(first.stores.find((s) => s.store === 'profile_cache_l2')?.detail).toBe(
      'redis unreachable',
    );
    // The L2 copy is still there: that is what the failed step means.
    expect(await inner.get(profileCache.key(key))).not.toBeNull();

    l2Down = false;
    logDown = false;
    const retry = await users.erase(raw);
    expect(retry.complete).toBe(true);
    expect(outcomes(retry)).toMatchObject({
      profile_store: 'absent',
      profile_cache_l2: 'erased',
      invalidation_events: 'published',
    });
    expect(await inner.get(profileCache.key(key))).toBeNull();
    expect(published).toEqual([
      `profile:${key}`,
      `tombstone:${frequencyUserKey(raw)}`,
      `tombstone:${key}`,
    ]);
  });
});

describe('ErasureGuardedFrequency', () => {
  const target = [{ scope: 'campaign' as const, id: 'c', retainMs: null }];
  const rule = [{ scope: 'campaign' as const, id: 'c', maxImpressions: 10, windowMs: null }];

  it('skips erased users, counts others, and counts (flagged) when the tombstone is unreadable', async () => {
    const clock = new FakeClock();
    const profiles = createMemoryProfileStore();
    let storeDown = false;
    const tombstoneCache = new TieredCache<true>({
      namespace: 'tombstone',
      schemaVersion: 1,
      l1MaxEntries: 100,
      l2: null,
      load: async (k) => {
        if (storeDown) throw new Error('postgres unreachable');
        return (await profiles.isTombstoned(k)) ? true : null;
      },
      hotKeys: false,
      random: () => 0.5,
    });
    const inner = createMemoryFrequencyCounters();
    const unknown: unknown[] = [];
    const guarded = new ErasureGuardedFrequency(inner, tombstoneCache, clock, (e) =>
      unknown.push(e),
    );
    await profiles.tombstone(['erased-user'], clock.nowMs());
    expect(await guarded.increment('erased-user', target, 'imp:1', clock.nowMs())).toEqual({
      recorded: false,
    });
    expect(await guarded.increment('live-user', target, 'imp:2', clock.nowMs())).toEqual({
      recorded: true,
    });
    expect(guarded.unknownErasureState).toBe(0);

    storeDown = true;
    expect(await guarded.increment('other-user', target, 'imp:3', clock.nowMs())).toEqual({
      recorded: true,
    });
    expect(guarded.unknownErasureState).toBe(1);
    expect(unknown.map((e) => (e as Error).message)).toEqual(['postgres unreachable']);
    const counts = await inner.check('other-user', rule, clock.nowMs());
    expect(counts.counts[0]?.count).toBe(1);
    expect((await inner.check('erased-user', rule, clock.nowMs())).counts[0]?.count).toBe(0);
  });
});
