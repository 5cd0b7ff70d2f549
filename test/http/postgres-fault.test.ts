/**
 * PostgreSQL frozen under the serving path (issue 8): a TCP proxy the test controls sits in
 * front of the shared PostgreSQL (a database of this test's own); pausing it hangs every call.
 * Decisions keep answering from the in-memory serving index; the index's reloads are cut at the
 * per-call timeout (ADSTACK_POSTGRES_TIMEOUT_MS) and open the `postgres` breaker, after which
 * reloads are refused without a call; an impression served meanwhile is recorded once
 * PostgreSQL is back (not lost); the breaker closes and catalog changes reach decisions again.
 * (The event pipeline's own NATS + PostgreSQL outage test belongs to issue 7.)
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { requireService, SERVICE_URLS } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const CAPPED = 'cmp_demo_stride_runners'; // wins the demo request for a new user
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;

const pgUp = await requireService('postgres');
describe.skipIf(!pgUp)('PostgreSQL frozen under the serving path (TCP proxy)', () => {
  const dbName = `adstack_t_${randomBytes(5).toString('hex')}`;
  let admin: pg.Client;
  let proxy: TcpProxy;
  let rt: TestRuntime;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: SERVICE_URLS.postgres });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const target = new URL(SERVICE_URLS.postgres);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const url = new URL(SERVICE_URLS.postgres);
    url.host = `127.0.0.1:${proxy.port}`;
    url.pathname = `/${dbName}`;
    rt = await startTestRuntime({
      ADSTACK_DATABASE_URL: url.toString(),
      ADSTACK_POSTGRES_TIMEOUT_MS: '250',
      ADSTACK_REFRESH_INTERVAL_MS: '100',
    });
  }, 120_000);
  afterAll(async () => {
    proxy?.resume();
    await rt?.close();
    await proxy?.close();
    await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin?.end();
  });

  const decide = async () => {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: { ...DEMO_REQUEST, user: { id: `pg-fault-${process.pid}-${++seq}` } },
    });
    expect(res.statusCode).toBe(200); // a fill: the serving index is in memory
    return res.json() as { campaign_id: string; tracking: { impression_url: string } };
  };
  const metric = async (series: string): Promise<number> => {
    const text = (await rt.app.inject({ url: '/metrics' })).body;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
    }
    return 0;
  };
  const state = () => metric('adstack_breaker_state{dependency="postgres"}');
  const calls = (result: string) =>
    metric(`adstack_dependency_calls_total{dependency="postgres",result="${result}"}`);

  it('decisions go on, reloads are cut and then refused, nothing is lost, and it recovers', async () => {
    expect((await decide()).campaign_id).toBe(CAPPED);
    const first = await rt.app.inject({ url: pathOf((await decide()).tracking.impression_url) });
    expect(first.json()).toMatchObject({ recorded: true });
    expect(await state()).toBe(0);

    proxy.pause();
    // Every reload (every 100 ms) hangs and is cut at 250 ms; 8 in a row open the breaker.
    // Decisions answer all along.
    for (let i = 0; i < 120 && (await state()) !== 2; i++) {
      expect((await decide()).campaign_id).toBe(CAPPED);
      await sleep(150);
    }
    expect(await state()).toBe(2);
    // Opened by failed (cut) calls: 8 in a row, or — on a loaded machine, fewer reloads fit —
    // the failure-rate or failure-run rule (decision record 0011).
    expect(await calls('failure')).toBeGreaterThanOrEqual(1);
    // An impression served now is accepted into the log; its ledger row waits for PostgreSQL.
    const served = await decide();
    const impression = rt.app.inject({ url: pathOf(served.tracking.impression_url) });
    await sleep(1_000); // calls started before the breaker opened settle (each cut at 250 ms)
    const failures = await calls('failure');
    const rejected = await calls('rejected');
    // While open, reloads (and ledger writes) are refused without calling PostgreSQL.
    for (let i = 0; i < 40 && (await calls('rejected')) <= rejected; i++) await sleep(100);
    expect(await calls('rejected')).toBeGreaterThan(rejected);
    expect(await calls('failure')).toBe(failures);
    expect((await decide()).campaign_id).toBe(CAPPED);

    proxy.resume();
    // Half-open after 0.5 s of (fake) time; the probes' reloads close it.
    for (let i = 0; i < 60 && (await state()) !== 0; i++) {
      rt.clock.advance(1_000);
      await sleep(150);
    }
    expect(await state()).toBe(0);
    expect(
      await metric('adstack_breaker_transitions_total{dependency="postgres",to="closed"}'),
    ).toBe(1);
    // The impression served during the freeze was recorded, once.
    expect((await impression).json()).toMatchObject({ recorded: true });
    expect(await rt.ledger.totals({})).toMatchObject({ rows: 2 });
    // Catalog changes reach decisions again: pausing the winner takes it out.
    const pause = await rt.app.inject({
      method: 'PATCH',
      url: `/v1/admin/campaigns/${CAPPED}`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { status: 'paused' },
    });
    expect(pause.statusCode).toBe(200);
    let winner = CAPPED;
    for (let i = 0; i < 40 && winner === CAPPED; i++) {
      if (i > 0) await sleep(100);
      winner = (await decide()).campaign_id;
    }
    expect(winner).not.toBe(CAPPED);
  });
});
