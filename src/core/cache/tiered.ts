/**
 * TieredCache: read-through L1 (in process, W-TinyLFU) → L2 (shared, Redis) → L3 (the store
 * of record, PostgreSQL), seed Part 5 "Multi-Tier Cache Hierarchy". Pure orchestration: the
 * tiers are injected interfaces, time is passed in, randomness is injected.
 *
 * Guarantees and choices (issue 7)
 * - Per-tier TTLs: L1 10 s, L2 30 s by default (the seed's figures). A value read from a tier
 *   is written back into the tiers above it.
 * - Negative caching: an id L3 does not have is cached as "absent" with shorter TTLs (L1 1 s,
 *   L2 5 s), so a stream of lookups of unknown ids does not reach the database each time.
 * - Versioned keys: `<namespace>:v<schemaVersion>:<id>`. Changing the shape of a cached value
 *   bumps `schemaVersion`: new code never decodes an old entry, old entries expire by TTL
 *   (seed Part 5, "Strategy 3: Versioned Caching").
 * - Single flight: concurrent L1 misses of one key in this process make one L2/L3 read.
 * - Invalidation: `invalidate(id)` drops the key from L1 and L2 (every replica) and detaches an
 *   in-flight load so its result is not stored; the caller publishes an invalidation event and
 *   every other process applies the same `invalidate` on receipt (src/stream/invalidations.ts),
 *   so a critical change (GDPR erasure) does not wait for a TTL. Applying it in every process
 *   also removes an L2 copy that a process wrote from a read that raced the update.
 * - Hot keys (seed Part 5, "Hot Partition Problem"): a sampled count-min sketch flags keys read
 *   above a rate. A hot key is pinned in L1 (no size eviction) and, on an L1 miss, read from one
 *   of `replicas` suffix-keyed copies in L2 (`<key>#r<i>`, `i` at random), filled from the
 *   primary key on a replica miss. Replica keys hash to different Redis Cluster slots, so one
 *   hot key's reads spread over several nodes instead of one.
 * - L2 is a cache, not a dependency: an L2 error counts as a miss (the read goes to L3) and L2
 *   writes are not awaited (failures are counted). L3 errors propagate to the caller, unless a
 *   stale copy may be served (next point).
 * - Stale entries (the degradation ladder's first step, issue 8): with `staleMs` > 0 an L1
 *   entry is kept that much past its TTL. A stale entry is served instead of a refresh while
 *   `serveStale()` says so (the ladder is at `stale_cache` or beyond: a dependency breaker is
 *   open or the server is overloaded, so L2/L3 may be failing or slow), and when the refresh
 *   fails (L3 error). Otherwise it is refreshed like a miss. Invalidation still drops it, so an
 *   erased or changed user is never served from a stale copy.
 */
import { hashString } from './hash.js';
import { HotKeyDetector, type HotKey, type HotKeyOptions } from './hot-keys.js';
import { SingleFlight } from './single-flight.js';
import { WTinyLfuCache } from './w-tinylfu.js';

/** The L2 tier as this module needs it; the port is `RemoteCache` in src/ports/cache.ts. */
export interface RemoteTier {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
}

/** `V` excludes null and undefined: null means "absent" and undefined means "not cached". */
export interface TieredCacheOptions<V extends NonNullable<unknown>> {
  namespace: string;
  schemaVersion: number;
  l1MaxEntries: number;
  l1TtlMs?: number;
  l1NegativeTtlMs?: number;
  l2: RemoteTier | null;
  l2TtlMs?: number;
  l2NegativeTtlMs?: number;
  /** L3: the value of an id, or null when it does not exist. */
  load: (id: string) => Promise<V | null>;
  encode?: (v: V) => string;
  decode?: (s: string) => V;
  /** Hot-key protection; false turns it off. */
  hotKeys?: (Omit<HotKeyOptions, 'random'> & { replicas?: number }) | false;
  random: () => number;
  /** How long past its L1 TTL an entry may still be served stale; 0 (default): never. */
  staleMs?: number;
  /** Serve a stale entry instead of refreshing it now? (The degradation ladder.) */
  serveStale?: () => boolean;
}

export interface TieredCacheStats {
  l1Hits: number;
  l1Misses: number;
  /** L1 misses served by another caller's in-flight read. */
  coalesced: number;
  l2Hits: number;
  l2Misses: number;
  l2Errors: number;
  l2WriteErrors: number;
  replicaReads: number;
  /** Replica misses filled from the primary key. */
  replicaFills: number;
  l3Loads: number;
  /** L3 said "absent" (now negatively cached). */
  l3Absent: number;
  invalidations: number;
  /** Stale L1 entries served: instead of a refresh (ladder) or after a failed one. */
  staleServed: number;
}

const NEGATIVE: unique symbol = Symbol('absent');
type Cached<V extends NonNullable<unknown>> = V | typeof NEGATIVE;
/** An L1 entry: the value and until when it is fresh (it lives `staleMs` longer in L1). */
interface Entry<V extends NonNullable<unknown>> {
  v: Cached<V>;
  freshUntilMs: number;
}
// L2 encoding: '1' + payload for a value, '0' for "absent".
const L2_ABSENT = '0';
const L2_VALUE = '1';

export class TieredCache<V extends NonNullable<unknown>> {
  private readonly l1: WTinyLfuCache<string, Entry<V>>;
  private readonly staleMs: number;
  private readonly flights = new SingleFlight<string, Cached<V>>();
  private readonly detector: HotKeyDetector | null;
  private readonly replicas: number;
  private readonly encode: (v: V) => string;
  private readonly decode: (s: string) => V;
  private readonly l1TtlMs: number;
  private readonly l1NegativeTtlMs: number;
  private readonly l2TtlMs: number;
  private readonly l2NegativeTtlMs: number;
  private readonly st: TieredCacheStats = {
    l1Hits: 0,
    l1Misses: 0,
    coalesced: 0,
    l2Hits: 0,
    l2Misses: 0,
    l2Errors: 0,
    l2WriteErrors: 0,
    replicaReads: 0,
    replicaFills: 0,
    l3Loads: 0,
    l3Absent: 0,
    invalidations: 0,
    staleServed: 0,
  };

  constructor(private readonly opts: TieredCacheOptions<V>) {
    const hot = opts.hotKeys === false ? null : (opts.hotKeys ?? {});
    this.replicas = hot === null ? 0 : Math.max(1, hot.replicas ?? 3);
    this.detector = hot === null ? null : new HotKeyDetector({ ...hot, random: opts.random });
    this.staleMs = opts.staleMs ?? 0;
    this.l1 = new WTinyLfuCache<string, Entry<V>>({
      maxEntries: opts.l1MaxEntries,
      maxPinned: hot === null ? 0 : (hot.maxHot ?? 64),
      random: opts.random,
    });
    this.encode = opts.encode ?? ((v) => JSON.stringify(v));
    this.decode = opts.decode ?? ((s) => JSON.parse(s) as V);
    this.l1TtlMs = opts.l1TtlMs ?? 10_000;
    this.l1NegativeTtlMs = opts.l1NegativeTtlMs ?? 1_000;
    this.l2TtlMs = opts.l2TtlMs ?? 30_000;
    this.l2NegativeTtlMs = opts.l2NegativeTtlMs ?? 5_000;
  }

  /** The versioned cache key of an id. */
  key(id: string): string {
    return `${this.opts.namespace}:v${this.opts.schemaVersion}:${id}`;
  }

  private replicaKeys(key: string): string[] {
    return Array.from({ length: this.replicas }, (_, i) => `${key}#r${i}`);
  }

  /** The value of `id` (null when the store of record does not have it). */
  async get(id: string, nowMs: number): Promise<V | null> {
    const key = this.key(id);
    let hot = false;
    if (this.detector !== null) {
      hot = this.detector.record(key, hashString(key), nowMs);
      for (const cooled of this.detector.takeCooled(nowMs)) this.l1.unpin(cooled, nowMs);
    }
    const hit = this.l1.get(key, nowMs);
    if (hit !== undefined && hit.freshUntilMs > nowMs) {
      this.st.l1Hits++;
      if (hot) this.l1.pin(key);
      return hit.v === NEGATIVE ? null : hit.v;
    }
    if (hit !== undefined && this.opts.serveStale?.() === true) {
      this.st.staleServed++;
      return hit.v === NEGATIVE ? null : hit.v;
    }
    this.st.l1Misses++;
    const before = this.flights.coalesced;
    const flight = this.flights.run(key, (stillCurrent) =>
      this.fill(id, key, hot, nowMs, stillCurrent),
    );
    if (this.flights.coalesced !== before) this.st.coalesced++; // joined another read
    let v: Cached<V>;
    try {
      v = await flight;
    } catch (e) {
      if (hit === undefined) throw e;
      this.st.staleServed++; // the refresh failed: the stale copy is the best answer left
      return hit.v === NEGATIVE ? null : hit.v;
    }
    return v === NEGATIVE ? null : v;
  }

  private async fill(
    id: string,
    key: string,
    hot: boolean,
    nowMs: number,
    stillCurrent: () => boolean,
  ): Promise<Cached<V>> {
    const l2 = this.opts.l2;
    let value: Cached<V> | undefined;
    if (l2 !== null) {
      if (hot) {
        const replica = `${key}#r${Math.floor(this.opts.random() * this.replicas)}`;
        this.st.replicaReads++;
        value = await this.readL2(l2, replica);
        if (value === undefined) {
          value = await this.readL2(l2, key);
          if (value !== undefined && stillCurrent()) {
            this.st.replicaFills++;
            this.writeL2(l2, replica, value);
          }
        }
      } else {
        value = await this.readL2(l2, key);
      }
    }
    if (value === undefined) {
      this.st.l3Loads++;
      const loaded = await this.opts.load(id);
      value = loaded === null ? NEGATIVE : loaded;
      if (loaded === null) this.st.l3Absent++;
      if (l2 !== null && stillCurrent()) {
        this.writeL2(l2, key, value);
        if (hot) for (const r of this.replicaKeys(key)) this.writeL2(l2, r, value);
      }
    }
    if (stillCurrent()) {
      const ttl = value === NEGATIVE ? this.l1NegativeTtlMs : this.l1TtlMs;
      this.l1.set(key, { v: value, freshUntilMs: nowMs + ttl }, nowMs, ttl + this.staleMs);
      if (hot) this.l1.pin(key);
    }
    return value;
  }

  private async readL2(l2: RemoteTier, key: string): Promise<Cached<V> | undefined> {
    let raw: string | null;
    try {
      raw = await l2.get(key);
    } catch {
      this.st.l2Errors++;
      return undefined;
    }
    if (raw === null) {
      this.st.l2Misses++;
      return undefined;
    }
    if (raw === L2_ABSENT) {
      this.st.l2Hits++;
      return NEGATIVE;
    }
    if (raw.startsWith(L2_VALUE)) {
      try {
        const v = this.decode(raw.slice(1));
        this.st.l2Hits++;
        return v;
      } catch {
        // An entry this code cannot read is a miss; the fresh value overwrites it.
      }
    }
    this.st.l2Misses++;
    return undefined;
  }

  /** Fire-and-forget: an L2 write failure is counted, never thrown into a read. */
  private writeL2(l2: RemoteTier, key: string, value: Cached<V>): void {
    const raw = value === NEGATIVE ? L2_ABSENT : L2_VALUE + this.encode(value);
    const ttl = value === NEGATIVE ? this.l2NegativeTtlMs : this.l2TtlMs;
    l2.set(key, raw, ttl).catch(() => {
      this.st.l2WriteErrors++;
    });
  }

  /**
   * Drops `id` from L1 (pinned or not) and from L2 with every replica, and detaches an
   * in-flight read so its result is not stored. Rejects when L2 cannot be reached: the caller
   * must then retry (or rely on the L2 TTL), since a stale copy may remain there.
   */
  async invalidate(id: string): Promise<void> {
    const key = this.key(id);
    this.st.invalidations++;
    this.l1.delete(key);
    this.flights.forget(key);
    if (this.opts.l2 !== null) await this.opts.l2.delete([key, ...this.replicaKeys(key)]);
  }

  /** True when the key of `id` is in L1 now (tests and the erasure receipt). */
  inL1(id: string, nowMs: number): boolean {
    return this.l1.peek(this.key(id), nowMs) !== undefined;
  }

  hotKeys(nowMs: number): HotKey[] {
    return this.detector?.hotSet(nowMs) ?? [];
  }

  stats(): TieredCacheStats & { l1: ReturnType<WTinyLfuCache<string, unknown>['stats']> } {
    return { ...this.st, l1: this.l1.stats() };
  }
}
