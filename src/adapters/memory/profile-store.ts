/**
 * MemoryProfileStore: the ProfileStore port in process memory (embedded default without
 * PostgreSQL, tests). Operations are synchronous inside, hence atomic within this process;
 * nothing is shared with other processes or survives a restart.
 */
import { mergeInterests } from '../../core/profile/interests.js';
import {
  DEFAULT_MAX_INTERESTS,
  NO_CONSENT,
  type InterestUpdateResult,
  type ProfileInput,
  type ProfileStore,
  type UserProfile,
} from '../../ports/profile-store.js';

export function createMemoryProfileStore(): MemoryProfileStore {
  return new MemoryProfileStore();
}

const copy = (p: UserProfile): UserProfile => structuredClone(p);

export class MemoryProfileStore implements ProfileStore {
  private readonly profiles = new Map<string, UserProfile>();
  private readonly tombstones = new Map<string, number>();

  async get(userKey: string): Promise<UserProfile | null> {
    const p = this.profiles.get(userKey);
    return p === undefined ? null : copy(p);
  }

  async put(profile: ProfileInput, nowMs: number): Promise<UserProfile> {
    const prev = this.profiles.get(profile.user_key);
    const next: UserProfile = {
      ...structuredClone(profile),
      version: (prev?.version ?? 0) + 1,
      updated_at: new Date(nowMs).toISOString(),
    };
    this.profiles.set(profile.user_key, next);
    this.tombstones.delete(profile.user_key);
    return copy(next);
  }

  async addInterests(
    userKey: string,
    deltas: Readonly<Record<string, number>>,
    nowMs: number,
    maxInterests = DEFAULT_MAX_INTERESTS,
  ): Promise<InterestUpdateResult> {
    if (this.tombstones.has(userKey)) return { applied: false, reason: 'erased' };
    const prev = this.profiles.get(userKey);
    const next: UserProfile = {
      user_key: userKey,
      demographics: prev?.demographics ?? {},
      consent: prev?.consent ?? { ...NO_CONSENT },
      interests: mergeInterests(prev?.interests ?? {}, deltas, maxInterests),
      version: (prev?.version ?? 0) + 1,
      updated_at: new Date(nowMs).toISOString(),
    };
    this.profiles.set(userKey, next);
    return { applied: true, profile: copy(next) };
  }

  async delete(userKey: string): Promise<{ deleted: boolean }> {
    return { deleted: this.profiles.delete(userKey) };
  }

  async tombstone(keys: readonly string[], nowMs: number): Promise<void> {
    for (const k of keys) if (!this.tombstones.has(k)) this.tombstones.set(k, nowMs);
  }

  async isTombstoned(key: string): Promise<boolean> {
    return this.tombstones.has(key);
  }
}
