import { describe, expect, it } from 'vitest';
import { createMemoryEventLog } from '../../src/adapters/memory/event-log.js';
import { createMemoryRemoteCache } from '../../src/adapters/memory/remote-cache.js';
import { invalidationEvent } from '../../src/stream/invalidations.js';
import { invalidationDrill } from './invalidation-drill.js';

describe('cache invalidation events (in-process log)', () => {
  it('an erasure in one process drops the key from the other process and from L2', async () => {
    const log = createMemoryEventLog();
    const { propagationMs } = await invalidationDrill(log, log, createMemoryRemoteCache());
    expect(propagationMs).toBeGreaterThanOrEqual(0);
    await log.close();
  });

  it('builds deterministic event ids: the same change re-sent is one event', () => {
    const a = invalidationEvent('profile', 'u1', 'updated', 1_000, 7);
    const b = invalidationEvent('profile', 'u1', 'updated', 2_000, 7);
    expect(a.id).toBe(b.id);
    expect(a.data).toEqual({ namespace: 'profile', key: 'u1', reason: 'updated', version: 7 });
  });
});
