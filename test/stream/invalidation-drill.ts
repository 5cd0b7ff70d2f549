/** Two processes with their own L1, one shared L2 and one event log: a GDPR-style update. */
import { expect } from 'vitest';
import { TieredCache, type RemoteTier } from '../../src/core/cache/tiered.js';
import { xorshift32 } from '../../src/core/cache/w-tinylfu.js';
import type { EventLog } from '../../src/ports/event-log.js';
import {
  InvalidationListener,
  invalidationEvent,
  publishInvalidation,
} from '../../src/stream/invalidations.js';
import { BoundedPublisher } from '../../src/stream/publisher.js';

export async function invalidationDrill(logA: EventLog, logB: EventLog, l2: RemoteTier) {
  const store = new Map<string, { id: string; consent: boolean }>([
    ['u1', { id: 'u1', consent: true }],
  ]);
  const mk = (seed: number) =>
    new TieredCache<{ id: string; consent: boolean }>({
      namespace: 'profile',
      schemaVersion: 1,
      l1MaxEntries: 100,
      l2,
      load: async (id) => store.get(id) ?? null,
      random: xorshift32(seed),
    });
  const a = mk(1);
  const b = mk(2);
  const listenA = new InvalidationListener({ log: logA, caches: new Map([['profile', a]]) });
  const listenB = new InvalidationListener({ log: logB, caches: new Map([['profile', b]]) });
  await listenA.start();
  await listenB.start();
  try {
    const now = Date.now();
    expect(await a.get('u1', now)).toMatchObject({ consent: true });
    expect(await b.get('u1', now)).toMatchObject({ consent: true });
    expect(b.inL1('u1', now)).toBe(true);

    // Process A erases the user in the store of record, then invalidates everywhere.
    store.delete('u1');
    const publisher = new BoundedPublisher({ log: logA });
    const started = performance.now();
    await publishInvalidation(
      { cache: a, publisher },
      invalidationEvent('profile', 'u1', 'gdpr_erasure', now),
    );
    await expect.poll(() => b.inL1('u1', Date.now()), { timeout: 5_000, interval: 2 }).toBe(false);
    const propagationMs = performance.now() - started;
    expect(await b.get('u1', Date.now())).toBeNull(); // L2 was cleared too: no stale copy
    expect(listenB.counts.applied).toBeGreaterThanOrEqual(1);

    // A namespace nobody caches is acked and counted, not retried forever.
    await publisher.publish(invalidationEvent('segments', 's1', 'updated', now));
    await expect.poll(() => listenB.counts.unknown_namespace, { timeout: 5_000 }).toBe(1);
    return { propagationMs };
  } finally {
    await listenA.stop();
    await listenB.stop();
  }
}
