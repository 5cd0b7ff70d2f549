/**
 * The degradation ladder's steps through the real composition root (issue 8, seed Part 7):
 * the level is pinned (`Resilience.pin`, the operator's override) and each step must change
 * what the server does, compared with the same request at level 0:
 *   1 stale_cache   a cached profile past its TTL is served stale instead of re-read
 *                   (profiles are read by GET /v1/users/:id/profile; decisions read none yet)
 *   2 skip_ml       decisions rank with the priors instead of the loaded CTR model
 *   3 drop_rtb_tail decisions call only the best half of the DSPs (by recent bid value)
 *   4 house_only    decisions call no DSP and read no counters: our campaigns from memory
 * Every step shows in `adstack_degradation_step_active`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_POLICY } from '../../src/core/resilience/deadline.js';
import { DegradationLevel } from '../../src/core/resilience/degradation.js';
import { userKey } from '../../src/exchange/user-key.js';
import { generateCtrData } from '../../src/ml/data/synthetic.js';
import { generateSigningKeys } from '../../src/ml/registry.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { publishSignedModel, trainTinyModel } from '../helpers/models.js';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const CAPPED = 'cmp_demo_stride_runners'; // wins the demo request when not capped
let seq = 0;
/** The demo request on an http:// page (loopback DSPs are not secure), a new user each time. */
const request = () => ({
  ...DEMO_REQUEST,
  site: { domain: 'news.example', page: 'http://news.example/sports/marathon' },
  user: { id: `ladder-user-${process.pid}-${++seq}` },
});

interface Explained {
  campaign_id?: string;
  debug: {
    prediction: { source: string; fallback?: string };
    candidates: { campaign_id: string; result: string; reason?: unknown }[];
    resilience: { degradation_level: string; degraded: { stage: string; reason: string }[] };
  };
}

async function explain(rt: TestRuntime): Promise<Explained> {
  const res = await rt.app.inject({
    method: 'POST',
    url: '/v1/decisions?debug=1',
    headers: { 'x-api-key': ADMIN_KEY },
    payload: request(),
  });
  expect(res.statusCode).toBe(200);
  return res.json() as Explained;
}

async function metric(rt: TestRuntime, series: string): Promise<number | null> {
  const text = (await rt.app.inject({ url: '/metrics' })).body;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return null;
}

/** Unpins and lets the ladder recover to level 0 (one step per 5 s hold of fake time). */
async function backToNormal(rt: TestRuntime): Promise<void> {
  rt.resilience.pin(null);
  for (let i = 0; i < 12 && rt.resilience.levelName() !== 'normal'; i++) {
    rt.clock.advance(5_100);
    rt.resilience.levelName();
  }
  expect(rt.resilience.levelName()).toBe('normal');
}

describe('ladder steps 3 and 4 on the DSP fan-out and the counters', () => {
  // Four loopback DSPs bidding 1..4 USD CPM; the most valuable are the last two configured, so
  // "the best half" differs from "the first half".
  const PRICES = [1, 2, 3, 4];
  const received = new Map<string, number>();
  const servers: Server[] = [];
  let rt: TestRuntime;

  beforeAll(async () => {
    const dsps = [];
    for (const [i, price] of PRICES.entries()) {
      const id = `dsp${i + 1}`;
      received.set(id, 0);
      const server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.set(id, (received.get(id) ?? 0) + 1);
          const br = JSON.parse(body) as { id: string };
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              id: br.id,
              seatbid: [
                {
                  seat: id,
                  bid: [{ id: `${id}-b`, impid: '1', price, crid: 'c1', adm: '<b>x</b>' }],
                },
              ],
            }),
          );
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      dsps.push({ id, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
    }
    rt = await startTestRuntime(
      {},
      {
        rtb: {
          dsps,
          auction: { enforceSecure: false },
          notices: false,
          shaping: null,
          // Generous waits: DSP replies must land (and teach their value) on a loaded machine.
          decisionBudgetMs: 2_000,
          timeouts: { ...DEFAULT_TIMEOUT_POLICY, coldTimeoutMs: 2_000 },
        },
      },
    );
  });
  afterAll(async () => {
    await rt?.close();
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  });

  const counts = () => [...received.values()];
  const calledSince = (before: number[]) =>
    [...received.entries()].filter(([, n], i) => n > (before[i] ?? 0)).map(([id]) => id);

  it('normal: every DSP is called and the capped campaign can win for a new user', async () => {
    const before = counts();
    for (let i = 0; i < 3; i++) {
      const e = await explain(rt);
      expect(e.campaign_id).toBe(CAPPED);
      expect(e.debug.resilience.degraded).toEqual([]);
    }
    expect(calledSince(before)).toEqual(['dsp1', 'dsp2', 'dsp3', 'dsp4']);
  });

  it('drop_rtb_tail: only the best half of the DSPs (by recent bid value) is called', async () => {
    rt.resilience.pin(DegradationLevel.DropRtbTail);
    expect(await metric(rt, 'adstack_degradation_step_active{step="drop_rtb_tail"}')).toBe(1);
    const before = counts();
    for (let i = 0; i < 3; i++) await explain(rt);
    expect(calledSince(before)).toEqual(['dsp3', 'dsp4']);
    expect(
      await metric(
        rt,
        'adstack_rtb_bidder_requests_total{bidder="dsp1",outcome="skipped",reason="rtb_tail"}',
      ),
    ).toBe(3);
  });

  it('house_only: no DSP is called and the counters are not read (capped campaigns filtered)', async () => {
    rt.resilience.pin(DegradationLevel.HouseOnly);
    expect(await metric(rt, 'adstack_degradation_step_active{step="house_only"}')).toBe(1);
    const before = counts();
    for (let i = 0; i < 3; i++) {
      const e = await explain(rt);
      expect(e.campaign_id).toBeDefined();
      expect(e.campaign_id).not.toBe(CAPPED);
      expect(e.debug.resilience).toMatchObject({
        degradation_level: 'house_only',
        degraded: [{ stage: 'frequency', reason: 'ladder' }],
      });
      expect(e.debug.candidates.find((c) => c.campaign_id === CAPPED)).toMatchObject({
        result: 'filtered',
        reason: 'frequency_capped',
      });
    }
    expect(calledSince(before)).toEqual([]);
  });

  it('unpinned, the ladder steps back up and the DSPs and the capped campaign return', async () => {
    await backToNormal(rt);
    const before = counts();
    const e = await explain(rt);
    expect(e.campaign_id).toBe(CAPPED);
    expect(calledSince(before)).toEqual(['dsp1', 'dsp2', 'dsp3', 'dsp4']);
  });
});

describe('ladder step 2 (skip_ml) with a CTR model loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'adstack-ladder-'));
  let rt: TestRuntime;
  beforeAll(async () => {
    const keys = generateSigningKeys();
    const model = await trainTinyModel(generateCtrData({ rows: 3000, seed: 3 }), 3, 8);
    const path = join(dir, 'ctr.json');
    const keyPath = join(dir, 'key.pem');
    writeFileSync(keyPath, keys.publicKeyPem);
    await publishSignedModel(path, model, 'ladder-test-v1', keys.privateKeyPem);
    rt = await startTestRuntime({ ADSTACK_MODEL_PATH: path, ADSTACK_MODEL_PUBLIC_KEY: keyPath });
  }, 120_000); // training a model and a runtime start, on a shared 2-core machine
  afterAll(async () => {
    await rt?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ranks with the model at level 0 and with the priors while skip_ml is on', async () => {
    expect((await explain(rt)).debug.prediction.source).toBe('model');
    rt.resilience.pin(DegradationLevel.SkipMl);
    expect(await metric(rt, 'adstack_degradation_step_active{step="skip_ml"}')).toBe(1);
    expect((await explain(rt)).debug.prediction).toMatchObject({
      source: 'constant_prior',
      fallback: 'skip_ml',
    });
    await backToNormal(rt);
    expect((await explain(rt)).debug.prediction.source).toBe('model');
  });
});

describe('ladder step 1 (stale_cache) on the profile cache', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  const getProfile = async (id: string) => {
    const res = await rt.app.inject({
      url: `/v1/users/${id}/profile`,
      headers: { 'x-api-key': ADMIN_KEY },
    });
    expect(res.statusCode).toBe(200);
    return (res.json() as { interests: Record<string, number> }).interests;
  };

  it('operators pin and unpin the ladder through PUT /v1/admin/degradation (admin key only)', async () => {
    const put = (pinned: unknown, key: string | null = ADMIN_KEY) =>
      rt.app.inject({
        method: 'PUT',
        url: '/v1/admin/degradation',
        headers: key === null ? {} : { 'x-api-key': key },
        payload: { pinned },
      });
    expect((await put('house_only', null)).statusCode).toBe(401);
    const bad = await put('everything_off');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'ADS_ERR_VALIDATION' } });
    const pinned = await put('house_only');
    expect(pinned.statusCode).toBe(200);
    expect(pinned.json()).toMatchObject({ level: 'house_only', pinned: 'house_only' });
    expect(rt.resilience.houseOnly()).toBe(true);
    const unpinned = await put(null);
    expect(unpinned.json()).toMatchObject({ level: 'house_only', pinned: null }); // steps back later
    await backToNormal(rt);
    const now = await rt.app.inject({
      url: '/v1/admin/degradation',
      headers: { 'x-api-key': ADMIN_KEY },
    });
    expect(now.json()).toMatchObject({
      level: 'normal',
      pinned: null,
      breakers: { postgres: 'closed' },
    });
  });

  it('serves a profile past its cache TTL stale while pinned, and re-reads it at level 0', async () => {
    const id = `ladder-profile-${process.pid}`;
    const put = await rt.app.inject({
      method: 'PUT',
      url: `/v1/users/${id}/profile`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: {
        interests: { running: 0.5 },
        consent: { personalization: true, measurement: true },
      },
    });
    expect(put.statusCode).toBe(200);
    expect(await getProfile(id)).toEqual({ running: 0.5 }); // now in L1
    // The store changes behind the cache (no invalidation), and the L1 entry's TTL passes.
    await rt.userData.profiles.addInterests(userKey(id), { travel: 0.25 }, rt.clock.nowMs());
    rt.clock.advance(11_000);

    rt.resilience.pin(DegradationLevel.StaleCache);
    expect(await metric(rt, 'adstack_degradation_step_active{step="stale_cache"}')).toBe(1);
    expect(await getProfile(id)).toEqual({ running: 0.5 });
    expect(rt.userData.profileCache.stats().staleServed).toBe(1);
    // /metrics: reads per tier of the profile cache, the stale one included.
    const reads = (result: string) =>
      metric(rt, `adstack_cache_reads_total{namespace="profile",result="${result}"}`);
    expect(await reads('l1_stale')).toBe(1);
    expect(await reads('l1_miss')).toBeGreaterThanOrEqual(1);
    expect(await reads('l3_load')).toBeGreaterThanOrEqual(1);

    await backToNormal(rt);
    expect(await getProfile(id)).toEqual({ running: 0.5, travel: 0.25 });
  });
});
