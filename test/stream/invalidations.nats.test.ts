/** Invalidation across two NATS connections (two processes) with Redis as the shared L2. */
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { createNatsEventLog } from '../../src/adapters/nats/event-log.js';
import { createRedisCache } from '../../src/adapters/redis/cache.js';
import { createRedisConnection } from '../../src/adapters/redis/health.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { invalidationDrill } from './invalidation-drill.js';

const available = (await requireService('nats')) && (await requireService('redis'));

describe.skipIf(!available)('cache invalidation events on NATS JetStream + Redis', () => {
  it('an erasure in one process reaches the other through JetStream', async () => {
    const suffix = randomBytes(5).toString('hex');
    const servers = SERVICE_URLS.nats.replace(/^nats:\/\//, '');
    const [ncA, ncB] = await Promise.all([connect({ servers }), connect({ servers })]);
    const stream = { stream: `TEST_INV_${suffix}`, subjectPrefix: `test.${suffix}.events` };
    const logA = await createNatsEventLog({ connection: ncA, ...stream });
    const logB = await createNatsEventLog({ connection: ncB, ...stream });
    const redis = createRedisConnection(SERVICE_URLS.redis);
    await redis.check.check();
    const prefix = `test:${suffix}:`;
    try {
      const { propagationMs } = await invalidationDrill(
        logA,
        logB,
        createRedisCache(redis.client, { keyPrefix: prefix }),
      );
      // Loopback JetStream: the seed budgets ~15 ms for Kafka; allow a loaded CI machine.
      expect(propagationMs).toBeLessThan(2_000);
    } finally {
      await logA.destroy();
      const keys = await redis.client.keys(`${prefix}*`);
      if (keys.length > 0) await redis.client.del(...keys);
      await redis.close();
      await ncA.drain();
      await ncB.drain();
    }
  });
});
