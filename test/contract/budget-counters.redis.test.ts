import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { createRedisBudgetCounters } from '../../src/adapters/redis/budget-counters.js';
import { createRedisConnection } from '../../src/adapters/redis/health.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { budgetCountersContract } from './budget-counters.contract.js';

const available = await requireService('redis');

describe.skipIf(!available)('Redis budget counters', () => {
  budgetCountersContract('Redis', async () => {
    // Two connections: the second plays another ad-server process on the same counters.
    const a = createRedisConnection(SERVICE_URLS.redis);
    const b = createRedisConnection(SERVICE_URLS.redis);
    await a.check.check();
    await b.check.check();
    const keyPrefix = `test:${randomBytes(5).toString('hex')}:budget:`;
    return {
      counters: createRedisBudgetCounters(a.client, { keyPrefix }),
      other: createRedisBudgetCounters(b.client, { keyPrefix }),
      async close() {
        const keys = await a.client.keys(`${keyPrefix}*`);
        if (keys.length > 0) await a.client.del(...keys);
        await a.close();
        await b.close();
      },
    };
  });
});
