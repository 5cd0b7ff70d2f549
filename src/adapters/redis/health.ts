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
        // Right after start the socket may still be connecting; wait for it (the caller bounds
        // the wait) instead of failing on the disabled offline queue.
        if (
          client.status === 'connecting' ||
          client.status === 'connect' ||
          client.status === 'reconnecting'
        ) {
          await new Promise<void>((resolve, reject) => {
            const onReady = (): void => {
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(() => {
              client.off('ready', onReady);
              reject(new Error(`redis is ${client.status}`));
            }, 1000);
            client.once('ready', onReady);
          });
        }
        const pong = await client.ping();
        if (pong !== 'PONG') throw new Error(`unexpected PING reply: ${pong}`);
      },
    },
    async close() {
      client.disconnect();
    },
  };
}
