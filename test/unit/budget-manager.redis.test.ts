/**
 * The BudgetManager invariant property (test/unit/budget-manager.test.ts) on the Redis budget
 * counters (Lua scripts): several managers, random traffic, duplicated impressions, crashes;
 * ledger ≤ budget, conservation, counters = ledger, nothing leased after quiesce.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBudgetCounters } from '../../src/adapters/redis/budget-counters.js';
import { createRedisConnection, type RedisConnection } from '../../src/adapters/redis/health.js';
import { LIFETIME_PERIOD } from '../../src/exchange/budget.js';
import { requireService, SERVICE_URLS } from '../helpers/services.js';
import { campaign, op, run, TTL_MS, World } from './budget-world.js';

const available = await requireService('redis');

describe.skipIf(!available)('BudgetManager on Redis budget counters', () => {
  let conn: RedisConnection;
  const prefix = `test:${randomBytes(5).toString('hex')}:budget-mgr:`;
  beforeAll(async () => {
    conn = createRedisConnection(SERVICE_URLS.redis);
    await conn.check.check();
  });
  afterAll(async () => {
    const keys = await conn.client.keys(`${prefix}*`);
    if (keys.length > 0) await conn.client.del(...keys);
    await conn.close();
  });

  it('never spends more than the budget, conserves money and matches the ledger', async () => {
    let runNo = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80 }), async (ops) => {
        const w = new World(campaign(), 3);
        w.counters.inner = createRedisBudgetCounters(conn.client, {
          keyPrefix: `${prefix}${runNo++}:`,
        });
        await run(w, ops);
        w.clock.advance(TTL_MS + 120_000);
        for (const m of w.managers) await m.tick();
        for (const m of w.managers) await m.close();
        for (const period of ['2026-06-01', LIFETIME_PERIOD]) {
          const s = await w.counters.state({ campaignId: w.c.id, period });
          expect(s?.leasedMicros ?? 0).toBe(0);
        }
        await w.checkInvariants();
      }),
      { numRuns: 10 },
    );
  });
});
