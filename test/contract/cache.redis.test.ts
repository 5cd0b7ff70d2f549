import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { createRedisCache } from '../../src/adapters/redis/cache.js';
import { createRedisConnection } from '../../src/adapters/redis/health.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { remoteCacheContract } from './cache.contract.js';

const available = await requireService('redis');

describe.skipIf(!available)('Redis adapters', () => {
  remoteCacheContract('Redis', async () => {
    const conn = createRedisConnection(SERVICE_URLS.redis);
    await conn.check.check(); // connected before the first command (offline queue is off)
    const prefix = `test:${randomBytes(5).toString('hex')}:`;
    return {
      cache: createRedisCache(conn.client, { keyPrefix: prefix }),
      async close() {
        // Keys expire by TTL anyway; remove the ones without a short TTL now.
        const keys = await conn.client.keys(`${prefix}*`);
        if (keys.length > 0) await conn.client.del(...keys);
        await conn.close();
      },
    };
  });
});
