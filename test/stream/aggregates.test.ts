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
    },
  };
}

async function setup(features: FeatureStore, clock: FakeClock) {
  const log = createMemoryEventLog({ clock });
  const agg = new WindowedAggregates({ log, features, clock, fetchWaitMs: 10 });
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
    await drain();
    expect(await features.get('ad', 'cre_1')).toEqual({
      impressions_1h: 8,
      clicks_1h: 1,
      ctr_1h: 0.125,
    });
    expect(await features.get('ad', 'cre_2')).toMatchObject({ impressions_1h: 1, clicks_1h: 0 });
    expect(await features.get('advertiser', 'adv_1')).toEqual({
      spend_1h_micros: 18_000,
      spend_today_micros: 18_000,
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
      spend_today_micros: 19_000,
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
});
