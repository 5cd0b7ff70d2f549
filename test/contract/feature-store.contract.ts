/**
 * The FeatureStore contract (src/ports/feature-store.ts): put merges and sets the TTL, get
 * after expiry is null, kinds and ids are kept apart, forgetUser removes a user's features.
 * Run by feature-store.memory.test.ts and feature-store.redis.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureStore } from '../../src/ports/feature-store.js';

export interface FeatureStoreHarness {
  store: FeatureStore;
  /** Lets `ms` pass for the store's expiry (a fake clock, or a real wait for Redis). */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

export function featureStoreContract(
  adapter: string,
  open: () => Promise<FeatureStoreHarness>,
): void {
  describe(`FeatureStore contract: ${adapter}`, () => {
    let h: FeatureStoreHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });
    const id = () => randomUUID();

    it('returns null for an unknown entity and what was put for a known one', async () => {
      const a = id();
      expect(await h.store.get('ad', a)).toBeNull();
      await h.store.put('ad', a, { ctr_1h: 0.0125, impressions_1h: 800 }, 60_000);
      expect(await h.store.get('ad', a)).toEqual({ ctr_1h: 0.0125, impressions_1h: 800 });
    });

    it('put merges with the features already there and keeps kinds and ids apart', async () => {
      const a = id();
      await h.store.put('advertiser', a, { spend_1h_micros: 5 }, 60_000);
      await h.store.put('advertiser', a, { spend_today_micros: 9 }, 60_000);
      await h.store.put('ad', a, { ctr_1h: 0.5 }, 60_000);
      expect(await h.store.get('advertiser', a)).toEqual({
        spend_1h_micros: 5,
        spend_today_micros: 9,
      });
      expect(await h.store.get('ad', a)).toEqual({ ctr_1h: 0.5 });
      expect(await h.store.get('advertiser', id())).toBeNull();
    });

    it('an entity expires after its TTL', async () => {
      const a = id();
      await h.store.put('ad', a, { x: 1 }, 50);
      expect(await h.store.get('ad', a)).toEqual({ x: 1 });
      await h.elapse(120);
      expect(await h.store.get('ad', a)).toBeNull();
    });

    it("forgetUser removes the user's features and nothing else", async () => {
      const u = id();
      await h.store.put('user', u, { engagement_7d: 3 }, 60_000);
      await h.store.put('ad', u, { ctr_1h: 0.1 }, 60_000);
      expect(await h.store.forgetUser(u)).toEqual({ removed: 1 });
      expect(await h.store.get('user', u)).toBeNull();
      expect(await h.store.get('ad', u)).toEqual({ ctr_1h: 0.1 });
      expect(await h.store.forgetUser(u)).toEqual({ removed: 0 });
    });
  });
}
