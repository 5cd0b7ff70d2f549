/**
 * RedisCache: the RemoteCache port (L2) on Redis / Redis Cluster with ioredis.
 *
 * - `set` is `SET key value PX ttl`; `get` is `GET`. The server applies the TTL.
 * - `delete` sends one `DEL` per key in a pipeline rather than one multi-key `DEL`: replica
 *   keys of a hot key are deliberately in different cluster slots, and a multi-key command
 *   across slots is refused by Redis Cluster (CROSSSLOT).
 * - `keyPrefix` namespaces the keys (deployments and tests sharing one Redis).
 * - The shared client (health.ts) has the offline queue disabled, so calls fail fast while
 *   Redis is unreachable and the tiered cache falls through to L3 instead of waiting.
 */
import type { Redis } from 'ioredis';
import type { RemoteCache } from '../../ports/cache.js';

export interface RedisCacheOptions {
  keyPrefix?: string;
}

export function createRedisCache(client: Redis, opts: RedisCacheOptions = {}): RedisCache {
  return new RedisCache(client, opts.keyPrefix ?? 'adstack:cache:');
}

export class RedisCache implements RemoteCache {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  get(key: string): Promise<string | null> {
    return this.client.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const p = this.client.pipeline();
    for (const k of keys) p.del(this.prefix + k);
    const results = await p.exec();
    const failed = results?.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0];
  }
}
