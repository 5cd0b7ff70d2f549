/**
 * MemoryFeatureStore: the FeatureStore port in process memory (embedded default, tests).
 * Expiry is checked on read against the injected clock, and expired entities are swept on
 * writes (at most once per `sweepEveryMs`), so the map holds only what is live.
 */
import type { Clock } from '../../ports/clock.js';
import type { FeatureEntity, Features, FeatureStore } from '../../ports/feature-store.js';
import { systemClock } from './clock.js';

export function createMemoryFeatureStore(
  opts: { clock?: Clock; sweepEveryMs?: number } = {},
): MemoryFeatureStore {
  return new MemoryFeatureStore(opts.clock ?? systemClock, opts.sweepEveryMs ?? 1_000);
}

export class MemoryFeatureStore implements FeatureStore {
  private readonly entities = new Map<string, { features: Features; expiresAtMs: number }>();
  private nextSweepMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sweepEveryMs: number,
  ) {}

  private name(kind: FeatureEntity, id: string): string {
    return `${kind}\u0000${id}`;
  }

  async put(
    kind: FeatureEntity,
    id: string,
    features: Readonly<Features>,
    ttlMs: number,
  ): Promise<void> {
    const now = this.clock.nowMs();
    if (now >= this.nextSweepMs) {
      for (const [k, e] of this.entities) if (e.expiresAtMs <= now) this.entities.delete(k);
      this.nextSweepMs = now + this.sweepEveryMs;
    }
    const name = this.name(kind, id);
    const prev = this.entities.get(name);
    const live = prev !== undefined && prev.expiresAtMs > now ? prev.features : {};
    this.entities.set(name, {
      features: { ...live, ...features },
      expiresAtMs: now + Math.max(1, Math.ceil(ttlMs)),
    });
  }

  async get(kind: FeatureEntity, id: string): Promise<Features | null> {
    const name = this.name(kind, id);
    const e = this.entities.get(name);
    if (e === undefined) return null;
    if (e.expiresAtMs <= this.clock.nowMs()) {
      this.entities.delete(name);
      return null;
    }
    return { ...e.features };
  }

  async forgetUser(userKey: string): Promise<{ removed: number }> {
    const had = await this.get('user', userKey);
    this.entities.delete(this.name('user', userKey));
    return { removed: had === null ? 0 : 1 };
  }
}
