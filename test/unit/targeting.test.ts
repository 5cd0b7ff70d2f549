import { describe, expect, it } from 'vitest';
import type { Campaign, Placement } from '../../src/core/domain/entities.js';
import { localDayHour, matchCampaign } from '../../src/core/filters/targeting.js';

const placement: Placement = {
  id: 'plc_1',
  publisher: 'p',
  name: 'n',
  format: 'banner',
  w: 300,
  h: 250,
  floor_cpm_micros: 0,
  status: 'active',
  created_at: '',
  updated_at: '',
};
const base: Campaign = {
  id: 'cmp_1',
  advertiser_id: 'adv_1',
  name: 'c',
  status: 'active',
  start_at: null,
  end_at: null,
  time_zone: 'UTC',
  daily_budget_micros: null,
  lifetime_budget_micros: null,
  pacing: 'even',
  pricing_model: 'cpm',
  bid_micros: 1,
  targeting: {},
  frequency_cap: null,
  created_at: '',
  updated_at: '',
};
const NOW = Date.parse('2026-06-03T12:00:00Z'); // a Wednesday

describe('targeting', () => {
  it('passes an untargeted campaign for any request', () => {
    expect(matchCampaign(base, { placement_id: 'plc_1' }, placement, NOW)).toEqual({ pass: true });
  });

  it.each([
    [{ status: 'paused' as const }, 'campaign_not_active'],
    [{ start_at: '2026-06-04T00:00:00Z' }, 'flight_not_started'],
    [{ end_at: '2026-06-03T12:00:00Z' }, 'flight_ended'],
    [{ targeting: { placement_ids: ['plc_2'] } }, 'placement_not_targeted'],
    [{ targeting: { countries: ['DE'] } }, 'country_not_targeted'],
    [{ targeting: { regions: ['US-NY'] } }, 'region_not_targeted'],
    [{ targeting: { device_types: ['desktop' as const] } }, 'device_not_targeted'],
    [{ targeting: { os: ['android'] } }, 'os_not_targeted'],
    [{ targeting: { interests: ['golf'] } }, 'interest_not_targeted'],
    [{ targeting: { dayparts: [{ days: [3], start_hour: 13, end_hour: 24 }] } }, 'outside_daypart'],
  ])('rejects %j with %s', (over, reason) => {
    const req = {
      placement_id: 'plc_1',
      geo: { country: 'us', region: 'us-ca' },
      device: { type: 'mobile' as const, os: 'iOS' },
      keywords: ['running'],
    };
    expect(matchCampaign({ ...base, ...over }, req, placement, NOW)).toEqual({
      pass: false,
      reason,
    });
  });

  it('matches case-insensitively and on interests from keywords or the user', () => {
    const c = { ...base, targeting: { countries: ['US'], os: ['ios'], interests: ['Running'] } };
    expect(
      matchCampaign(
        c,
        {
          placement_id: 'plc_1',
          geo: { country: 'us' },
          device: { os: 'IOS' },
          keywords: ['running'],
        },
        placement,
        NOW,
      ).pass,
    ).toBe(true);
    expect(
      matchCampaign(
        c,
        {
          placement_id: 'plc_1',
          geo: { country: 'US' },
          device: { os: 'ios' },
          user: { interests: ['RUNNING'] },
        },
        placement,
        NOW,
      ).pass,
    ).toBe(true);
  });

  it('does not spend targeted budget on requests that lack the targeted field', () => {
    const c = { ...base, targeting: { countries: ['US'] } };
    expect(matchCampaign(c, { placement_id: 'plc_1' }, placement, NOW)).toEqual({
      pass: false,
      reason: 'country_not_targeted',
    });
  });

  it('computes local day and hour across time zones and DST', () => {
    expect(localDayHour(NOW, 'UTC')).toEqual({ day: 3, hour: 12 });
    expect(localDayHour(NOW, 'Asia/Tokyo')).toEqual({ day: 3, hour: 21 });
    expect(localDayHour(NOW, 'America/Los_Angeles')).toEqual({ day: 3, hour: 5 }); // PDT, UTC-7
    expect(localDayHour(Date.parse('2026-01-07T12:00:00Z'), 'America/Los_Angeles')).toEqual({
      day: 3,
      hour: 4,
    }); // PST
    expect(localDayHour(Date.parse('2026-06-06T23:30:00Z'), 'Europe/Berlin')).toEqual({
      day: 0,
      hour: 1,
    }); // Sunday
  });
});
