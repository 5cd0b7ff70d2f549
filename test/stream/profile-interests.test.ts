/**
 * ProfileInterests (src/stream/profile-interests.ts) on hand-fed deliveries: the rule (step per
 * targeted interest, at most 5), who is skipped (no key, no category, no profile, no consent,
 * erased), a failed update left for redelivery, and a redelivered event applied once per process.
 * The end-to-end path through the runtime is test/http/profile-interest-events.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type {
  Delivery,
  EventConsumer,
  EventEnvelope,
  EventLog,
} from '../../src/ports/event-log.js';
import type { InterestUpdateResult, UserProfile } from '../../src/ports/profile-store.js';
import {
  INTEREST_CLICK_STEP,
  MAX_CATEGORIES_PER_CLICK,
  ProfileInterests,
} from '../../src/stream/profile-interests.js';

const KEY = 'a'.repeat(32);
const NO_CONSENT_KEY = 'b'.repeat(32);
const ERASED_KEY = 'c'.repeat(32);

const profile = (key: string, personalization: boolean): UserProfile => ({
  user_key: key,
  demographics: {},
  interests: {},
  consent: { personalization, measurement: true },
  version: 1,
  updated_at: '2026-01-01T00:00:00.000Z',
});

const click = (id: string, campaign: string, userKey?: string): EventEnvelope<'click'> => ({
  id,
  type: 'click',
  v: 2,
  occurred_at: '2026-01-01T00:00:00.000Z',
  data: {
    decision_id: id,
    advertiser_id: 'adv',
    campaign_id: campaign,
    creative_id: 'cr',
    placement_id: 'pl',
    spend_micros: 0,
    ...(userKey === undefined ? {} : { user_key: userKey }),
  },
});

interface Fed {
  delivery: Delivery;
  acked: () => boolean;
  naked: () => boolean;
}

function feed(event: EventEnvelope<'click'>): Fed {
  let acked = false;
  let naked = false;
  return {
    delivery: {
      event,
      seq: 1,
      deliveryCount: 1,
      ack: async () => void (acked = true),
      nak: () => void (naked = true),
    },
    acked: () => acked,
    naked: () => naked,
  };
}

const consumerOf = (batch: Delivery[]): EventConsumer => ({
  name: 'test',
  fetch: async () => batch,
  lag: async () => 0,
  close: async () => undefined,
});

function setup(fail = false) {
  const applied: { key: string; deltas: Record<string, number> }[] = [];
  const profiles = new Map([
    [KEY, profile(KEY, true)],
    [NO_CONSENT_KEY, profile(NO_CONSENT_KEY, false)],
    [ERASED_KEY, profile(ERASED_KEY, true)],
  ]);
  const categories: Record<string, string[]> = {
    cmp_two: ['running', 'fitness'],
    cmp_many: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
    cmp_none: [],
  };
  const consumer = new ProfileInterests({
    log: {} as EventLog, // runOnce is given its consumer; the log is never opened here
    getProfile: async (key) => profiles.get(key) ?? null,
    apply: async (key, deltas): Promise<InterestUpdateResult> => {
      if (fail) throw new Error('store down');
      if (key === ERASED_KEY) return { applied: false, reason: 'erased' };
      applied.push({ key, deltas: { ...deltas } });
      return { applied: true, profile: profile(key, true) };
    },
    categoriesOf: (id) => categories[id] ?? [],
  });
  return { applied, consumer };
}

describe('ProfileInterests', () => {
  it('raises each targeted interest by the step, at most 5 per click', async () => {
    const { applied, consumer } = setup();
    const a = feed(click('click:1', 'cmp_two', KEY));
    const b = feed(click('click:2', 'cmp_many', KEY));
    await consumer.runOnce(consumerOf([a.delivery, b.delivery]));
    expect(applied).toEqual([
      { key: KEY, deltas: { running: INTEREST_CLICK_STEP, fitness: INTEREST_CLICK_STEP } },
      {
        key: KEY,
        deltas: Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((c) => [c, INTEREST_CLICK_STEP])),
      },
    ]);
    expect(MAX_CATEGORIES_PER_CLICK).toBe(5);
    expect(a.acked() && b.acked()).toBe(true);
    expect(consumer.stats.applied).toBe(2);
  });

  it('skips clicks without key, category, profile or consent, and erased users; acks them', async () => {
    const { applied, consumer } = setup();
    const fed = [
      feed(click('click:k', 'cmp_two')),
      feed(click('click:c', 'cmp_none', KEY)),
      feed(click('click:u', 'cmp_unknown', KEY)),
      feed(click('click:p', 'cmp_two', 'd'.repeat(32))),
      feed(click('click:n', 'cmp_two', NO_CONSENT_KEY)),
      feed(click('click:e', 'cmp_two', ERASED_KEY)),
    ];
    await consumer.runOnce(consumerOf(fed.map((f) => f.delivery)));
    expect(applied).toEqual([]);
    expect(fed.every((f) => f.acked())).toBe(true);
    expect(consumer.stats).toMatchObject({
      clicks: 6,
      applied: 0,
      noUserKey: 1,
      noCategory: 2,
      noProfile: 1,
      noConsent: 1,
      erased: 1,
    });
  });

  it('leaves a failed update unacked (nak) for redelivery', async () => {
    const { consumer } = setup(true);
    const f = feed(click('click:f', 'cmp_two', KEY));
    await consumer.runOnce(consumerOf([f.delivery]));
    expect(f.acked()).toBe(false);
    expect(f.naked()).toBe(true);
    expect(consumer.stats.failures).toBe(1);
  });

  it('applies a redelivered event id once in this process', async () => {
    const { applied, consumer } = setup();
    await consumer.runOnce(consumerOf([feed(click('click:r', 'cmp_two', KEY)).delivery]));
    const again = feed(click('click:r', 'cmp_two', KEY));
    await consumer.runOnce(consumerOf([again.delivery]));
    expect(applied).toHaveLength(1);
    expect(again.acked()).toBe(true);
    expect(consumer.stats.duplicates).toBe(1);
  });
});
