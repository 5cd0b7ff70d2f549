/** The hot-key drill of cache-tiered.test.ts on a real Redis L2 (issue 7 Done-when). */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisCache } from '../../src/adapters/redis/cache.js';
import { createRedisConnection, type RedisConnection } from '../../src/adapters/redis/health.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { CountingTier, hotKeyDrill } from './cache-tiered-helpers.js';

const available = await requireService('redis');

describe.skipIf(!available)('hot key on Redis', () => {
  let conn: RedisConnection;
  const prefix = `test:${randomBytes(5).toString('hex')}:`;
  beforeAll(async () => {
    conn = createRedisConnection(SERVICE_URLS.redis);
    await conn.check.check();
  });
  afterAll(async () => {
    const keys = await conn.client.keys(`${prefix}*`);
    if (keys.length > 0) await conn.client.del(...keys);
    await conn.close();
  });

  it('1,000 reads/s of one key from 20 processes: ≤ 1% reach any single Redis key', async () => {
    const l2 = new CountingTier(createRedisCache(conn.client, { keyPrefix: prefix }));
    const clock = new FakeClock();
    // L1 TTL 1 s, the hard case: without replicas 2% of reads hit the key (cache-tiered.test.ts).
    const r = await hotKeyDrill(l2, clock, {
      processes: 20,
      readsPerSec: 1_000,
      seconds: 10,
      l1TtlMs: 1_000,
      hotKeys: true,
    });
    expect(r.reads).toBe(10_000);
    expect(r.busiestShare).toBeLessThanOrEqual(0.01);
    // The copies really are in Redis under their own keys.
    const replicas = await conn.client.keys(`${prefix}profile:v1:celebrity#r*`);
    expect(replicas.length).toBeGreaterThanOrEqual(2);
  });
});
