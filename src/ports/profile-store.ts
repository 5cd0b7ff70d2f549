/**
 * ProfileStore: what the platform keeps about one user (issue 7 item 4) — coarse demographics,
 * interests with scores, consent state — and the erasure tombstones (item 6d). PostgreSQL in
 * production (src/adapters/postgres/profile-store.ts), in-process memory as the embedded
 * default and for tests.
 *
 * Guarantees
 * - Keyed by a HASHED user id only (`user_key`, 32 lowercase hex characters, computed by
 *   `userKey()` in src/exchange/user-key.ts from the publisher's id). The raw id is never
 *   given to the store, so no adapter can store it. Profiles hold no free-text PII: the
 *   demographic fields are closed enums or ISO codes.
 * - `put` replaces the profile (upsert) and returns it with `version` one higher than the
 *   stored one (1 for a new profile) and `updated_at` set; it clears a tombstone of that key
 *   (an explicit new profile, e.g. after the user consents again).
 * - `addInterests` adds score deltas to the stored interests (creating the profile when none
 *   exists), each score clamped to [0, 1], keeping the `maxInterests` highest; it is refused
 *   (`applied: false`, reason `erased`) for a tombstoned key, so a late event cannot bring an
 *   erased user back. Atomic per key (no lost update between concurrent calls).
 * - `delete` removes the profile; `deleted` says whether there was one. Idempotent.
 * - `tombstone(keys)` records that these hashed keys were erased (idempotent, first time kept);
 *   `isTombstoned` reads it. Tombstones hold no data but the hash and the time.
 * - Every call rejects when the backend is unreachable.
 * Updated by events: besides `PUT /v1/users/:id/profile` and `POST /v1/users/:id/interests`,
 * click events raise a consenting user's interests through `addInterests`
 * (src/stream/profile-interests.ts; never for a user without a profile or consent).
 * Left out on purpose: history of changes (a profile is current state only), raw-id lookup.
 * Every adapter passes test/contract/profile-store.contract.ts.
 */

export const AGE_RANGES = ['13-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'] as const;
export type AgeRange = (typeof AGE_RANGES)[number];
export const GENDERS = ['female', 'male', 'other'] as const;
export type Gender = (typeof GENDERS)[number];

export interface Demographics {
  age_range?: AgeRange;
  gender?: Gender;
  /** ISO 3166-1 alpha-2. */
  country?: string;
  /** ISO 3166-2 subdivision code, e.g. "US-CA". */
  region?: string;
}

export interface Consent {
  /** Interest-based (personalised) ads allowed. */
  personalization: boolean;
  /** Frequency capping / measurement allowed. */
  measurement: boolean;
  /** IAB TCF consent string as received (no personal data in it), or null. */
  tcf?: string | null;
}

export interface UserProfile {
  user_key: string;
  demographics: Demographics;
  /** Interest → score in [0, 1]. */
  interests: Record<string, number>;
  consent: Consent;
  version: number;
  updated_at: string; // ISO 8601
}

export type ProfileInput = Omit<UserProfile, 'version' | 'updated_at'>;

export const ProfileUpdateRefusal = { Erased: 'erased' } as const;
export type ProfileUpdateRefusal = (typeof ProfileUpdateRefusal)[keyof typeof ProfileUpdateRefusal];

export type InterestUpdateResult =
  { applied: true; profile: UserProfile } | { applied: false; reason: ProfileUpdateRefusal };

/** The default consent of a profile created by events: nothing granted. */
export const NO_CONSENT: Consent = { personalization: false, measurement: false, tcf: null };

export const USER_KEY_PATTERN = /^[0-9a-f]{32}$/;

export interface ProfileStore {
  get(userKey: string): Promise<UserProfile | null>;
  put(profile: ProfileInput, nowMs: number): Promise<UserProfile>;
  addInterests(
    userKey: string,
    deltas: Readonly<Record<string, number>>,
    nowMs: number,
    maxInterests?: number,
  ): Promise<InterestUpdateResult>;
  delete(userKey: string): Promise<{ deleted: boolean }>;
  tombstone(keys: readonly string[], nowMs: number): Promise<void>;
  isTombstoned(key: string): Promise<boolean>;
}

export const DEFAULT_MAX_INTERESTS = 64;
