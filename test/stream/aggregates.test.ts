/**
 * WindowedAggregates over the in-process log with a fake clock: per-ad CTR over the last hour,
 * per-advertiser spend pace and spend today, window expiry, and a failed feature write retried
 * without counting an event twice.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryEventLog } from '../../src/adapters/memory/event-log.js';
import { createMemoryFeatureStore } from '../../src/adapters/memory/feature-store.js';
import { EVENT_SCHEMA_VERSIONS, type AnyEvent } from '../../src/ports/event-log.js';
import type { FeatureStore } from '../../src/ports/feature-store.js';
import { WindowedAggregates } from '../../src/stream/aggregates.js';
import { FakeClock } from '../helpers/fake-clock.js';

const MIN = 60_000;
let n = 0;
function event(
  kind: 'impression' | 'click',
  atMs: number,
  spend: number,
  creative = 'cre_1',
  userKey?: string,
): AnyEvent {
  n++;
  return {
    id: `${kind}:agg-${n}`,
    type: kind,
    v: EVENT_SCHEMA_VERSIONS[kind],
    occurred_at: new Date(atMs).toISOString(),
    data: {
      decision_id: `agg-${n}`,
      advertiser_id: 'adv_1',
      campaign_id: 'cmp_1',
      creative_id: creative,
      placement_id: 'plc_1',
      spend_micros: spend,
      ...(userKey !== undefined ? { user_key: userKey } : {}),
    },
  };
}

const DAY = 24 * 60 * MIN;
const U1 = 'a'.repeat(32);
const U2 = 'b'.repeat(32);

async function setup(
  features: FeatureStore,
  clock: FakeClock,
  isErased?: (userKey: string) => Promise<boolean>,
  log = createMemoryEventLog({ clock }),
) {
  const agg = new WindowedAggregates({
    log,
    features,
    clock,
    fetchWaitMs: 10,
    ...(isErased !== undefined ? { isErased } : {}),
  });
  await agg.open();
  const drain = async () => {
    while ((await agg.runOnce()) > 0);
  };
  return { log, agg, drain };
}

describe('WindowedAggregates', () => {
  it('writes per-ad CTR over the last hour and per-advertiser spend pace', async () => {
    const clock = new FakeClock();
    const features = createMemoryFeatureStore({ clock });
    const { log, agg, drain } = await setup(features, clock);
    const t0 = clock.nowMs();
    for (let i = 0; i < 8; i++) await log.append(event('impression', t0, 2_000));
    await log.append(event('click', t0, 0));
    await log.append(event('impression', t0, 2_000, 'cre_2'));
    // A CPA conversion adds spend, not impressions or clicks.
    await log.append({
      id: 'conversion:agg-cpa',
      type: 'conversion',
      v: EVENT_SCHEMA_VERSIONS.conversion,
      occurred_at: new Date(t0).toISOString(),
      data: {
        decision_id: 'agg-cpa',
        advertiser_id: 'adv_1',
        campaign_id: 'cmp_1',
        creative_id: 'cre_1',
        placement_id: 'plc_1',
        spend_micros: 5_000,
        conversion_id: 'o1',
      },
    });
    await drain();
    expect(await features.get('ad', 'cre_1')).toEqual({
      impressions_1h: 8,
      clicks_1h: 1,
      ctr_1h: 0.125,
    });
    expect(await features.get('ad', 'cre_2')).toMatchObject({ impressions_1h: 1, clicks_1h: 0 });
    expect(await features.get('advertiser', 'adv_1')).toEqual({
      spend_1h_micros: 23_000,
      spend_today_micros: 23_000,
    });

    // 61 minutes later the first events have left the hour window (not the day).
    clock.advance(61 * MIN);
    await log.append(event('impression', clock.nowMs(), 1_000));
    await drain();
    expect(await features.get('ad', 'cre_1')).toEqual({
      impressions_1h: 1,
      clicks_1h: 0,
      ctr_1h: 0,
    });
    expect(await features.get('advertiser', 'adv_1')).toEqual({
      spend_1h_micros: 1_000,
      spend_today_micros: 24_000,
    });
    await agg.stop();
  });

  it('retries a failed feature write without counting events twice', async () => {
    const clock = new FakeClock();
    const inner = createMemoryFeatureStore({ clock });
    let down = true;
    const features: FeatureStore = {
      put: async (...a) => {
        if (down) throw new Error('redis down');
        return inner.put(...a);
      },
      get: (k, i) => inner.get(k, i),
      forgetUser: (u) => inner.forgetUser(u),
    };
    const { log, agg, drain } = await setup(features, clock);
    await log.append(event('impression', clock.nowMs(), 0, 'cre_r'));
    await log.append(event('click', clock.nowMs(), 0, 'cre_r'));
    await drain();
    expect(agg.stats.writeFailures).toBeGreaterThan(0);
    expect(await inner.get('ad', 'cre_r')).toBeNull();
    down = false;
    await agg.flush();
    expect(await inner.get('ad', 'cre_r')).toEqual({ impressions_1h: 1, clicks_1h: 1, ctr_1h: 1 });
    expect(agg.stats.events).toBe(2);
    await agg.stop();
  });

  it('keeps per-user engagement over 7 days (daily buckets) with a 7-day TTL', async () => {
    const clock = new FakeClock(Date.parse('2026-06-01T12:00:00Z'));
    const features = createMemoryFeatureStore({ clock });
    const { log, agg, drain } = await setup(features, clock);
    const t0 = clock.nowMs();
    for (let i = 0; i < 4; i++) await log.append(event('impression', t0, 0, 'cre_1', U1));
    await log.append(event('click', t0, 0, 'cre_1', U1));
    await log.append(event('impression', t0, 0, 'cre_1')); // no user key: ad only
    await drain();
    expect(await features.get('user', U1)).toMatchObject({
      impressions_7d: 4,
      clicks_7d: 1,
      ctr_7d: 0.25,
    });
    expect(await features.get('user', U2)).toBeNull();
    expect(await features.get('ad', 'cre_1')).toMatchObject({ impressions_1h: 5 });

    // Three days later: both days count.
    clock.advance(3 * DAY);
    await log.append(event('impression', clock.nowMs(), 0, 'cre_1', U1));
    await drain();
    expect(await features.get('user', U1)).toMatchObject({ impressions_7d: 5, clicks_7d: 1 });
    // Seven days after the first events they have left the window; the later one has not.
    clock.advance(4 * DAY + 1);
    await log.append(event('impression', clock.nowMs(), 0, 'cre_1', U1));
    await drain();
    expect(await features.get('user', U1)).toMatchObject({
      impressions_7d: 2,
      clicks_7d: 0,
      ctr_7d: 0,
    });
    // The entity lives 7 days after its last write, then the store forgets it.
    clock.advance(7 * DAY + 1);
    expect(await features.get('user', U1)).toBeNull();
    await agg.stop();
  });

  it('a restarted consumer seeds the week from the stored daily buckets', async () => {
    const clock = new FakeClock(Date.parse('2026-06-01T12:00:00Z'));
    const features = createMemoryFeatureStore({ clock });
    const log = createMemoryEventLog({ clock });
    const first = await setup(features, clock, undefined, log);
    await log.append(event('impression', clock.nowMs(), 0, 'cre_1', U1));
    await log.append(event('click', clock.nowMs(), 0, 'cre_1', U1));
    await first.drain();
    await first.agg.stop();
    clock.advance(2 * DAY);
    const second = await setup(features, clock, undefined, log); // new events only
    await log.append(event('impression', clock.nowMs(), 0, 'cre_1', U1));
    await second.drain();
    expect(await features.get('user', U1)).toMatchObject({
      impressions_7d: 2,
      clicks_7d: 1,
      ctr_7d: 0.5,
    });
    await second.agg.stop();
  });

  it('never counts an erased user, and a gdpr_erasure event drops the window', async () => {
    const clock = new FakeClock();
    const features = createMemoryFeatureStore({ clock });
    const tombstones = new Set<string>([U2]);
    let tombstonesDown = false;
    const { log, agg, drain } = await setup(features, clock, async (k) => {
      if (tombstonesDown) throw new Error('postgres down');
      return tombstones.has(k);
    });
    await log.append(event('impression', clock.nowMs(), 0, 'cre_1', U1));
    await log.append(event('impression', clock.nowMs(), 0, 'cre_1', U2));
    await drain();
    expect(await features.get('user', U1)).toMatchObject({ impressions_7d: 1 });
    expect(await features.get('user', U2)).toBeNull();
    expect(await features.get('ad', 'cre_1')).toMatchObject({ impressions_1h: 2 });

    // U1 is erased: the erasure deletes the stored features, another process publishes the
    // invalidation; this consumer drops its window, and U1's later events never come back.
    tombstones.add(U1);
    await features.forgetUser(U1);
    await log.append({
      id: 'invalidation:profile:u1',
      type: 'invalidation',
      v: 1,
      occurred_at: new Date(clock.nowMs()).toISOString(),
      data: { namespace: 'profile', key: U1, reason: 'gdpr_erasure' },
    });
    await log.append(event('impression', clock.nowMs(), 0, 'cre_1', U1));
    await drain();
    expect(await features.get('user', U1)).toBeNull();
    // Even when the tombstones cannot be read any more, this process remembers the erasure.
    tombstonesDown = true;
    await log.append(event('click', clock.nowMs(), 0, 'cre_1', U1));
    await log.append(event('click', clock.nowMs(), 0, 'cre_1', 'c'.repeat(32)));
    await drain();
    expect(await features.get('user', U1)).toBeNull();
    // An unknown erasure state skips the user part (privacy first), not the ad part.
    expect(await features.get('user', 'c'.repeat(32))).toBeNull();
    expect(agg.stats.userSkipped).toBe(1);
    expect(await features.get('ad', 'cre_1')).toMatchObject({ impressions_1h: 3, clicks_1h: 2 });
    await agg.stop();
  });

  it('keeps at most maxUserWindows windows in memory and re-seeds a dropped one from the store', async () => {
    const clock = new FakeClock();
    const features = createMemoryFeatureStore({ clock });
    const log = createMemoryEventLog({ clock });
    let reads = 0;
    const counting: FeatureStore = {
      put: (...a) => features.put(...a),
      get: (k, i) => {
        if (k === 'user') reads++;
        return features.get(k, i);
      },
      forgetUser: (u) => features.forgetUser(u),
    };
    const agg = new WindowedAggregates({
      log,
      features: counting,
      clock,
      fetchWaitMs: 10,
      maxUserWindows: 2,
    });
    await agg.open();
    const drain = async () => {
      while ((await agg.runOnce()) > 0);
    };
    const users = ['1', '2', '3', '4'].map((d) => d.repeat(32));
    for (const u of users) await log.append(event('impression', clock.nowMs(), 0, 'cre_1', u));
    await drain();
    expect(reads).toBe(4); // first sight of each user
    // The first user's window was dropped from memory; its next event re-reads the store
    // and continues from the stored count.
    await log.append(event('click', clock.nowMs(), 0, 'cre_1', users[0]));
    await drain();
    expect(reads).toBe(5);
    expect(await features.get('user', users[0]!)).toMatchObject({
      impressions_7d: 1,
      clicks_7d: 1,
    });
    await agg.stop();
  });
});
