/**
 * The user feature group of a decision (issue 7 items 4 and 6b; seed Part 4 "user features"):
 * the user's profile — demographics, interest scores, consent — read through the tiered cache
 * (L1 W-TinyLFU → L2 Redis → the ProfileStore), and the 7-day engagement the windowed
 * aggregates consumer keeps in the feature store (src/stream/aggregates.ts), both under the
 * hashed profile key (./user-key.ts). The decision path turns them into the `UserInput` the
 * feature pipeline vectorizes (src/core/features/from-request.ts `servingInput`).
 *
 * - Never fails a decision: each read runs within the decision deadline's `profile` stage
 *   (ADSTACK_PROFILE_BUDGET_MS) when one is given; a cut, an open breaker or an error leaves
 *   that part missing (NaN features), is recorded as degraded by the deadline, and says
 *   `unavailable` in the result.
 * - Consent: only a profile that grants `personalization` contributes (interests, demographics,
 *   engagement). Without a profile, or without that consent, the user group holds only what the
 *   request itself carries (geo, listed interests), as before profiles existed. The
 *   engagement is read after the profile, and only for a consenting user.
 * - Age: profiles keep an age range (no birth dates); the feature is the range's midpoint
 *   (65+ → 70).
 */
import type { UserInput } from '../core/features/input.js';
import type { Features } from '../ports/feature-store.js';
import type { AgeRange, UserProfile } from '../ports/profile-store.js';

/** What was found for the user (closed enums; shown in the explain output). */
export type ProfilePart = 'found' | 'absent' | 'no_consent' | 'unavailable';
export type EngagementPart = 'found' | 'absent' | 'not_read' | 'unavailable';

export interface UserFeatures {
  /** The profile-derived part of the user group; undefined when nothing may be used. */
  input: UserInput | undefined;
  profile: ProfilePart;
  engagement: EngagementPart;
}

export interface UserFeatureReaderDeps {
  /** The profile through the tiered cache (`TieredCache<UserProfile>.get`). */
  profile: (userKey: string, nowMs: number) => Promise<UserProfile | null>;
  /** The user's engagement features (`FeatureStore.get('user', key)`); null: no store. */
  engagement: ((userKey: string) => Promise<Features | null>) | null;
}

/** Runs one read within the decision's deadline (`DecisionDeadline.cut('profile', …)`). */
export type CutRead = <T>(call: () => Promise<T>) => Promise<T>;

const AGE_MIDPOINT: Record<AgeRange, number> = {
  '13-17': 15,
  '18-24': 21,
  '25-34': 29.5,
  '35-44': 39.5,
  '45-54': 49.5,
  '55-64': 59.5,
  '65+': 70,
};

/** The profile (with personalization consent) and engagement as the feature pipeline's input. */
export function userInputOf(profile: UserProfile, engagement: Features | null): UserInput {
  const d = profile.demographics;
  const input: UserInput = { interests: { ...profile.interests } };
  if (d.age_range !== undefined) input.age = AGE_MIDPOINT[d.age_range];
  if (d.gender !== undefined) input.gender = d.gender;
  if (d.country !== undefined) input.country = d.country;
  if (d.region !== undefined) input.region = d.region;
  if (engagement !== null) {
    if (engagement.ctr_7d !== undefined) input.ctr7d = engagement.ctr_7d;
    if (engagement.clicks_7d !== undefined) input.clicks7d = engagement.clicks_7d;
  }
  return input;
}

export class UserFeatureReader {
  constructor(private readonly deps: UserFeatureReaderDeps) {}

  /** Never rejects (see the header). */
  async read(userKey: string, nowMs: number, cut?: CutRead): Promise<UserFeatures> {
    const run: CutRead = cut ?? ((call) => call());
    let profile: UserProfile | null;
    try {
      profile = await run(() => this.deps.profile(userKey, nowMs));
    } catch {
      return { input: undefined, profile: 'unavailable', engagement: 'not_read' };
    }
    if (profile === null) return { input: undefined, profile: 'absent', engagement: 'not_read' };
    if (!profile.consent.personalization)
      return { input: undefined, profile: 'no_consent', engagement: 'not_read' };
    // After the profile: only a consenting user's engagement is read at all.
    const read = this.deps.engagement;
    if (read === null)
      return { input: userInputOf(profile, null), profile: 'found', engagement: 'not_read' };
    try {
      const engagement = await run(() => read(userKey));
      return {
        input: userInputOf(profile, engagement),
        profile: 'found',
        engagement: engagement === null ? 'absent' : 'found',
      };
    } catch {
      return { input: userInputOf(profile, null), profile: 'found', engagement: 'unavailable' };
    }
  }
}
