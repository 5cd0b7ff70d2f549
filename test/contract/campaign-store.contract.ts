/**
 * The CampaignStore contract: every adapter runs this same suite (PGlite and PostgreSQL today).
 * See the guarantees in src/ports/campaign-store.ts.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { NewEntity } from '../../src/core/domain/entities.js';
import type { CampaignStore } from '../../src/ports/campaign-store.js';

export interface StoreHarness {
  store: CampaignStore;
  close(): Promise<void>;
}

const adv = (name: string): NewEntity<'advertisers'> => ({ name, domain: null, status: 'active' });

const campaign = (
  advertiser_id: string,
  over: Partial<NewEntity<'campaigns'>> = {},
): NewEntity<'campaigns'> => ({
  advertiser_id,
  name: 'c',
  status: 'active',
  start_at: null,
  end_at: null,
  time_zone: 'Europe/Berlin',
  daily_budget_micros: 10_000_000,
  lifetime_budget_micros: 9_000_000_000_000, // > 2^32: must survive bigint round trips exactly
  pacing: 'even',
  pricing_model: 'cpc',
  bid_micros: 1_234_567,
  targeting: { countries: ['DE'], dayparts: [{ days: [1, 2], start_hour: 8, end_hour: 20 }] },
  frequency_cap: { max_impressions: 3, period_seconds: 3600 },
  ...over,
});

export function campaignStoreContract(adapter: string, open: () => Promise<StoreHarness>): void {
  describe(`CampaignStore contract: ${adapter}`, () => {
    let h: StoreHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    it('creates with a server-assigned id and timestamps, and reads back every field exactly', async () => {
      const a = await h.store.create('advertisers', adv('Acme'));
      expect(a.id).toMatch(/^adv_[A-Za-z0-9_-]{12}$/);
      expect(Date.parse(a.created_at)).not.toBeNaN();
      const input = campaign(a.id);
      const c = await h.store.create('campaigns', input);
      expect(c.id).toMatch(/^cmp_/);
      expect(c).toMatchObject(input);
      expect(await h.store.get('campaigns', c.id)).toEqual(c);
    });

    it('keeps a caller-chosen id and refuses a duplicate with ADS_ERR_CONFLICT', async () => {
      await h.store.create('advertisers', { ...adv('Fixed'), id: 'adv_fixed' });
      await expect(
        h.store.create('advertisers', { ...adv('Again'), id: 'adv_fixed' }),
      ).rejects.toMatchObject({
        code: 'ADS_ERR_CONFLICT',
      });
    });

    it('refuses a reference to an unknown advertiser with ADS_ERR_VALIDATION', async () => {
      await expect(h.store.create('campaigns', campaign('adv_missing'))).rejects.toMatchObject({
        code: 'ADS_ERR_VALIDATION',
      });
    });

    it('returns null for unknown ids on get and update', async () => {
      expect(await h.store.get('placements', 'plc_nope')).toBeNull();
      expect(await h.store.update('placements', 'plc_nope', { name: 'x' })).toBeNull();
    });

    it('updates only the patched fields and moves updated_at forward', async () => {
      const a = await h.store.create('advertisers', adv('Patch'));
      const c = await h.store.create('campaigns', campaign(a.id));
      const u = await h.store.update('campaigns', c.id, {
        bid_micros: 2_000_000,
        targeting: { os: ['ios'] },
      });
      expect(u).not.toBeNull();
      expect(u?.bid_micros).toBe(2_000_000);
      expect(u?.targeting).toEqual({ os: ['ios'] });
      expect(u?.name).toBe(c.name);
      expect(u?.lifetime_budget_micros).toBe(9_000_000_000_000);
      expect(Date.parse(u?.updated_at ?? '')).toBeGreaterThanOrEqual(Date.parse(c.updated_at));
      const cleared = await h.store.update('campaigns', c.id, {
        frequency_cap: null,
        end_at: null,
      });
      expect(cleared?.frequency_cap).toBeNull();
    });

    it('stores every pacing mode, frontloaded included', async () => {
      const a = await h.store.create('advertisers', adv('Pacing'));
      const c = await h.store.create('campaigns', campaign(a.id, { pacing: 'frontloaded' }));
      expect((await h.store.get('campaigns', c.id))?.pacing).toBe('frontloaded');
      const u = await h.store.update('campaigns', c.id, { pacing: 'asap' });
      expect(u?.pacing).toBe('asap');
    });

    it('lists by owner in id order with keyset pagination, hiding archived unless asked', async () => {
      const a = await h.store.create('advertisers', adv('Lister'));
      const other = await h.store.create('advertisers', adv('Other'));
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await h.store.create('campaigns', campaign(a.id, { name: `c${i}` }))).id);
      await h.store.create('campaigns', campaign(other.id));
      ids.sort();
      const page1 = await h.store.list('campaigns', { advertiser_id: a.id, limit: 3 });
      expect(page1.map((c) => c.id)).toEqual(ids.slice(0, 3));
      const page2 = await h.store.list('campaigns', {
        advertiser_id: a.id,
        limit: 3,
        after: page1[2]?.id,
      });
      expect(page2.map((c) => c.id)).toEqual(ids.slice(3));
      await h.store.update('campaigns', ids[0] ?? '', { status: 'archived' });
      expect((await h.store.list('campaigns', { advertiser_id: a.id, limit: 10 })).length).toBe(4);
      expect(
        (
          await h.store.list('campaigns', {
            advertiser_id: a.id,
            limit: 10,
            include_archived: true,
          })
        ).length,
      ).toBe(5);
      const own = await h.store.list('advertisers', { advertiser_id: a.id, limit: 10 });
      expect(own.map((x) => x.id)).toEqual([a.id]);
    });

    it('stores API keys by hash and finds their advertiser', async () => {
      const a = await h.store.create('advertisers', adv('Keyed'));
      await h.store.putApiKey('f'.repeat(64), a.id);
      expect(await h.store.findApiKey('f'.repeat(64))).toEqual({
        advertiser_id: a.id,
        advertiser_status: 'active',
      });
      expect(await h.store.findApiKey('0'.repeat(64))).toBeNull();
      await h.store.update('advertisers', a.id, { status: 'archived' });
      expect(await h.store.findApiKey('f'.repeat(64))).toEqual({
        advertiser_id: a.id,
        advertiser_status: 'archived',
      });
    });

    it('creates an advertiser together with its key, or neither', async () => {
      const a = await h.store.createAdvertiserWithKey(adv('Atomic'), 'a'.repeat(64));
      expect(a.id).toMatch(/^adv_/);
      expect(await h.store.findApiKey('a'.repeat(64))).toEqual({
        advertiser_id: a.id,
        advertiser_status: 'active',
      });
      // The same key hash again violates the key's primary key: the second advertiser must not exist.
      await expect(
        h.store.createAdvertiserWithKey({ ...adv('Twin'), id: 'adv_twin' }, 'a'.repeat(64)),
      ).rejects.toMatchObject({ code: 'ADS_ERR_CONFLICT' });
      expect(await h.store.get('advertisers', 'adv_twin')).toBeNull();
    });

    it('serving snapshot holds only active campaigns of active advertisers, approved creatives, active placements', async () => {
      const live = await h.store.create('advertisers', adv('Live'));
      const paused = await h.store.create('advertisers', { ...adv('Paused'), status: 'paused' });
      const c1 = await h.store.create('campaigns', campaign(live.id));
      const c2 = await h.store.create('campaigns', campaign(live.id, { status: 'paused' }));
      const c3 = await h.store.create('campaigns', campaign(paused.id));
      const creative = {
        advertiser_id: live.id,
        campaign_id: c1.id,
        name: 'x',
        format: 'banner' as const,
        w: 300,
        h: 250,
        markup: '<b>x</b>',
        url: null,
        native: null,
        landing_url: 'https://x.example',
        status: 'active' as const,
      };
      const ok = await h.store.create('creatives', { ...creative, approval: 'approved' });
      const pending = await h.store.create('creatives', { ...creative, approval: 'pending' });
      const pl = await h.store.create('placements', {
        publisher: 'p',
        name: 'n',
        format: 'banner',
        w: 300,
        h: 250,
        floor_cpm_micros: 0,
        status: 'active',
      });
      const plOff = await h.store.create('placements', {
        publisher: 'p',
        name: 'n',
        format: 'banner',
        w: 300,
        h: 250,
        floor_cpm_micros: 0,
        status: 'paused',
      });
      const snap = await h.store.loadServingSnapshot();
      const campaignIds = snap.campaigns.map((c) => c.id);
      expect(campaignIds).toContain(c1.id);
      expect(campaignIds).not.toContain(c2.id);
      expect(campaignIds).not.toContain(c3.id);
      const creativeIds = snap.creatives.map((c) => c.id);
      expect(creativeIds).toContain(ok.id);
      expect(creativeIds).not.toContain(pending.id);
      const placementIds = snap.placements.map((p) => p.id);
      expect(placementIds).toContain(pl.id);
      expect(placementIds).not.toContain(plOff.id);
    });
  });
}
