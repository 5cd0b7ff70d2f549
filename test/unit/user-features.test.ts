/**
 * UserFeatureReader: the decision's user feature group from the profile (consent honoured) and
 * the 7-day engagement; a failed, slow or missing read never fails — it leaves the part missing
 * and, with a deadline, is recorded as a degraded `profile` stage.
 */
import { describe, expect, it } from 'vitest';
import { DecisionDeadline } from '../../src/exchange/resilient/deadline.js';
import { UserFeatureReader, userInputOf } from '../../src/exchange/user-features.js';
import type { UserProfile } from '../../src/ports/profile-store.js';
import { FakeClock } from '../helpers/fake-clock.js';

const KEY = 'a'.repeat(32);
const profile = (personalization: boolean): UserProfile => ({
  user_key: KEY,
  demographics: { age_range: '35-44', gender: 'female', country: 'DE', region: 'DE-BE' },
  interests: { travel: 0.7, food: 0.1 },
  consent: { personalization, measurement: true, tcf: null },
  version: 1,
  updated_at: '2026-06-01T12:00:00.000Z',
});

describe('UserFeatureReader', () => {
  it('maps a consenting profile and its engagement to the user group', async () => {
    const r = new UserFeatureReader({
      profile: async () => profile(true),
      engagement: async () => ({ impressions_7d: 10, clicks_7d: 2, ctr_7d: 0.2 }),
    });
    expect(await r.read(KEY, 0)).toEqual({
      input: {
        age: 39.5,
        gender: 'female',
        country: 'DE',
        region: 'DE-BE',
        interests: { travel: 0.7, food: 0.1 },
        ctr7d: 0.2,
        clicks7d: 2,
      },
      profile: 'found',
      engagement: 'found',
    });
  });

  it('uses nothing of a profile without personalization consent, and does not read engagement', async () => {
    let engagementReads = 0;
    const r = new UserFeatureReader({
      profile: async () => profile(false),
      engagement: async () => {
        engagementReads++;
        return { ctr_7d: 0.2 };
      },
    });
    expect(await r.read(KEY, 0)).toEqual({
      input: undefined,
      profile: 'no_consent',
      engagement: 'not_read',
    });
    expect(engagementReads).toBe(0);
  });

  it('a failing profile or engagement read leaves that part missing', async () => {
    const down = new UserFeatureReader({
      profile: () => Promise.reject(new Error('postgres down')),
      engagement: async () => ({ ctr_7d: 0.2 }),
    });
    expect(await down.read(KEY, 0)).toEqual({
      input: undefined,
      profile: 'unavailable',
      engagement: 'not_read',
    });
    const noEngagement = new UserFeatureReader({
      profile: async () => profile(true),
      engagement: () => Promise.reject(new Error('redis down')),
    });
    expect(await noEngagement.read(KEY, 0)).toEqual({
      input: userInputOf(profile(true), null),
      profile: 'found',
      engagement: 'unavailable',
    });
  });

  it('a read that outlives the profile stage budget is cut and recorded as degraded', async () => {
    const clock = new FakeClock();
    const deadline = new DecisionDeadline(clock, 100, 0, { profile: 5 });
    const r = new UserFeatureReader({
      profile: () => new Promise<UserProfile | null>(() => undefined), // never answers
      engagement: null,
    });
    const got = await r.read(KEY, 0, (call) => deadline.cut('profile', call));
    expect(got.profile).toBe('unavailable');
    expect(deadline.degraded).toEqual([{ stage: 'profile', reason: 'deadline' }]);
  });
});
