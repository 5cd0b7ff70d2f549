/**
 * Two tenants, every route that takes an id: an advertiser key sees and changes only its own
 * objects. Another tenant's object answers exactly like a missing one (404), and nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
interface Tenant {
  key: string;
  advertiser: string;
  campaign: string;
  creative: string;
}
let a: Tenant;
let b: Tenant;

type Method = 'GET' | 'POST' | 'PATCH';
const call = (method: Method, url: string, key: string, payload?: object) =>
  rt.app.inject({
    method,
    url,
    headers: { 'x-api-key': key },
    ...(payload !== undefined ? { payload } : {}),
  });

async function tenant(name: string): Promise<Tenant> {
  const adv = (await call('POST', '/v1/admin/advertisers', ADMIN_KEY, { name })).json();
  const cmp = (
    await call('POST', '/v1/admin/campaigns', adv.api_key, {
      name: `${name} c`,
      pricing_model: 'cpm',
      bid_micros: 1_000_000,
    })
  ).json();
  const cre = (
    await call('POST', '/v1/admin/creatives', adv.api_key, {
      campaign_id: cmp.id,
      name: `${name} cr`,
      format: 'banner',
      w: 300,
      h: 250,
      markup: '<i>x</i>',
      landing_url: 'https://t.example',
    })
  ).json();
  expect(cmp.advertiser_id).toBe(adv.id);
  expect(cre.advertiser_id).toBe(adv.id);
  return { key: adv.api_key, advertiser: adv.id, campaign: cmp.id, creative: cre.id };
}

beforeAll(async () => {
  rt = await startTestRuntime();
  a = await tenant('Tenant A');
  b = await tenant('Tenant B');
});
afterAll(async () => {
  await rt.close();
});

/** Every route with an :id, and a harmless valid body for it. */
const routes = (t: Tenant): [Method, string, object | undefined][] => [
  ['GET', `/v1/admin/advertisers/${t.advertiser}`, undefined],
  ['PATCH', `/v1/admin/advertisers/${t.advertiser}`, { name: 'hijacked' }],
  ['POST', `/v1/admin/advertisers/${t.advertiser}/archive`, undefined],
  ['GET', `/v1/admin/campaigns/${t.campaign}`, undefined],
  ['PATCH', `/v1/admin/campaigns/${t.campaign}`, { name: 'hijacked' }],
  ['POST', `/v1/admin/campaigns/${t.campaign}/archive`, undefined],
  ['GET', `/v1/admin/creatives/${t.creative}`, undefined],
  ['PATCH', `/v1/admin/creatives/${t.creative}`, { name: 'hijacked' }],
  ['POST', `/v1/admin/creatives/${t.creative}/archive`, undefined],
  ['POST', `/v1/admin/creatives/${t.creative}/approval`, { approval: 'approved' }],
];

describe('two tenants', () => {
  it("B cannot read or change any of A's objects: 404 or 403, and A's objects are unchanged", async () => {
    for (const [method, url, body] of routes(a)) {
      const res = await call(method, url, b.key, body);
      expect([403, 404], `${method} ${url}`).toContain(res.statusCode);
      // Admin-only routes say 403 to every advertiser key; all others hide A's object with 404.
      if (res.statusCode === 403) expect(res.json().error.code).toBe('ADS_ERR_FORBIDDEN');
      else expect(res.json().error.code).toBe('ADS_ERR_NOT_FOUND');
    }
    const adv = (await call('GET', `/v1/admin/advertisers/${a.advertiser}`, ADMIN_KEY)).json();
    const cmp = (await call('GET', `/v1/admin/campaigns/${a.campaign}`, ADMIN_KEY)).json();
    const cre = (await call('GET', `/v1/admin/creatives/${a.creative}`, ADMIN_KEY)).json();
    expect([adv.name, adv.status]).toEqual(['Tenant A', 'active']);
    expect([cmp.name, cmp.status]).toEqual(['Tenant A c', 'active']);
    expect([cre.name, cre.status, cre.approval]).toEqual(['Tenant A cr', 'active', 'pending']);
  });

  it('an id of another tenant answers exactly like an id that does not exist', async () => {
    const foreign = await call('GET', `/v1/admin/campaigns/${a.campaign}`, b.key);
    const missing = await call('GET', '/v1/admin/campaigns/cmp_does_not_exist', b.key);
    expect(foreign.statusCode).toBe(missing.statusCode);
    expect(foreign.json()).toEqual(missing.json());
  });

  it('A can read and change its own objects through the same routes (except admin-only ones)', async () => {
    expect((await call('GET', `/v1/admin/campaigns/${a.campaign}`, a.key)).statusCode).toBe(200);
    expect(
      (await call('PATCH', `/v1/admin/campaigns/${a.campaign}`, a.key, { name: 'A2' })).statusCode,
    ).toBe(200);
    expect(
      (await call('PATCH', `/v1/admin/creatives/${a.creative}`, a.key, { name: 'A2 cr' }))
        .statusCode,
    ).toBe(200);
    expect(
      (await call('PATCH', `/v1/admin/advertisers/${a.advertiser}`, a.key, { name: 'A2 inc' }))
        .statusCode,
    ).toBe(200);
    expect(
      (await call('POST', `/v1/admin/advertisers/${a.advertiser}/archive`, a.key)).statusCode,
    ).toBe(403);
    expect(
      (
        await call('POST', `/v1/admin/creatives/${a.creative}/approval`, a.key, {
          approval: 'approved',
        })
      ).statusCode,
    ).toBe(403);
  });

  it('lists show each tenant only its own objects; placements are shared read-only inventory', async () => {
    for (const kind of ['advertisers', 'campaigns', 'creatives']) {
      const items = (await call('GET', `/v1/admin/${kind}?limit=1000`, b.key)).json().items as {
        id: string;
        advertiser_id?: string;
      }[];
      expect(items.length).toBeGreaterThan(0);
      for (const it of items) expect(it.advertiser_id ?? it.id).toBe(b.advertiser);
    }
    expect((await call('GET', '/v1/admin/placements', b.key)).statusCode).toBe(200);
    const write = await call('POST', '/v1/admin/placements', b.key, {
      publisher: 'x',
      name: 'x',
      format: 'native',
    });
    expect(write.statusCode).toBe(403);
  });

  it("B cannot create objects under A: a campaign for A or a creative on A's campaign", async () => {
    const cmp = await call('POST', '/v1/admin/campaigns', b.key, {
      advertiser_id: a.advertiser,
      name: 'x',
      pricing_model: 'cpm',
      bid_micros: 1,
    });
    expect(cmp.statusCode).toBe(400);
    expect(cmp.json().error.message).toMatch(/unknown advertiser/);
    const cre = await call('POST', '/v1/admin/creatives', b.key, {
      campaign_id: a.campaign,
      name: 'x',
      format: 'native',
      native: { title: 't' },
      landing_url: 'https://x.example',
    });
    expect(cre.statusCode).toBe(400);
    expect(cre.json().error.message).toMatch(/unknown campaign/);
    expect((await call('POST', '/v1/admin/advertisers', b.key, { name: 'x' })).statusCode).toBe(
      403,
    );
  });

  it("an archived advertiser's key stops working", async () => {
    const c = await tenant('Tenant C');
    expect((await call('GET', '/v1/admin/campaigns', c.key)).statusCode).toBe(200);
    expect(
      (await call('POST', `/v1/admin/advertisers/${c.advertiser}/archive`, ADMIN_KEY)).statusCode,
    ).toBe(200);
    const res = await call('GET', '/v1/admin/campaigns', c.key);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('ADS_ERR_UNAUTHENTICATED');
  });

  it('an edit by the advertiser sends an approved creative back to review', async () => {
    await call('POST', `/v1/admin/creatives/${b.creative}/approval`, ADMIN_KEY, {
      approval: 'approved',
    });
    const edited = await call('PATCH', `/v1/admin/creatives/${b.creative}`, b.key, {
      markup: '<i>new</i>',
    });
    expect(edited.json().approval).toBe('pending');
  });
});
