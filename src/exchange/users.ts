/**
 * UserService: user profiles read through the tiered cache, event-style interest updates, and
 * GDPR erasure with a receipt (issue 7 items 4 and 6d).
 *
 * Profiles are keyed by `userKey(raw id)` (./user-key.ts); frequency counters by
 * `frequencyUserKey(raw id)` (./decision.ts). Reads go L1 (W-TinyLFU, this process) → L2
 * (Redis when configured) → L3 (the ProfileStore); every write invalidates the key locally and
 * publishes an `invalidation` event so every other process drops it too.
 *
 * Erasure, in this order (each step's outcome goes into the receipt):
 *   1. tombstones for both hashed keys: from now on interest events for the user are refused
 *      and impression events no longer count frequency for it (`ErasureGuardedFrequency`),
 *      so a tracking URL issued before the erasure and opened after it brings nothing back;
 *   2. the profile row; 3. the profile cache in L1 and L2 (every hot-key replica);
 *   4. the frequency counters; 5. the feature store (when one is configured);
 *   6. invalidation events (profile and tombstone namespaces, reason `gdpr_erasure`) so
 *      every process drops its L1 copies at once rather than after a TTL.
 * A failed step does not stop the others; the receipt says `complete: false` and the route
 * answers 503, and a retry (the operation is idempotent) finishes the job.
 * Also: this process's 7-day engagement window of the user in the aggregates consumer is
 * dropped with the feature store step (the runtime wires it), other processes drop theirs on
 * the `gdpr_erasure` invalidation event, and the consumer skips tombstoned keys afterwards.
 * Not covered: the ledger (it holds no user id or key) and the event log itself: impression
 * and click events (v2) carry the hashed profile key and tracking tokens the hashed keys, never
 * the raw id; the log keeps them until its retention (7 days on JetStream) and its consumers
 * honour the tombstones (frequency guard above, aggregates).
 */
import type { TieredCache } from '../core/cache/tiered.js';
import { AdsError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { InvalidationReason } from '../ports/event-log.js';
import type {
  CapCount,
  FrequencyCapRule,
  FrequencyCheckResult,
  FrequencyCounters,
  IncrementTarget,
} from '../ports/frequency-counters.js';
import type {
  InterestUpdateResult,
  ProfileInput,
  ProfileStore,
  UserProfile,
} from '../ports/profile-store.js';
import { frequencyUserKey } from './decision.js';
import { userKey } from './user-key.js';

/** Cache namespaces (also the `namespace` of invalidation events). */
export const PROFILE_NAMESPACE = 'profile';
export const TOMBSTONE_NAMESPACE = 'tombstone';

/** The stores an erasure receipt reports on (closed enum). */
export const ErasureStore = {
  Tombstones: 'tombstones',
  ProfileStore: 'profile_store',
  ProfileCacheL1: 'profile_cache_l1',
  ProfileCacheL2: 'profile_cache_l2',
  FrequencyCounters: 'frequency_counters',
  FeatureStore: 'feature_store',
  InvalidationEvents: 'invalidation_events',
} as const;
export type ErasureStore = (typeof ErasureStore)[keyof typeof ErasureStore];

/** What happened in one store (closed enum). */
export const ErasureOutcome = {
  Erased: 'erased',
  Absent: 'absent',
  Recorded: 'recorded',
  Published: 'published',
  NotConfigured: 'not_configured',
  Failed: 'failed',
} as const;
export type ErasureOutcome = (typeof ErasureOutcome)[keyof typeof ErasureOutcome];

export interface ErasureStep {
  store: ErasureStore;
  outcome: ErasureOutcome;
  /** Items removed, where the store can tell (frequency series). */
  removed?: number;
  /** The error message of a failed step. */
  detail?: string;
}

export interface ErasureReceipt {
  user_key: string;
  erased_at: string;
  /** Every step succeeded (no `failed` outcome). */
  complete: boolean;
  stores: ErasureStep[];
}

/** The part of a FeatureStore (src/ports/feature-store.ts) that erasure needs. */
export interface ErasableFeatures {
  forgetUser(userKey: string): Promise<{ removed: number }>;
}

export interface UserServiceDeps {
  profiles: ProfileStore;
  /** Profiles read through L1 → L2 → the store. */
  profileCache: TieredCache<UserProfile>;
  /** Tombstones read through L1 → L2 → the store (read by ErasureGuardedFrequency). */
  tombstoneCache: TieredCache<true>;
  /** Whether `profileCache` has an L2 tier (for the receipt). */
  hasL2: boolean;
  frequency: FrequencyCounters;
  features: ErasableFeatures | null;
  /** Publishes an invalidation event for every other process (after the local drop). */
  publishInvalidation: (
    namespace: string,
    key: string,
    reason: InvalidationReason,
    nowMs: number,
  ) => Promise<void>;
  clock: Clock;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  getProfile(rawUserId: string): Promise<UserProfile | null> {
    return this.deps.profileCache.get(userKey(rawUserId), this.deps.clock.nowMs());
  }

  async putProfile(rawUserId: string, body: Omit<ProfileInput, 'user_key'>): Promise<UserProfile> {
    const key = userKey(rawUserId);
    const nowMs = this.deps.clock.nowMs();
    const saved = await this.deps.profiles.put({ ...body, user_key: key }, nowMs);
    await this.changed(key, 'updated', nowMs);
    // A put lifts the tombstone (ProfileStore.put); the tombstone cache must forget it too.
    await this.changed(key, 'updated', nowMs, TOMBSTONE_NAMESPACE);
    return saved;
  }

  async addInterests(
    rawUserId: string,
    deltas: Readonly<Record<string, number>>,
  ): Promise<InterestUpdateResult> {
    return this.addInterestsByKey(userKey(rawUserId), deltas);
  }

  /**
   * The same by hashed profile key (the interest-event consumer, src/stream/profile-interests.ts,
   * which only ever sees the key): the store's update, then the cache invalidation.
   */
  async addInterestsByKey(
    key: string,
    deltas: Readonly<Record<string, number>>,
  ): Promise<InterestUpdateResult> {
    const nowMs = this.deps.clock.nowMs();
    const r = await this.deps.profiles.addInterests(key, deltas, nowMs);
    if (r.applied) await this.changed(key, 'updated', nowMs);
    return r;
  }

  private async changed(
    key: string,
    reason: InvalidationReason,
    nowMs: number,
    namespace = PROFILE_NAMESPACE,
  ): Promise<void> {
    const cache =
      namespace === PROFILE_NAMESPACE ? this.deps.profileCache : this.deps.tombstoneCache;
    try {
      await cache.invalidate(key);
      await this.deps.publishInvalidation(namespace, key, reason, nowMs);
    } catch (e) {
      // The write is stored; stale copies may remain in L2 or other processes until their TTL
      // (30 s / 10 s). The client retries the same call (idempotent).
      throw new AdsError(
        'ADS_ERR_NOT_READY',
        `Saved, but the cache invalidation failed; retry the same call (${message(e)})`,
      );
    }
  }

  async erase(rawUserId: string): Promise<ErasureReceipt> {
    const d = this.deps;
    const key = userKey(rawUserId);
    const freqKey = frequencyUserKey(rawUserId);
    const nowMs = d.clock.nowMs();
    const stores: ErasureStep[] = [];
    const step = async (
      store: ErasureStore,
      run: () => Promise<Omit<ErasureStep, 'store'>>,
    ): Promise<void> => {
      try {
        stores.push({ store, ...(await run()) });
      } catch (e) {
        stores.push({ store, outcome: 'failed', detail: message(e) });
      }
    };

    await step('tombstones', async () => {
      await d.profiles.tombstone([key, freqKey], nowMs);
      await d.tombstoneCache.invalidate(freqKey);
      await d.tombstoneCache.invalidate(key);
      return { outcome: 'recorded' };
    });
    await step('profile_store', async () => ({
      outcome: (await d.profiles.delete(key)).deleted ? 'erased' : 'absent',
    }));
    const inL1 = d.profileCache.inL1(key, nowMs);
    let l2Error: unknown = null;
    try {
      await d.profileCache.invalidate(key); // L1 first, then L2 (may throw)
    } catch (e) {
      l2Error = e;
    }
    stores.push({
      store: 'profile_cache_l1',
      outcome: d.profileCache.inL1(key, nowMs) ? 'failed' : inL1 ? 'erased' : 'absent',
    });
    stores.push(
      !d.hasL2
        ? { store: 'profile_cache_l2', outcome: 'not_configured' }
        : l2Error === null
          ? { store: 'profile_cache_l2', outcome: 'erased' }
          : { store: 'profile_cache_l2', outcome: 'failed', detail: message(l2Error) },
    );
    await step('frequency_counters', async () => {
      const { removed } = await d.frequency.forgetUser(freqKey);
      return { outcome: removed > 0 ? 'erased' : 'absent', removed };
    });
    await step('feature_store', async () => {
      if (d.features === null) return { outcome: 'not_configured' };
      const { removed } = await d.features.forgetUser(key);
      return { outcome: removed > 0 ? 'erased' : 'absent', removed };
    });
    await step('invalidation_events', async () => {
      await d.publishInvalidation(PROFILE_NAMESPACE, key, 'gdpr_erasure', nowMs);
      await d.publishInvalidation(TOMBSTONE_NAMESPACE, freqKey, 'gdpr_erasure', nowMs);
      await d.publishInvalidation(TOMBSTONE_NAMESPACE, key, 'gdpr_erasure', nowMs);
      return { outcome: 'published' };
    });
    return {
      user_key: key,
      erased_at: new Date(nowMs).toISOString(),
      complete: stores.every((s) => s.outcome !== 'failed'),
      stores,
    };
  }
}

/**
 * Frequency counters that no longer count erased users: `increment` and `checkAndIncrement`
 * record nothing for a tombstoned key (a tracking URL issued before the erasure). The
 * tombstone is read through a tiered cache (negative entries live 1 s in L1), so this costs a
 * store read per user per second at most; the erasure drops the cached "not erased" at once.
 *
 * When the tombstone cannot be read (PostgreSQL down and the key not cached) the count goes
 * ahead as if the user were not erased, and `unknownErasureState` counts it (`onUnknown` logs
 * it): without this every impression of a user not seen in the last second would answer 503
 * for the whole outage (test/stream/outage-runtime.nats.test.ts), and frequency caps would
 * stop counting. The cost is bounded: only a user erased before the outage who opens an old
 * tracking URL during it gets a counter again, and that counter expires with its cap window.
 */
export class ErasureGuardedFrequency implements FrequencyCounters {
  /** Counts made while the erasure state could not be read (see above). */
  unknownErasureState = 0;

  constructor(
    private readonly inner: FrequencyCounters,
    private readonly tombstones: TieredCache<true>,
    private readonly clock: Clock,
    private readonly onUnknown: (e: unknown) => void = () => undefined,
  ) {}

  private async erased(userId: string): Promise<boolean> {
    try {
      return (await this.tombstones.get(userId, this.clock.nowMs())) === true;
    } catch (e) {
      this.unknownErasureState++;
      this.onUnknown(e);
      return false;
    }
  }

  check(
    userId: string,
    rules: readonly FrequencyCapRule[],
    nowMs: number,
  ): Promise<FrequencyCheckResult> {
    return this.inner.check(userId, rules, nowMs);
  }

  async increment(
    userId: string,
    targets: readonly IncrementTarget[],
    impressionKey: string,
    nowMs: number,
  ): Promise<{ recorded: boolean }> {
    if (await this.erased(userId)) return { recorded: false };
    return this.inner.increment(userId, targets, impressionKey, nowMs);
  }

  async checkAndIncrement(
    userId: string,
    rules: readonly FrequencyCapRule[],
    targets: readonly IncrementTarget[],
    impressionKey: string,
    nowMs: number,
  ): Promise<FrequencyCheckResult & { recorded: boolean }> {
    if (await this.erased(userId)) {
      const counts: CapCount[] = rules.map((rule) => ({ rule, count: 0, allowed: true }));
      return { allowed: true, counts, recorded: false };
    }
    return this.inner.checkAndIncrement(userId, rules, targets, impressionKey, nowMs);
  }

  forgetUser(userId: string): Promise<{ removed: number }> {
    return this.inner.forgetUser(userId);
  }
}
