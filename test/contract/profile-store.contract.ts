/**
 * The ProfileStore contract (src/ports/profile-store.ts): upsert with versions, interest deltas
 * (clamped, top-N, no lost update under concurrency), delete, tombstones that block event
 * updates and are lifted by an explicit put. Run by profile-store.{memory,pglite,postgres}.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileInput, ProfileStore } from '../../src/ports/profile-store.js';

export interface ProfileStoreHarness {
  store: ProfileStore;
  close(): Promise<void>;
}

const T0 = Date.parse('2026-06-01T12:00:00Z');
const key = () => randomBytes(16).toString('hex');

function input(userKey: string, over: Partial<ProfileInput> = {}): ProfileInput {
  return {
    user_key: userKey,
    demographics: { age_range: '25-34', country: 'DE' },
    interests: { sports: 0.5, travel: 0.25 },
    consent: { personalization: true, measurement: true, tcf: null },
    ...over,
  };
}

export function profileStoreContract(
  adapter: string,
  open: () => Promise<ProfileStoreHarness>,
): void {
  describe(`ProfileStore contract: ${adapter}`, () => {
    let h: ProfileStoreHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    it('returns null for an unknown key', async () => {
      expect(await h.store.get(key())).toBeNull();
    });

    it('put creates version 1, replaces with version 2, and get returns what was put', async () => {
      const k = key();
      const first = await h.store.put(input(k), T0);
      expect(first).toEqual({ ...input(k), version: 1, updated_at: new Date(T0).toISOString() });
      const second = await h.store.put(
        input(k, { interests: { music: 1 }, demographics: { gender: 'other' } }),
        T0 + 1000,
      );
      expect(second.version).toBe(2);
      expect(second.interests).toEqual({ music: 1 });
      expect(second.demographics).toEqual({ gender: 'other' });
      expect(await h.store.get(k)).toEqual(second);
    });

    it('addInterests creates a profile without consent and merges deltas clamped to [0, 1]', async () => {
      const k = key();
      const r1 = await h.store.addInterests(k, { sports: 0.4, news: 0.7 }, T0);
      expect(r1.applied).toBe(true);
      const p1 = await h.store.get(k);
      expect(p1?.consent).toEqual({ personalization: false, measurement: false, tcf: null });
      expect(p1?.interests).toEqual({ news: 0.7, sports: 0.4 });
      const r2 = await h.store.addInterests(k, { sports: 0.9, news: -1 }, T0 + 1);
      expect(r2.applied && r2.profile.interests).toEqual({ sports: 1 });
      expect(r2.applied && r2.profile.version).toBe(2);
    });

    it('keeps only the highest maxInterests scores', async () => {
      const k = key();
      await h.store.addInterests(k, { a: 0.1, b: 0.5, c: 0.3, d: 0.9 }, T0, 2);
      expect((await h.store.get(k))?.interests).toEqual({ b: 0.5, d: 0.9 });
    });

    it('loses no delta when updates of one user race', async () => {
      const k = key();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => h.store.addInterests(k, { sports: 0.01 }, T0 + i)),
      );
      const p = await h.store.get(k);
      expect(p?.interests.sports).toBeCloseTo(0.2, 6);
      expect(p?.version).toBe(20);
    });

    it('delete removes the profile and is idempotent', async () => {
      const k = key();
      await h.store.put(input(k), T0);
      expect(await h.store.delete(k)).toEqual({ deleted: true });
      expect(await h.store.get(k)).toBeNull();
      expect(await h.store.delete(k)).toEqual({ deleted: false });
    });

    it('a tombstone refuses event updates until an explicit put lifts it', async () => {
      const k = key();
      const other = key();
      expect(await h.store.isTombstoned(k)).toBe(false);
      await h.store.tombstone([k, other], T0);
      await h.store.tombstone([k], T0 + 1); // idempotent
      expect(await h.store.isTombstoned(k)).toBe(true);
      expect(await h.store.isTombstoned(other)).toBe(true);
      expect(await h.store.addInterests(k, { sports: 0.5 }, T0 + 2)).toEqual({
        applied: false,
        reason: 'erased',
      });
      expect(await h.store.get(k)).toBeNull();
      await h.store.put(input(k), T0 + 3);
      expect(await h.store.isTombstoned(k)).toBe(false);
      expect((await h.store.addInterests(k, { sports: 0.1 }, T0 + 4)).applied).toBe(true);
      expect(await h.store.isTombstoned(other)).toBe(true);
    });
  });
}
