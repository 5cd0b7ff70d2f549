/**
 * The demo data set loaded by `npm start` / `adstack seed --demo`: two advertisers, four
 * placements (banner, leaderboard, video, native) and campaigns across CPM, CPC and CPA.
 * Ids are fixed so seeding is idempotent and the README's curl line always works.
 */
import type { NewEntity } from '../core/domain/entities.js';
import { AdsError } from '../core/errors.js';
import type { CampaignStore } from '../ports/campaign-store.js';
import { hashKey } from '../server/plugins/auth.js';

export const DEMO_ADVERTISER_KEY = 'demo-advertiser-key-stride';

export const DEMO_REQUEST = {
  placement_id: 'plc_demo_banner',
  user: { id: 'demo-user-1' },
  device: { type: 'mobile', os: 'ios' },
  geo: { country: 'US', region: 'US-CA' },
  site: { domain: 'news.example', page: 'https://news.example/sports/marathon' },
  keywords: ['running'],
} as const;

const banner = (title: string, color: string) =>
  `<div style="width:300px;height:250px;background:${color};color:#fff;font:bold 22px sans-serif;display:flex;align-items:center;justify-content:center">${title}</div>`;

const advertisers: NewEntity<'advertisers'>[] = [
  { id: 'adv_demo_stride', name: 'Stride Running Co', domain: 'stride.example', status: 'active' },
  { id: 'adv_demo_wander', name: 'Wander Travel', domain: 'wander.example', status: 'active' },
];

const placements: NewEntity<'placements'>[] = [
  {
    id: 'plc_demo_banner',
    publisher: 'news.example',
    name: 'Article MPU 300x250',
    format: 'banner',
    w: 300,
    h: 250,
    floor_cpm_micros: 500_000,
    status: 'active',
    // The demo's simulated DSPs (npm start) compete here in POST /v1/decisions too.
    rtb_enabled: true,
  },
  {
    id: 'plc_demo_leaderboard',
    publisher: 'news.example',
    name: 'Top leaderboard 728x90',
    format: 'banner',
    w: 728,
    h: 90,
    floor_cpm_micros: 300_000,
    status: 'active',
  },
  {
    id: 'plc_demo_video',
    publisher: 'tv.example',
    name: 'Pre-roll',
    format: 'video',
    w: 640,
    h: 360,
    floor_cpm_micros: 4_000_000,
    status: 'active',
  },
  {
    id: 'plc_demo_native',
    publisher: 'feed.example',
    name: 'In-feed native',
    format: 'native',
    w: null,
    h: null,
    floor_cpm_micros: 200_000,
    status: 'active',
  },
];

const base = {
  status: 'active' as const,
  start_at: null,
  end_at: null,
  time_zone: 'UTC',
  pacing: 'even' as const,
  frequency_cap: null,
};

const campaigns: NewEntity<'campaigns'>[] = [
  {
    ...base,
    id: 'cmp_demo_stride_runners',
    advertiser_id: 'adv_demo_stride',
    name: 'Runners, US and GB',
    time_zone: 'America/New_York',
    daily_budget_micros: 50_000_000,
    lifetime_budget_micros: 1_000_000_000,
    pricing_model: 'cpm',
    bid_micros: 5_000_000,
    targeting: { countries: ['US', 'GB'], interests: ['running', 'fitness'] },
    frequency_cap: { max_impressions: 5, period_seconds: 86_400 },
  },
  {
    ...base,
    id: 'cmp_demo_wander_clicks',
    advertiser_id: 'adv_demo_wander',
    name: 'City breaks, pay per click',
    daily_budget_micros: 20_000_000,
    lifetime_budget_micros: null,
    pricing_model: 'cpc',
    bid_micros: 400_000,
    targeting: {},
  },
  {
    ...base,
    id: 'cmp_demo_wander_video',
    advertiser_id: 'adv_demo_wander',
    name: 'Pre-roll, CPM',
    daily_budget_micros: 100_000_000,
    lifetime_budget_micros: null,
    pricing_model: 'cpm',
    bid_micros: 9_000_000,
    targeting: { device_types: ['desktop', 'ctv', 'mobile', 'tablet'] },
  },
  {
    ...base,
    id: 'cmp_demo_stride_signups',
    advertiser_id: 'adv_demo_stride',
    name: 'Club sign-ups, pay per action',
    daily_budget_micros: 30_000_000,
    lifetime_budget_micros: null,
    pricing_model: 'cpa',
    bid_micros: 12_000_000,
    targeting: {},
  },
];

const c = {
  status: 'active' as const,
  approval: 'approved' as const,
  native: null,
  markup: null,
  url: null,
};
const creatives: NewEntity<'creatives'>[] = [
  {
    ...c,
    id: 'cre_demo_stride_mpu',
    advertiser_id: 'adv_demo_stride',
    campaign_id: 'cmp_demo_stride_runners',
    name: 'Spring shoes MPU',
    format: 'banner',
    w: 300,
    h: 250,
    markup: banner('Stride: run lighter', '#0a7'),
    landing_url: 'https://stride.example/spring',
  },
  {
    ...c,
    id: 'cre_demo_wander_mpu',
    advertiser_id: 'adv_demo_wander',
    campaign_id: 'cmp_demo_wander_clicks',
    name: 'Lisbon MPU',
    format: 'banner',
    w: 300,
    h: 250,
    markup: banner('Lisbon from $99', '#c50'),
    landing_url: 'https://wander.example/lisbon',
  },
  {
    ...c,
    id: 'cre_demo_wander_lb',
    advertiser_id: 'adv_demo_wander',
    campaign_id: 'cmp_demo_wander_clicks',
    name: 'Lisbon leaderboard',
    format: 'banner',
    w: 728,
    h: 90,
    url: 'https://cdn.wander.example/lisbon-728x90.png',
    landing_url: 'https://wander.example/lisbon',
  },
  {
    ...c,
    id: 'cre_demo_wander_vast',
    advertiser_id: 'adv_demo_wander',
    campaign_id: 'cmp_demo_wander_video',
    name: 'Lisbon 15s',
    format: 'video',
    w: 640,
    h: 360,
    url: 'https://cdn.wander.example/vast/lisbon-15s.xml',
    landing_url: 'https://wander.example/lisbon',
  },
  {
    ...c,
    id: 'cre_demo_stride_native',
    advertiser_id: 'adv_demo_stride',
    campaign_id: 'cmp_demo_stride_signups',
    name: 'Club native',
    format: 'native',
    w: null,
    h: null,
    native: {
      title: 'Join the Stride run club',
      description: 'Free weekly group runs',
      cta: 'Sign up',
      image_url: 'https://cdn.stride.example/club.jpg',
    },
    landing_url: 'https://stride.example/club',
  },
];

async function ignoreConflict(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (e) {
    if (e instanceof AdsError && e.code === 'ADS_ERR_CONFLICT') return false;
    if ((e as { code?: unknown }).code === '23505') return false;
    throw e;
  }
}

/** Inserts whatever of the demo set is missing; returns how many objects it created. */
export async function seedDemo(store: CampaignStore): Promise<number> {
  let created = 0;
  for (const a of advertisers)
    created += Number(await ignoreConflict(store.create('advertisers', a)));
  for (const p of placements)
    created += Number(await ignoreConflict(store.create('placements', p)));
  for (const cm of campaigns)
    created += Number(await ignoreConflict(store.create('campaigns', cm)));
  for (const cr of creatives)
    created += Number(await ignoreConflict(store.create('creatives', cr)));
  await ignoreConflict(store.putApiKey(hashKey(DEMO_ADVERTISER_KEY), 'adv_demo_stride'));
  return created;
}
