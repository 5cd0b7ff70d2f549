import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe } from 'vitest';
import { createRedisFeatureStore } from '../../src/adapters/redis/feature-store.js';
import { createRedisConnection } from '../../src/adapters/redis/health.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { featureStoreContract } from './feature-store.contract.js';

const available = await requireService('redis');

describe.skipIf(!available)('Redis feature store', () => {
  featureStoreContract('Redis', async () => {
    const conn = createRedisConnection(SERVICE_URLS.redis);
    await conn.check.check();
    const keyPrefix = `test:${randomBytes(5).toString('hex')}:features:`;
    return {
      store: createRedisFeatureStore(conn.client, { keyPrefix }),
      // Redis expires on its own clock: wait (the assertion is "gone after the TTL", so a
      // slow machine only makes the wait longer than needed, never the test flaky).
      elapse: (ms) => sleep(ms),
      async close() {
        const keys = await conn.client.keys(`${keyPrefix}*`);
        if (keys.length > 0) await conn.client.del(...keys);
        await conn.close();
      },
    };
  });
});
