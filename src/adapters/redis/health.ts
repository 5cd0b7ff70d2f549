/**
 * Redis connection used by the readiness probe. Later issues add the budget counters,
 * frequency counters and L2 cache (Lua scripts under ./scripts) on the same client.
 */
import { Redis } from 'ioredis';
import type { DependencyCheck } from '../../ports/health.js';

export interface RedisConnection {
  client: Redis;
  check: DependencyCheck;
  close(): Promise<void>;
}

export function createRedisConnection(url: string): RedisConnection {
  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false, // fail fast instead of queueing while disconnected
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Errors surface through commands and the readiness probe; without a listener ioredis
  // would print every reconnect failure as an unhandled 'error' event.
  client.on('error', () => undefined);
  return {
    client,
    check: {
      name: 'redis',
      async check() {
        const pong = await client.ping();
        if (pong !== 'PONG') throw new Error(`unexpected PING reply: ${pong}`);
      },
    },
    async close() {
      client.disconnect();
    },
  };
}
