/**
 * The tiered caches on /metrics (issue 7): reads by tier/result, and the current hot set — a
 * profile read far above the hot threshold shows up as a hot key (by its cache key, a hashed
 * id, never the raw one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userKey } from '../../src/exchange/user-key.js';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt?.close();
});

const metric = async (line: string): Promise<number | null> => {
  const text = (await rt.app.inject({ url: '/metrics' })).body;
  const hit = text.split('\n').find((l) => l.startsWith(`${line} `));
  return hit === undefined ? null : Number(hit.slice(line.length + 1));
};

describe('tiered cache metrics', () => {
  it('counts reads by tier and lists the hot set', async () => {
    const raw = 'metrics-hot-user';
    const put = await rt.app.inject({
      method: 'PUT',
      url: `/v1/users/${raw}/profile`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: {
        demographics: {},
        interests: { travel: 0.5 },
        consent: { personalization: true, measurement: true },
      },
    });
    expect(put.statusCode).toBe(200);
    expect(await metric('adstack_cache_hot_keys{namespace="profile"}')).toBe(0);

    // 2,000 reads of one profile at one instant: far above 100 reads/s.
    for (let i = 0; i < 2_000; i++) await rt.userData.service.getProfile(raw);
    expect(await metric('adstack_cache_reads_total{namespace="profile",result="l3_load"}')).toBe(1);
    expect(
      await metric('adstack_cache_reads_total{namespace="profile",result="l1_hit"}'),
    ).toBeGreaterThanOrEqual(1_999);
    expect(await metric('adstack_cache_hot_keys{namespace="profile"}')).toBe(1);
    const cacheKey = rt.userData.profileCache.key(userKey(raw));
    const text = (await rt.app.inject({ url: '/metrics' })).body;
    expect(text).toContain(
      `adstack_cache_hot_key_reads_per_second{namespace="profile",key="${cacheKey}"}`,
    );
    expect(text).not.toContain(raw);
  });
});
