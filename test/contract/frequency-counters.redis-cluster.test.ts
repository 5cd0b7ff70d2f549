/**
 * The Redis frequency counters on a Redis Cluster (a private 3-master cluster this file starts,
 * test/helpers/redis-cluster.ts): the whole FrequencyCounters contract, and GDPR erasure
 * (`forgetUser`) finding a user's keys whichever master owns them — SCAN on one node would only
 * see that node's keys.
 *
 * Needs the redis-server / redis-cli binaries; without them the file skips outside CI and
 * fails in CI (like the service suites).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisFrequencyCounters } from '../../src/adapters/redis/frequency-counters.js';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { frequencyCountersContract } from './frequency-counters.contract.js';

const hasRedisServer = await promisify(execFile)('redis-server', ['--version']).then(
  () => true,
  (e: unknown) => {
    if (process.env.CI === 'true' || process.env.CI === '1') {
      throw new Error(`CI needs redis-server for the cluster tests: ${String(e)}`);
    }
    console.warn('[skipped] Redis Cluster suites: no redis-server binary');
    return false;
  },
);

let cluster: TestRedisCluster | null = null;
const clients: Cluster[] = [];

function connect(): Cluster {
  if (cluster === null) throw new Error('cluster not started');
  const c = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  clients.push(c);
  return c;
}

describe.skipIf(!hasRedisServer)('Redis frequency counters on Redis Cluster', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stop();
  });

  frequencyCountersContract('Redis Cluster', async () => {
    const client = connect();
    return {
      counters: createRedisFrequencyCounters(client, {
        keyPrefix: `test:${randomBytes(5).toString('hex')}:freq:`,
      }),
      close: async () => client.disconnect(),
    };
  });

  it('forgetUser erases a user whose keys live on any master, and only that user', async () => {
    const client = connect();
    const counters = createRedisFrequencyCounters(client, { keyPrefix: 'test:cluster:freq:' });
    const users = Array.from({ length: 24 }, (_, i) => `cluster-user-${i}`);
    const targets = [
      { scope: 'campaign' as const, id: 'c1', retainMs: 60_000 },
      { scope: 'creative' as const, id: 'k1', retainMs: 60_000 },
    ];
    for (const u of users) await counters.increment(u, targets, `imp-${u}`, 1_000);
    // The users' keys are spread over several masters (24 hash tags over 3 masters).
    const masters = client.nodes('master');
    const perNode = await Promise.all(
      masters.map(async (n) => (await n.keys('test:cluster:freq:*')).length),
    );
    expect(perNode.filter((k) => k > 0).length).toBeGreaterThan(1);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(users.length * 2);

    for (const u of users.slice(0, 12)) {
      expect((await counters.forgetUser(u)).removed).toBe(2);
      expect((await counters.forgetUser(u)).removed).toBe(0); // idempotent
    }
    const rule = [{ scope: 'campaign' as const, id: 'c1', maxImpressions: 5, windowMs: 60_000 }];
    for (const [i, u] of users.entries()) {
      const { counts } = await counters.check(u, rule, 1_000);
      expect(counts[0]?.count).toBe(i < 12 ? 0 : 1);
    }
  });
});
