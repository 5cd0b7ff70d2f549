/**
 * RemoteCache: the shared L2 cache tier (Redis in production, an in-process map as the
 * embedded stand-in), seed Part 5. The read-through composition over it is TieredCache
 * (src/core/cache/tiered.ts), which defines the shape this port names.
 *
 * Guarantees
 * - `set` stores a string under a key for `ttlMs` (rounded up to whole milliseconds); after it
 *   resolves, `get` returns that string until the TTL passes, the key is overwritten or deleted.
 * - `get` returns null for a missing or expired key.
 * - `delete` removes every listed key; keys need not share a Redis Cluster slot (replica keys
 *   of a hot key are spread over slots on purpose), so adapters must not send them as one
 *   multi-key command to a cluster.
 * - Every call may reject when the server is unreachable; callers treat L2 as optional
 *   (a failed read is a miss) except for invalidation, which must be retried.
 * Left out on purpose: values other than strings (callers encode), atomic multi-key updates,
 * eviction policy (the server's: Redis `maxmemory-policy allkeys-lfu` is the natural match).
 * Every adapter passes test/contract/cache.contract.ts.
 */
import type { RemoteTier } from '../core/cache/tiered.js';

export type RemoteCache = RemoteTier;
