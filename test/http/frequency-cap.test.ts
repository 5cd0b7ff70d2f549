/**
 * Frequency caps in the decision path: checked per user × campaign at decision time, counted
 * once per impression by the impression event. Run on the default (memory) counters and on
 * Redis (ADSTACK_REDIS_URL) when it is reachable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { requireService, SERVICE_URLS } from '../helpers/services.js';

const CAPPED = 'cmp_demo_stride_runners'; // wins the demo request when not capped
const RUNNER_UP = 'cmp_demo_wander_clicks';
const DAY_MS = 86_400_000;

interface Fill {
  decision_id: string;
  campaign_id: string;
  tracking: { impression_url: string };
}

function scenario(env: () => Record<string, string>): void {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime(env());
    const r = await rt.app.inject({
      method: 'PATCH',
      url: `/v1/admin/campaigns/${CAPPED}`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { frequency_cap: { max_impressions: 2, period_seconds: 86_400 } },
    });
    expect(r.statusCode).toBe(200);
    if (env().ADSTACK_REDIS_URL !== undefined) {
      expect((await rt.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    }
  });
  afterAll(async () => {
    await rt?.close();
  });

  const requestFor = (userId: string | null) => {
    const { user: _user, ...rest } = DEMO_REQUEST;
    return userId === null ? rest : { ...rest, user: { id: userId } };
  };
  const decide = async (userId: string | null): Promise<Fill> => {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: requestFor(userId),
    });
    expect(res.statusCode).toBe(200);
    return res.json() as Fill;
  };
  const open = async (fill: Fill): Promise<boolean> => {
    const res = await rt.app.inject({ url: pathOf(fill.tracking.impression_url) });
    expect(res.statusCode).toBe(200);
    return (res.json() as { recorded: boolean }).recorded;
  };
  const explain = async (userId: string | null) => {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions?debug=1',
      payload: requestFor(userId),
      headers: { 'x-api-key': ADMIN_KEY },
    });
    expect(res.statusCode).toBe(200);
    return res.json() as {
      campaign_id?: string;
      debug: { candidates: { campaign_id: string; result: string; reason?: unknown }[] };
    };
  };

  it('serves a user twice, then the third decision goes to another campaign, explained as frequency_capped', async () => {
    for (let i = 0; i < 2; i++) {
      const d = await decide('fc-user-a');
      expect(d.campaign_id).toBe(CAPPED);
      expect(await open(d)).toBe(true);
    }
    const third = await decide('fc-user-a');
    expect(third.campaign_id).toBe(RUNNER_UP);
    const ex = await explain('fc-user-a');
    expect(ex.campaign_id).toBe(RUNNER_UP);
    expect(ex.debug.candidates.find((c) => c.campaign_id === CAPPED)).toEqual({
      campaign_id: CAPPED,
      result: 'filtered',
      reason: 'frequency_capped',
    });
  });

  it('a different user is unaffected', async () => {
    const d = await decide('fc-user-b');
    expect(d.campaign_id).toBe(CAPPED);
    const ex = await explain('fc-user-b');
    expect(ex.campaign_id).toBe(CAPPED);
    expect(ex.debug.candidates.some((c) => c.reason === 'frequency_capped')).toBe(false);
  });

  it('opening the same impression URL twice (or concurrently) counts once', async () => {
    const first = await decide('fc-user-c');
    expect(first.campaign_id).toBe(CAPPED);
    expect(await open(first)).toBe(true);
    expect(await open(first)).toBe(false);
    await Promise.all(Array.from({ length: 5 }, () => open(first)));
    // One impression counted: still below the cap of 2.
    const second = await decide('fc-user-c');
    expect(second.campaign_id).toBe(CAPPED);
    expect(await open(second)).toBe(true);
    expect((await decide('fc-user-c')).campaign_id).toBe(RUNNER_UP);
  });

  it('requests without a user id are never capped', async () => {
    for (let i = 0; i < 4; i++) {
      const d = await decide(null);
      expect(d.campaign_id).toBe(CAPPED);
      expect(await open(d)).toBe(true);
    }
    const ex = await explain(null);
    expect(ex.campaign_id).toBe(CAPPED);
  });

  it('the impression token carries a hashed user key, never the raw user id', async () => {
    const d = await decide('fc-user-raw-id-0042');
    const token = new URL(d.tracking.impression_url).searchParams.get('t') ?? '';
    const claims = JSON.parse(
      Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    expect(claims.uk).toMatch(/^[0-9a-f]{32}$/);
    expect(claims.fw).toBe(DAY_MS);
    expect(JSON.stringify(claims)).not.toContain('fc-user-raw-id-0042');
  });

  it('the cap window slides: a day later the capped user is served again', async () => {
    expect((await decide('fc-user-a')).campaign_id).toBe(RUNNER_UP);
    rt.clock.advance(DAY_MS + 1);
    expect((await decide('fc-user-a')).campaign_id).toBe(CAPPED);
  });
}

describe('frequency caps (memory counters)', () => {
  scenario(() => ({}));
});

const redisAvailable = await requireService('redis');
describe.skipIf(!redisAvailable)('frequency caps (Redis counters, ADSTACK_REDIS_URL)', () => {
  scenario(() => ({ ADSTACK_REDIS_URL: SERVICE_URLS.redis }));
});
