import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt.close();
});

describe('ops routes', () => {
  it('/healthz answers while the process runs', async () => {
    const res = await rt.app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks the database', async () => {
    const res = await rt.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { database: { ok: true } } });
  });

  it('/metrics counts requests by route pattern and records latency', async () => {
    await rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: DEMO_REQUEST });
    await rt.app.inject({ url: '/v1/admin/campaigns/cmp_demo_stride_runners' }); // 401
    const text = (await rt.app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(
      /adstack_http_requests_total\{route="\/v1\/decisions",method="POST",status="200"\} [1-9]/,
    );
    expect(text).toMatch(
      /adstack_http_requests_total\{route="\/v1\/admin\/campaigns\/:id",method="GET",status="401"\} 1/,
    );
    expect(text).toMatch(
      /adstack_http_request_duration_seconds_bucket\{le="0.1",route="\/v1\/decisions",method="POST"\}/,
    );
    expect(text).toMatch(/adstack_decisions_total\{outcome="fill",reason=""\} [1-9]/);
    expect(text).toMatch(/process_cpu_user_seconds_total/);
    // The burn rate depends on how fast this machine answered (over 100 ms counts as bad), so
    // only its presence is checked here; test/http/load-shed.test.ts checks that it moves.
    expect(text).toMatch(/adstack_slo_burn_rate\{window="5m"\} [0-9.e+]+\n/);
    expect(text).toMatch(/adstack_slo_alert\{severity="page"\} [01]/);
  });

  it('/metrics shows the event publisher: an impression moves published, nothing is refused', async () => {
    const read = async (series: string): Promise<number> => {
      const text = (await rt.app.inject({ url: '/metrics' })).body;
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
    };
    const published = 'adstack_events_published_total{result="published"}';
    const before = await read(published);
    expect(before).toBeGreaterThanOrEqual(0);
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: { ...DEMO_REQUEST, user: { id: 'ops-publisher-metrics' } },
    });
    const impression = (res.json() as { tracking: { impression_url: string } }).tracking
      .impression_url;
    const seen = await rt.app.inject({ url: pathOf(impression) });
    expect(seen.json()).toMatchObject({ recorded: true });
    // At least the impression (lease and decision events may be published beside it).
    expect(await read(published)).toBeGreaterThanOrEqual(before + 1);
    expect(await read('adstack_events_published_total{result="rejected_queue_full"}')).toBe(0);
    expect(await read('adstack_events_publisher_pending{state="queued"}')).toBe(0);
  });
});

describe('logging', () => {
  it('blanks query values (tracking tokens) and logs no client IP', async () => {
    const { serializeRequest } = await import('../../src/server/app.js');
    const line = serializeRequest({
      id: 'r1',
      method: 'GET',
      url: '/v1/events/click?t=abc.def&x=1',
    });
    expect(line).toEqual({
      id: 'r1',
      method: 'GET',
      url: '/v1/events/click?t=[redacted]&x=[redacted]',
    });
  });
});

describe('shutdown gate', () => {
  it('refuses requests with 503 ADS_ERR_NOT_READY as soon as close() starts', async () => {
    const { default: Fastify } = await import('fastify');
    const http = await import('node:http');
    const { installShutdownGate } = await import('../../src/server/app.js');
    const app = Fastify({ return503OnClosing: false }); // as build() sets it
    const gate = installShutdownGate(app);
    app.get('/x', async () => ({ ok: true }));
    // A kept-alive connection stays open while preClose hooks run, as a client's would.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (port: number) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/x', agent }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    let during: { status: number; body: string; flag: boolean } | undefined;
    // Registered after the gate's own hook, so it runs once the gate is shut.
    app.addHook('preClose', async () => {
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const res = await get(port);
      during = { ...res, flag: gate.isShuttingDown() };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    expect((await get(port)).status).toBe(200);
    await app.close();
    agent.destroy();
    expect(during?.status).toBe(503);
    expect(during?.flag).toBe(true);
    expect(JSON.parse(during?.body ?? '{}').error.code).toBe('ADS_ERR_NOT_READY');
  });
});

describe('readiness with a dependency down', () => {
  it('/readyz is 503 ADS_ERR_NOT_READY naming the failing dependency', async () => {
    // Nothing listens on port 1: the Redis check must fail within its timeout.
    const down = await startTestRuntime({ ADSTACK_REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await down.app.inject({ url: '/readyz' });
      expect(res.statusCode).toBe(503);
      const body = res.json();
      expect(body.error.code).toBe('ADS_ERR_NOT_READY');
      expect(body.error.message).toMatch(/redis/);
      expect(body.checks.database.ok).toBe(true);
      expect(body.checks.redis.ok).toBe(false);
      // Liveness is not readiness: the process itself is fine.
      expect((await down.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await down.close();
    }
  });
});
