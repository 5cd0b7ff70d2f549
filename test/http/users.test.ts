/**
 * User profiles and GDPR erasure through the HTTP API on the real runtime: upsert, read through
 * the cache, interest events, bad ids, and `DELETE /v1/users/{id}` checked store by store
 * (profile store, L1, L2 when Redis is configured, frequency counters, the feature store's
 * 7-day engagement written by the aggregates consumer, tombstones, invalidation events),
 * idempotency, and that a tracking URL issued before the erasure brings nothing back.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frequencyUserKey } from '../../src/exchange/decision.js';
import { userKey } from '../../src/exchange/user-key.js';
import type { ErasureReceipt } from '../../src/exchange/users.js';
import type { AnyEvent } from '../../src/ports/event-log.js';
import type { FrequencyCapRule } from '../../src/ports/frequency-counters.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { requireService, SERVICE_URLS } from '../helpers/services.js';

const CAPPED = 'cmp_demo_stride_runners';
const DAY_MS = 86_400_000;
const RULE: FrequencyCapRule = {
  scope: 'campaign',
  id: CAPPED,
  maxImpressions: 100,
  windowMs: DAY_MS,
};
const PROFILE = {
  demographics: { age_range: '25-34', country: 'DE' },
  interests: { running: 0.8, travel: 0.3 },
  consent: { personalization: true, measurement: true },
};

/** Polls `read` (bounded: 100 × 100 ms) until `done` holds; returns the last value. */
async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 100 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

function scenario(env: () => Record<string, string>): void {
  let rt: TestRuntime;
  // Unique per run: Redis is shared with earlier runs and other test files.
  const run = randomBytes(4).toString('hex');
  const id = (name: string) => `${name}-${run}`;
  const admin = { 'x-api-key': ADMIN_KEY };
  beforeAll(async () => {
    rt = await startTestRuntime(env());
    const r = await rt.app.inject({
      method: 'PATCH',
      url: `/v1/admin/campaigns/${CAPPED}`,
      headers: admin,
      payload: { frequency_cap: { max_impressions: 100, period_seconds: 86_400 } },
    });
    expect(r.statusCode).toBe(200);
    if (env().ADSTACK_REDIS_URL !== undefined) {
      // The Redis client connects on the first readiness probe.
      expect((await rt.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    }
  });
  afterAll(async () => {
    await rt?.close();
  });

  const put = (id: string, payload: object = PROFILE) =>
    rt.app.inject({
      method: 'PUT',
      url: `/v1/users/${encodeURIComponent(id)}/profile`,
      headers: admin,
      payload,
    });
  const get = (id: string) =>
    rt.app.inject({ url: `/v1/users/${encodeURIComponent(id)}/profile`, headers: admin });
  const erase = (id: string) =>
    rt.app.inject({ method: 'DELETE', url: `/v1/users/${encodeURIComponent(id)}`, headers: admin });
  const decide = async (userId: string) => {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: { ...DEMO_REQUEST, user: { id: userId } },
    });
    expect(res.statusCode).toBe(200);
    return res.json() as {
      campaign_id: string;
      creative_id: string;
      tracking: { impression_url: string; click_url: string };
    };
  };
  const count = async (raw: string) =>
    (await rt.userData.frequency.check(frequencyUserKey(raw), [RULE], rt.clock.nowMs())).counts[0]
      ?.count;

  it('stores a profile under the hashed id only, and reads it back through L1', async () => {
    const raw = id('user-raw-id-7001@example.com');
    const res = await put(raw);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ ...PROFILE, user_key: userKey(raw), version: 1 });
    expect(JSON.stringify(body)).not.toContain(raw);
    const stored = await rt.userData.profiles.get(userKey(raw));
    expect(JSON.stringify(stored)).not.toContain(raw);
    expect((await get(raw)).json()).toEqual(body);
    const before = rt.userData.profileCache.stats().l1Hits;
    expect((await get(raw)).json()).toEqual(body);
    expect(rt.userData.profileCache.stats().l1Hits).toBe(before + 1);
  });

  it('interest events update the scores and the cached copy is dropped at once', async () => {
    const raw = id('user-interests-1');
    await put(raw);
    expect((await get(raw)).json().interests).toEqual(PROFILE.interests);
    const res = await rt.app.inject({
      method: 'POST',
      url: `/v1/users/${raw}/interests`,
      headers: admin,
      payload: { deltas: { running: 0.5, news: 0.25 } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().interests).toEqual({ news: 0.25, running: 1, travel: 0.3 });
    expect((await get(raw)).json()).toMatchObject({
      interests: { news: 0.25, running: 1, travel: 0.3 },
      version: 2,
    });
  });

  it('answers 4xx with stable codes for bad ids, bodies and keys', async () => {
    const codeOf = async (p: Promise<{ statusCode: number; json(): unknown }>) => {
      const r = await p;
      return [r.statusCode, (r.json() as { error: { code: string } }).error.code];
    };
    const raw = (url: string) => rt.app.inject({ method: 'DELETE', url, headers: admin });
    expect(await codeOf(raw('/v1/users/bad%01id'))).toEqual([400, 'ADS_ERR_VALIDATION']);
    expect(await codeOf(raw('/v1/users/tab%09id'))).toEqual([400, 'ADS_ERR_VALIDATION']);
    // Over Fastify's 100-character path parameter limit: Fastify's own 414.
    expect((await erase('x'.repeat(101))).statusCode).toBe(414);
    expect(await codeOf(get('nobody-has-this-id'))).toEqual([404, 'ADS_ERR_NOT_FOUND']);
    expect(await codeOf(put('u1', { ...PROFILE, demographics: { age_range: '30' } }))).toEqual([
      400,
      'ADS_ERR_VALIDATION',
    ]);
    expect(await codeOf(put('u1', { ...PROFILE, interests: { sports: 2 } }))).toEqual([
      400,
      'ADS_ERR_VALIDATION',
    ]);
    expect(await codeOf(put('u1', { ...PROFILE, email: 'a@b.c' }))).toEqual([
      400,
      'ADS_ERR_VALIDATION',
    ]);
    expect(await codeOf(rt.app.inject({ method: 'DELETE', url: '/v1/users/u1' }))).toEqual([
      401,
      'ADS_ERR_UNAUTHENTICATED',
    ]);
    const adv = (
      await rt.app.inject({
        method: 'POST',
        url: '/v1/admin/advertisers',
        headers: admin,
        payload: { name: 'users-test advertiser' },
      })
    ).json() as { api_key: string };
    expect(
      await codeOf(
        rt.app.inject({
          method: 'DELETE',
          url: '/v1/users/u1',
          headers: { 'x-api-key': adv.api_key },
        }),
      ),
    ).toEqual([403, 'ADS_ERR_FORBIDDEN']);
  });

  it('DELETE /v1/users/{id} leaves no trace in any store and returns the receipt', async () => {
    const raw = id('erase-me-4242');
    const key = userKey(raw);
    const fkey = frequencyUserKey(raw);
    // Data in every store: profile (and its L1/L2 copies), frequency counts, and a tracking URL
    // issued before the erasure but opened after it. No personalization consent: a consenting
    // user's click would also raise her interests (src/stream/profile-interests.ts, tested in
    // profile-interest-events.test.ts), dropping the cached copy this receipt checks in L1.
    await put(raw, { ...PROFILE, consent: { personalization: false, measurement: true } });
    expect((await get(raw)).statusCode).toBe(200);
    expect(rt.userData.profileCache.inL1(key, rt.clock.nowMs())).toBe(true);
    const impressions = await rt.userData.eventLog.consumer(`imp-probe-${Date.now()}`, {
      types: ['impression'],
      deliver: 'new',
      ephemeral: true,
    });
    const d1 = await decide(raw);
    expect(d1.campaign_id).toBe(CAPPED);
    expect((await rt.app.inject({ url: pathOf(d1.tracking.impression_url) })).statusCode).toBe(200);
    expect((await rt.app.inject({ url: pathOf(d1.tracking.click_url) })).statusCode).toBe(302);
    // The impression event carries the hashed profile key, never the raw id.
    const [imp] = await impressions.fetch(1, 5_000);
    await impressions.close();
    expect(imp?.event.type === 'impression' ? imp.event.data.user_key : null).toBe(key);
    expect(JSON.stringify(imp?.event)).not.toContain(raw);
    const late = await decide(raw);
    expect(await count(raw)).toBe(1);
    // The windowed aggregates consumer keeps the user's 7-day engagement in the feature store.
    const engagement = await waitFor(
      () => rt.userData.features.get('user', key),
      (f) => f !== null && f.impressions_7d === 1 && f.clicks_7d === 1,
    );
    expect(engagement).toMatchObject({ impressions_7d: 1, clicks_7d: 1, ctr_7d: 1 });
    const probe = await rt.userData.eventLog.consumer(`erasure-probe-${Date.now()}`, {
      types: ['invalidation'],
      deliver: 'new',
      ephemeral: true,
    });

    const adBefore = (await rt.userData.features.get('ad', d1.creative_id))?.impressions_1h ?? 0;
    const res = await erase(raw);
    expect(res.statusCode).toBe(200);
    const receipt = res.json() as ErasureReceipt;
    expect(receipt.user_key).toBe(key);
    expect(receipt.complete).toBe(true);
    const outcome = Object.fromEntries(receipt.stores.map((s) => [s.store, s.outcome]));
    expect(outcome).toEqual({
      tombstones: 'recorded',
      profile_store: 'erased',
      profile_cache_l1: 'erased',
      profile_cache_l2: env().ADSTACK_REDIS_URL === undefined ? 'not_configured' : 'erased',
      frequency_counters: 'erased',
      feature_store: 'erased',
      invalidation_events: 'published',
    });
    expect(JSON.stringify(receipt)).not.toContain(raw);

    // Store by store.
    expect(await rt.userData.profiles.get(key)).toBeNull();
    expect(rt.userData.profileCache.inL1(key, rt.clock.nowMs())).toBe(false);
    expect(await count(raw)).toBe(0);
    expect(await rt.userData.profiles.isTombstoned(key)).toBe(true);
    expect(await rt.userData.profiles.isTombstoned(fkey)).toBe(true);
    expect(await rt.userData.features.get('user', key)).toBeNull();
    if (env().ADSTACK_REDIS_URL !== undefined) {
      const redis = new Redis(SERVICE_URLS.redis);
      try {
        expect(await redis.keys(`*${rt.userData.profileCache.key(key)}*`)).toEqual([]);
      } finally {
        redis.disconnect();
      }
    }
    const seen: AnyEvent[] = [];
    for (let i = 0; i < 20 && seen.length < 3; i++) {
      for (const dl of await probe.fetch(10, 200)) {
        seen.push(dl.event);
        await dl.ack();
      }
    }
    await probe.close();
    expect(
      seen
        .filter((e) => e.type === 'invalidation' && e.data.reason === 'gdpr_erasure')
        .map((e) => (e.type === 'invalidation' ? `${e.data.namespace}:${e.data.key}` : ''))
        .sort(),
    ).toEqual([`profile:${key}`, `tombstone:${fkey}`, `tombstone:${key}`].sort());

    // A profile read now misses every tier (negative cache) and stays 404.
    expect((await get(raw)).statusCode).toBe(404);
    // The tracking URL issued before the erasure: the impression is recorded (money), but
    // the erased user is not counted again.
    expect((await rt.app.inject({ url: pathOf(late.tracking.impression_url) })).statusCode).toBe(
      200,
    );
    expect(await count(raw)).toBe(0);
    // … nor does it bring back the user's engagement: once the aggregates consumer has counted
    // that impression for the ad, the user still has no features.
    await waitFor(
      () => rt.userData.features.get('ad', d1.creative_id),
      (f) => f !== null && f.impressions_1h === adBefore + 1,
    );
    expect(await rt.userData.features.get('user', key)).toBeNull();
    // Interest events are refused for an erased user.
    const ev = await rt.app.inject({
      method: 'POST',
      url: `/v1/users/${raw}/interests`,
      headers: admin,
      payload: { deltas: { running: 0.5 } },
    });
    expect([ev.statusCode, ev.json().error.code]).toEqual([409, 'ADS_ERR_USER_ERASED']);
    expect(await rt.userData.profiles.get(key)).toBeNull();
  });

  it('erasure is idempotent, and a new profile lifts the tombstone', async () => {
    const raw = id('erase-twice');
    await put(raw);
    expect((await erase(raw)).statusCode).toBe(200);
    const again = await erase(raw);
    expect(again.statusCode).toBe(200);
    const outcome = Object.fromEntries(
      (again.json() as ErasureReceipt).stores.map((s) => [s.store, s.outcome]),
    );
    expect(outcome).toMatchObject({
      profile_store: 'absent',
      profile_cache_l1: 'absent',
      frequency_counters: 'absent',
      feature_store: 'absent',
    });
    expect((await put(raw)).statusCode).toBe(200);
    expect(await rt.userData.profiles.isTombstoned(userKey(raw))).toBe(false);
    expect((await get(raw)).json()).toMatchObject({ version: 1 });
  });
}

describe('users and erasure (in-process stores)', () => {
  scenario(() => ({}));
});

const redisAvailable = await requireService('redis');
describe.skipIf(!redisAvailable)('users and erasure (Redis L2 and counters)', () => {
  scenario(() => ({ ADSTACK_REDIS_URL: SERVICE_URLS.redis }));
});
