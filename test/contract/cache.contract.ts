/**
 * The RemoteCache (L2) contract: string values with a TTL, null for missing/expired keys,
 * multi-key delete across slots. See src/ports/cache.ts. Run by cache.memory.test.ts and
 * cache.redis.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteCache } from '../../src/ports/cache.js';

export interface RemoteCacheHarness {
  cache: RemoteCache;
  close(): Promise<void>;
}

export function remoteCacheContract(
  adapter: string,
  open: () => Promise<RemoteCacheHarness>,
): void {
  describe(`RemoteCache contract: ${adapter}`, () => {
    let h: RemoteCacheHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });
    const k = (name: string) => `${name}:${randomUUID()}`;

    it('returns null for a key never set', async () => {
      expect(await h.cache.get(k('missing'))).toBeNull();
    });

    it('returns what was set, byte for byte, and the latest value after an overwrite', async () => {
      const key = k('value');
      const value = '1{"name":"Zoë","score":0.25,"tags":["a","b"],"emoji":"🚀"}';
      await h.cache.set(key, value, 60_000);
      expect(await h.cache.get(key)).toBe(value);
      await h.cache.set(key, '0', 60_000);
      expect(await h.cache.get(key)).toBe('0');
    });

    it('forgets a key after its TTL', async () => {
      const key = k('ttl');
      await h.cache.set(key, 'short', 150);
      expect(await h.cache.get(key)).toBe('short');
      await sleep(400);
      expect(await h.cache.get(key)).toBeNull();
    });

    it('deletes several keys, including keys in different cluster slots, and ignores absent ones', async () => {
      const base = k('del');
      const keys = [base, `${base}#r0`, `${base}#r1`, `${base}#r2`];
      for (const key of keys) await h.cache.set(key, 'x', 60_000);
      const other = k('keep');
      await h.cache.set(other, 'y', 60_000);
      await h.cache.delete([...keys, k('never-set')]);
      for (const key of keys) expect(await h.cache.get(key)).toBeNull();
      expect(await h.cache.get(other)).toBe('y');
      await h.cache.delete([]);
    });

    it('stores a large value (64 KiB)', async () => {
      const key = k('large');
      const value = 'v'.repeat(64 * 1024);
      await h.cache.set(key, value, 60_000);
      expect(await h.cache.get(key)).toBe(value);
    });
  });
}
