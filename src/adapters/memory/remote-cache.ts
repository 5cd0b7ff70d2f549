/**
 * MemoryRemoteCache: the RemoteCache port (L2) in process memory, for the embedded default and
 * tests. It is shared only within one process, so it adds nothing over L1 in production; it
 * exists so the tiered cache runs the same code with and without Redis.
 * Expiry is checked on read against the injected clock; expired keys are also dropped by a
 * sweep on writes (at most one scan of the map per `sweepEveryMs`), so the map stays bounded
 * by what is live.
 */
import type { Clock } from '../../ports/clock.js';
import type { RemoteCache } from '../../ports/cache.js';
import { systemClock } from './clock.js';

export function createMemoryRemoteCache(
  opts: { clock?: Clock; sweepEveryMs?: number } = {},
): MemoryRemoteCache {
  return new MemoryRemoteCache(opts.clock ?? systemClock, opts.sweepEveryMs ?? 1_000);
}

export class MemoryRemoteCache implements RemoteCache {
  private readonly entries = new Map<string, { value: string; expiresAtMs: number }>();
  private nextSweepMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sweepEveryMs: number,
  ) {}

  async get(key: string): Promise<string | null> {
    const e = this.entries.get(key);
    if (e === undefined) return null;
    if (e.expiresAtMs <= this.clock.nowMs()) {
      this.entries.delete(key);
      return null;
    }
    return e.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const now = this.clock.nowMs();
    if (now >= this.nextSweepMs) {
      this.nextSweepMs = now + this.sweepEveryMs;
      for (const [k, e] of this.entries) if (e.expiresAtMs <= now) this.entries.delete(k);
    }
    this.entries.set(key, { value, expiresAtMs: now + Math.max(1, Math.ceil(ttlMs)) });
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.entries.delete(k);
  }

  /** Live entries (tests). */
  get size(): number {
    return this.entries.size;
  }
}
