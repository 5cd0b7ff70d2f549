/**
 * Fault test (issue 7 Done-when): under load, NATS and PostgreSQL become unreachable for a
 * while and come back; every event acknowledged during that time ends up in the ledger exactly
 * once. NATS is shared by everyone on this machine, so it is not stopped: the application
 * reaches it through a TCP proxy that this test cuts (every connection dropped, new ones
 * refused) and restores, which is what the client sees when the server stops. PostgreSQL's
 * outage is a ledger that refuses every write meanwhile.
 *
 * ADSTACK_TEST_OUTAGE_S sets the outage length (default 5 s). The 30 s outage of both
 * services through the runtime's HTTP routes, with TCP proxies in front of the real NATS and
 * PostgreSQL, is test/stream/outage-runtime.nats.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { createNatsEventLog } from '../../src/adapters/nats/event-log.js';
import { PgLedger } from '../../src/adapters/postgres/ledger.js';
import { DiskSpool } from '../../src/stream/disk-spool.js';
import { startEventPipeline } from '../../src/stream/pipeline.js';
import { SpoolingEventLog } from '../../src/stream/spooling-event-log.js';
import { impression } from '../contract/event-log.contract.js';
import { freshPostgresSchema } from '../helpers/databases.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { FlakyLedger } from './flaky-ledger.js';

const available = (await requireService('nats')) && (await requireService('postgres'));
const OUTAGE_MS = Number(process.env.ADSTACK_TEST_OUTAGE_S ?? 5) * 1000;

/** A TCP proxy in front of NATS that can be cut and restored. */
async function natsProxy() {
  const target = new URL(SERVICE_URLS.nats);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 4222), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    async cut() {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      });
    },
    async restore() {
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!available)('outage of NATS and PostgreSQL under load', () => {
  it(
    'every event acknowledged during the outage is in the ledger exactly once afterwards',
    async () => {
      const proxy = await natsProxy();
      const nc = await connect({
        servers: `127.0.0.1:${proxy.port}`,
        reconnectTimeWait: 200,
        maxReconnectAttempts: -1,
      });
      const suffix = randomBytes(5).toString('hex');
      const natsLog = await createNatsEventLog({
        connection: nc,
        stream: `TEST_OUTAGE_${suffix}`,
        subjectPrefix: `test.${suffix}.events`,
        publishTimeoutMs: 1_000,
      });
      const spoolDir = await mkdtemp(join(tmpdir(), 'adstack-outage-'));
      const db = await freshPostgresSchema();
      const ledger = new PgLedger(db.driver);
      const flaky = new FlakyLedger(ledger);
      const log = new SpoolingEventLog({
        inner: natsLog,
        spool: await DiskSpool.open({ dir: spoolDir }),
        isAvailable: () => natsLog.connected,
        retryMs: 200,
      });
      // A 2 s ack wait: events delivered to a pull that the cut connection lost come back soon.
      const p = await startEventPipeline({
        log,
        ledger: flaky,
        ackWaitMs: 2_000,
        catchUpTimeoutMs: 30_000,
      });
      try {
        const acked = new Set<string>();
        let refused = 0;
        let stop = false;
        // Load: 5 impressions every 5 ms (~1,000/s at best) through the bounded publisher.
        const load = (async () => {
          const inFlight: Promise<void>[] = [];
          while (!stop) {
            for (let i = 0; i < 5; i++) {
              const e = impression({ spend_micros: 3 });
              inFlight.push(
                p.pipeline.publisher.publish(e).then(
                  () => void acked.add(e.id),
                  () => void refused++,
                ),
              );
            }
            await sleep(5);
          }
          await Promise.all(inFlight);
        })();

        await sleep(1_000);
        const beforeOutage = acked.size;
        await proxy.cut();
        flaky.down = true;
        await sleep(OUTAGE_MS);
        const duringOutage = acked.size - beforeOutage;
        await proxy.restore();
        // PostgreSQL comes back a second after NATS, so the ledger writer meets it down too.
        await sleep(1_000);
        flaky.down = false;
        await sleep(1_000);
        stop = true;
        await load;

        expect(await log.drained(60_000)).toBe(true);
        const totals = await p.ledger.totals({}); // waits for the ledger writer to catch up
        const st = { spool: log.stats(), pipe: p.stats() };
        // Events kept being accepted while both dependencies were away (into the spool).
        expect(duringOutage).toBeGreaterThan(0);
        expect(st.spool.spooled).toBeGreaterThan(0);
        expect(st.spool.replayed).toBe(st.spool.spooled);
        expect(st.pipe.ledgerWriter.writeFailures).toBeGreaterThan(0);
        // Every acknowledged event is one row, charged once.
        expect(totals).toEqual({ rows: acked.size, spend_micros: 3 * acked.size });
        expect(refused).toBe(0);
      } finally {
        await p.close();
        await ledger.close();
        await db.close();
        await natsLog.destroy().catch(() => undefined);
        await nc.drain().catch(() => undefined);
        await proxy.close();
        await rm(spoolDir, { recursive: true, force: true });
      }
    },
    OUTAGE_MS + 120_000,
  );
});
