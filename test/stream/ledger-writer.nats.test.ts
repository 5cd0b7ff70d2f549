/**
 * The event pipeline on NATS JetStream and PostgreSQL: every acknowledged event is charged
 * exactly once, through a crash between commit and ack and through a database outage.
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsEventLog, type NatsEventLog } from '../../src/adapters/nats/event-log.js';
import { PgLedger } from '../../src/adapters/postgres/ledger.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { LedgerWriter } from '../../src/stream/ledger-writer.js';
import { startEventPipeline } from '../../src/stream/pipeline.js';
import { impression } from '../contract/event-log.contract.js';
import { freshPostgresSchema } from '../helpers/databases.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { FlakyLedger } from './flaky-ledger.js';

const available = (await requireService('nats')) && (await requireService('postgres'));

describe.skipIf(!available)('event pipeline on NATS JetStream + PostgreSQL', () => {
  const connections: NatsConnection[] = [];
  const logs: NatsEventLog[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  async function openLog(): Promise<NatsEventLog> {
    const suffix = randomBytes(5).toString('hex');
    const nc = await connect({ servers: SERVICE_URLS.nats.replace(/^nats:\/\//, '') });
    connections.push(nc);
    const log = await createNatsEventLog({
      connection: nc,
      stream: `TEST_PIPE_${suffix}`,
      subjectPrefix: `test.${suffix}.events`,
    });
    logs.push(log);
    return log;
  }

  async function openLedger(): Promise<PgLedger> {
    const db = await freshPostgresSchema();
    const ledger = new PgLedger(db.driver);
    cleanups.push(async () => {
      await ledger.close();
      await db.close();
    });
    return ledger;
  }

  afterAll(async () => {
    for (const log of logs) await log.destroy().catch(() => undefined);
    for (const nc of connections) await nc.drain();
    for (const c of cleanups) await c();
  });

  it('2,000 concurrent impressions: all acknowledged, each charged once', async () => {
    const log = await openLog();
    const ledger = await openLedger();
    // A generous catch-up bound: CI machines are shared and slow at times.
    const p = await startEventPipeline({ log, ledger, catchUpTimeoutMs: 30_000 });
    const sent = Array.from({ length: 2_000 }, () => impression({ spend_micros: 7 }));
    const acks = await Promise.all(sent.map((e) => p.pipeline.publisher.publish(e)));
    expect(acks.every((a) => !a.duplicate)).toBe(true);
    // The same events again (client retries): duplicates for the log, no new rows.
    const again = await Promise.all(sent.slice(0, 100).map((e) => p.pipeline.publisher.publish(e)));
    expect(again.every((a) => a.duplicate)).toBe(true);
    expect(await p.ledger.totals({})).toEqual({ rows: 2_000, spend_micros: 14_000 });
    expect(p.stats().publisher.maxInFlightSeen).toBeGreaterThan(1);
    await p.close();
  });

  it('a writer that dies after committing but before acking: the next one charges nothing twice', async () => {
    const log = await openLog();
    const ledger = await openLedger();
    for (let i = 0; i < 300; i++) await log.append(impression({ spend_micros: 1 }));
    // First writer: commits rows but its acks never reach the log (as if killed right after).
    const deaf: EventLog = {
      durable: log.durable,
      dedupWindowMs: log.dedupWindowMs,
      append: (e) => log.append(e),
      lastSeq: () => log.lastSeq(),
      close: async () => undefined,
      async consumer(name, opts) {
        const c = await log.consumer(name, opts);
        return {
          name: c.name,
          lag: () => c.lag(),
          close: () => c.close(),
          async fetch(max, waitMs) {
            const ds = await c.fetch(max, waitMs);
            return ds.map((d) => ({ ...d, ack: async () => undefined }));
          },
        };
      },
    };
    const first = new LedgerWriter({ log: deaf, ledger, ackWaitMs: 1_000 });
    await first.start();
    await expect
      .poll(() => ledger.totals({}), { timeout: 10_000 })
      .toEqual({ rows: 300, spend_micros: 300 });
    await first.stop();
    const second = new LedgerWriter({ log, ledger, ackWaitMs: 1_000 });
    await second.start();
    await second.waitForCatchUp(15_000);
    expect(second.stats().inserted).toBe(0);
    expect(second.stats().duplicates).toBeGreaterThanOrEqual(300);
    expect(await ledger.totals({})).toEqual({ rows: 300, spend_micros: 300 });
    await second.stop();
  });

  it('PostgreSQL down: acknowledged events wait in JetStream and land once when it returns', async () => {
    const log = await openLog();
    const ledger = await openLedger();
    const flaky = new FlakyLedger(ledger);
    flaky.down = true;
    const p = await startEventPipeline({ log, ledger: flaky, catchUpTimeoutMs: 15_000 });
    const sent = Array.from({ length: 500 }, () => impression({ spend_micros: 2 }));
    const acks = await Promise.all(sent.map((e) => p.pipeline.publisher.publish(e)));
    expect(acks.every((a) => !a.duplicate)).toBe(true); // accepted while the database is down
    await expect
      .poll(() => p.stats().ledgerWriter.writeFailures, { timeout: 5_000 })
      .toBeGreaterThan(0);
    expect((await ledger.totals({})).rows).toBe(0);
    flaky.down = false;
    expect(await p.ledger.totals({})).toEqual({ rows: 500, spend_micros: 1_000 });
    await p.close();
  });
});
