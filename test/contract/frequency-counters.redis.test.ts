import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { createRedisFrequencyCounters } from '../../src/adapters/redis/frequency-counters.js';
import { createRedisConnection } from '../../src/adapters/redis/health.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { frequencyCountersContract } from './frequency-counters.contract.js';

const available = await requireService('redis');

describe.skipIf(!available)('Redis frequency counters', () => {
  frequencyCountersContract('Redis', async () => {
    const conn = createRedisConnection(SERVICE_URLS.redis);
    await conn.check.check();
    const keyPrefix = `test:${randomBytes(5).toString('hex')}:freq:`;
    return {
      counters: createRedisFrequencyCounters(conn.client, { keyPrefix }),
      async close() {
        const keys = await conn.client.keys(`${keyPrefix}*`);
        if (keys.length > 0) await conn.client.del(...keys);
        await conn.close();
      },
    };
  });
});
