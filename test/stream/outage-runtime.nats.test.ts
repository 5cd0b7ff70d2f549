/**
 * Fault test (issue 7 Done-when): "stop NATS and PostgreSQL for 30 s under load, restart them;
 * every event emitted during the outage is in the ledger exactly once afterwards" — through the
 * real runtime and its HTTP routes.
 *
 * NATS and PostgreSQL are shared by everyone on this machine, so they are not stopped: the
 * runtime reaches both through TCP proxies (test/helpers/tcp-proxy.ts) that the test cuts
 * (every connection dropped, new ones refused — what a client sees when the server stops) and
 * restores. The runtime gets its own database (hence its own JetStream stream, named after the
 * ledger's identity, and its own spool folder); all three are removed afterwards.
 *
 * One lane of traffic (decision → impression, every third decision also a click) runs before,
 * during and after the outage, so the order in which events were accepted is well defined; the
 * test then checks, reading the real services directly (not through the proxies):
 *  - every accepted event (impression 200, click 302) is one ledger row, and no row is twice;
 *  - the events accepted during the outage went through the disk spool and were replayed;
 *  - the stream holds every accepted event once, in the order the server accepted them (the
 *    spool replays in order);
 *  - the ad server kept serving: no decision and no event answered 5xx.
 *
 * ADSTACK_TEST_OUTAGE_S sets the outage (default 30 s, the figure).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgDriver } from '../../src/adapters/postgres/driver.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ledgerIdentity } from '../../src/wiring/runtime.js';
import { pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const available = (await requireService('nats')) && (await requireService('postgres'));
const OUTAGE_MS = Number(process.env.ADSTACK_TEST_OUTAGE_S ?? 30) * 1000;

type Phase = 'before' | 'outage' | 'after';
interface Accepted {
  key: string;
  phase: Phase;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** Every event id in the stream, in stream order (read with direct gets: no consumer left). */
async function streamIds(nc: NatsConnection, stream: string): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    ids.push((m.json() as { id: string }).id);
  }
  return ids;
}

describe.skipIf(!available)('NATS and PostgreSQL outage under load, through the runtime', () => {
  it(
    'every event accepted before, during and after a 30 s outage is in the ledger exactly once',
    async () => {
      const pgUrl = new URL(SERVICE_URLS.postgres);
      const natsUrl = new URL(SERVICE_URLS.nats);
      const dbName = `adstack_outage_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: SERVICE_URLS.postgres });
      await admin.connect();
      cleanups.push(() => admin.end());
      await admin.query(`CREATE DATABASE ${dbName}`);
      cleanups.push(() => admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));

      const pgProxy: TcpProxy = await startTcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
      cleanups.push(() => pgProxy.close());
      const natsProxy: TcpProxy = await startTcpProxy(
        natsUrl.hostname,
        Number(natsUrl.port || 4222),
      );
      cleanups.push(() => natsProxy.close());

      const viaProxy = new URL(SERVICE_URLS.postgres);
      viaProxy.port = String(pgProxy.port);
      viaProxy.pathname = `/${dbName}`;
      const rt: TestRuntime = await startTestRuntime({
        ADSTACK_DATABASE_URL: viaProxy.toString(),
        ADSTACK_NATS_URL: natsProxy.url('nats'),
      });
      let closed = false;
      cleanups.push(async () => {
        if (!closed) await rt.close();
      });
      // Direct connections (not through the proxies) for the checks and the clean-up.
      const direct = new URL(SERVICE_URLS.postgres);
      direct.pathname = `/${dbName}`;
      const db = createPgDriver({ connectionString: direct.toString(), maxConnections: 1 });
      cleanups.push(() => db.close());
      const id = await ledgerIdentity(db);
      const stream = `ADSTACK_EVENTS_${id}`;
      const nc = await connect({ servers: `${natsUrl.hostname}:${natsUrl.port || 4222}` });
      cleanups.push(() => nc.close());
      cleanups.push(async () => (await nc.jetstreamManager()).streams.delete(stream));
      cleanups.push(() =>
        rm(join(tmpdir(), 'adstack-spool', id), { recursive: true, force: true }),
      );

      // The breakers' half-open timers run on the runtime's clock: let it follow real time.
      const ticker = setInterval(() => rt.clock.advance(50), 50);
      cleanups.push(async () => clearInterval(ticker));

      const accepted: Accepted[] = [];
      const failures: string[] = [];
      const decisions = { ad: 0, noAd: 0 };
      let phase: Phase = 'before';
      let stop = false;
      const load = (async () => {
        for (let i = 0; !stop; i++) {
          await sleep(4);
          const d = await rt.app.inject({
            method: 'POST',
            url: '/v1/decisions',
            payload: { ...DEMO_REQUEST, user: { id: `outage-user-${i % 200}` } },
          });
          if (d.statusCode === 204) {
            decisions.noAd++;
            continue;
          }
          if (d.statusCode !== 200) {
            failures.push(`${phase} decision ${d.statusCode} ${d.body}`);
            continue;
          }
          decisions.ad++;
          const body = d.json() as {
            decision_id: string;
            tracking: { impression_url: string; click_url: string };
          };
          const p = phase;
          const imp = await rt.app.inject({ url: pathOf(body.tracking.impression_url) });
          if (imp.statusCode === 200)
            accepted.push({ key: `impression:${body.decision_id}`, phase: p });
          else failures.push(`${p} impression ${imp.statusCode} ${imp.body}`);
          if (i % 3 === 0) {
            const clk = await rt.app.inject({ url: pathOf(body.tracking.click_url) });
            if (clk.statusCode === 302)
              accepted.push({ key: `click:${body.decision_id}`, phase: p });
            else failures.push(`${p} click ${clk.statusCode} ${clk.body}`);
          }
        }
      })();

      await sleep(3_000);
      // Both dependencies stop.
      natsProxy.cut();
      pgProxy.cut();
      phase = 'outage';
      await sleep(OUTAGE_MS);
      // Both come back; traffic goes on a while, then stops.
      natsProxy.restore();
      pgProxy.restore();
      phase = 'after';
      await sleep(5_000);
      stop = true;
      await load;

      // Wait (bounded) until the ledger writer has caught up with every accepted event.
      const keys = accepted.map((a) => a.key);
      let rows = 0;
      for (let t = 0; t < 600 && rows < keys.length; t++) {
        const [r] = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM ledger_events');
        rows = Number(r?.n ?? 0);
        if (rows < keys.length) await sleep(250);
      }
      const spool = await spoolStats(rt);
      const byPhase = (ph: Phase) => accepted.filter((a) => a.phase === ph).length;

      console.info(
        `[outage] ${OUTAGE_MS / 1000} s: accepted before/outage/after ${byPhase('before')}/` +
          `${byPhase('outage')}/${byPhase('after')}, decisions ${decisions.ad} with an ad, ` +
          `${decisions.noAd} without; spooled ${spool.spooled}, replayed ${spool.replayed}`,
      );
      // The server kept serving and accepting throughout.
      expect(failures).toEqual([]);
      expect(decisions.ad).toBeGreaterThan(0);
      expect(byPhase('before')).toBeGreaterThan(0);
      expect(byPhase('outage')).toBeGreaterThan(0);
      expect(byPhase('after')).toBeGreaterThan(0);

      // Exactly once: one row per accepted key, no key twice, nothing else.
      const ledgerRows = await db.query<{ event_key: string; n: string }>(
        'SELECT event_key, count(*)::text AS n FROM ledger_events GROUP BY event_key',
      );
      expect(ledgerRows.filter((r) => r.n !== '1')).toEqual([]);
      expect(new Set(keys).size).toBe(keys.length);
      expect(ledgerRows.map((r) => r.event_key).sort()).toEqual([...keys].sort());

      // The outage's events went through the spool, and it was replayed entirely.
      expect(spool.spooled).toBeGreaterThanOrEqual(byPhase('outage'));
      expect(spool.replayed).toBe(spool.spooled);
      expect(spool.mode).toBe('direct');

      // The stream holds each accepted event once, in acceptance order (in-order replay).
      const inStream = (await streamIds(nc, stream)).filter(
        (x) => x.startsWith('impression:') || x.startsWith('click:'),
      );
      expect(inStream).toEqual(keys);

      clearInterval(ticker);
      await rt.close();
      closed = true;
    },
    OUTAGE_MS + 240_000,
  );
});

/** The runtime's spool statistics (its event log is the spooling one when NATS is set). */
async function spoolStats(
  rt: TestRuntime,
): Promise<{ spooled: number; replayed: number; mode: string }> {
  const log = rt.userData.eventLog as unknown as {
    stats?: () => { spooled: number; replayed: number; mode: string };
    drained?: (ms: number) => Promise<boolean>;
  };
  if (log.stats === undefined || log.drained === undefined) {
    throw new Error('the runtime with NATS should use the spooling event log');
  }
  await log.drained(60_000);
  return log.stats();
}
