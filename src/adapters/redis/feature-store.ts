/**
 * RedisFeatureStore: the FeatureStore port on Redis — one hash per entity,
 * `<prefix><kind>:<id>`, written with HSET + PEXPIRE in one MULTI (so a written entity always
 * has its TTL), read with HGETALL.
 */
import type { Redis } from 'ioredis';
import type { FeatureEntity, Features, FeatureStore } from '../../ports/feature-store.js';

export function createRedisFeatureStore(
  client: Redis,
  opts: { keyPrefix?: string } = {},
): RedisFeatureStore {
  return new RedisFeatureStore(client, opts.keyPrefix ?? 'adstack:features:');
}

export class RedisFeatureStore implements FeatureStore {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  private key(kind: FeatureEntity, id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  async put(
    kind: FeatureEntity,
    id: string,
    features: Readonly<Features>,
    ttlMs: number,
  ): Promise<void> {
    const entries = Object.entries(features);
    if (entries.length === 0) return;
    const key = this.key(kind, id);
    const res = await this.client
      .multi()
      .hset(key, Object.fromEntries(entries.map(([k, v]) => [k, String(v)])))
      .pexpire(key, Math.max(1, Math.ceil(ttlMs)))
      .exec();
    const failed = res?.find(([err]) => err !== null);
    if (res === null || failed !== undefined) {
      throw failed?.[0] ?? new Error('feature write aborted');
    }
  }

  async get(kind: FeatureEntity, id: string): Promise<Features | null> {
    const raw = await this.client.hgetall(this.key(kind, id));
    const entries = Object.entries(raw);
    if (entries.length === 0) return null;
    return Object.fromEntries(entries.map(([k, v]) => [k, Number(v)]));
  }

  async forgetUser(userKey: string): Promise<{ removed: number }> {
    return { removed: await this.client.unlink(this.key('user', userKey)) };
  }
}
