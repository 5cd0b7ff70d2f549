/**
 * The event pipeline of one process: bounded publisher → event log → ledger writer, assembled
 * around an already-opened EventLog (the composition root chooses the adapter).
 *
 * - `pipeline` is what the event service needs (src/exchange/events.ts).
 * - `ledger` is the ledger with read-your-writes totals: `totals()` first waits (bounded) until
 *   the ledger writer has caught up with the log, so a report or test that reads after an
 *   acknowledged impression sees its row even when the log acknowledged before the ledger
 *   committed (JetStream). If the writer is still behind after `catchUpTimeoutMs` the totals
 *   are read anyway (they may then be behind; the writer's lag says by how much).
 * - `close()` refuses new events, waits for in-flight appends, and stops the writer; for a log
 *   that is not durable it first drains the log into the ledger, since those events exist
 *   nowhere else.
 */
import type { AnyEvent, EventLog, EventPipeline } from '../ports/event-log.js';
import type { Ledger } from '../ports/ledger.js';
import { LedgerWriter, type LedgerWriterStats } from './ledger-writer.js';
import { BoundedPublisher, type PublisherStats } from './publisher.js';

export interface EventPipelineOptions {
  log: EventLog;
  ledger: Ledger;
  /**
   * How long an event waits for its ledger commit on a non-durable log; default 60 s. Long on
   * purpose: the direct ledger write this replaces waited for its commit however long it took,
   * and a 503 after a timeout is ambiguous (the event stays in the log and may still be written;
   * the client's retry is then a no-op).
   */
  commitWaitMs?: number;
  /** Bound of the catch-up wait in `ledger.totals()`; default 5 s. */
  catchUpTimeoutMs?: number;
  /** The ledger writer's ack wait (redelivery delay); default 10 s. */
  ackWaitMs?: number;
  maxInFlight?: number;
  maxQueued?: number;
  onError?: (e: unknown) => void;
}

export interface EventPipelineHandle {
  pipeline: EventPipeline;
  /** Fire-and-forget append through the bounded publisher (false: refused at once, counted). */
  offer(event: AnyEvent): boolean;
  ledger: Ledger;
  log: EventLog;
  stats(): { publisher: PublisherStats; ledgerWriter: LedgerWriterStats };
  close(): Promise<void>;
}

export async function startEventPipeline(opts: EventPipelineOptions): Promise<EventPipelineHandle> {
  const { log, ledger } = opts;
  const commitWaitMs = opts.commitWaitMs ?? 60_000;
  const catchUpTimeoutMs = opts.catchUpTimeoutMs ?? 5_000;
  const publisher = new BoundedPublisher({
    log,
    ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}),
    ...(opts.maxQueued !== undefined ? { maxQueued: opts.maxQueued } : {}),
  });
  const writer = new LedgerWriter({
    log,
    ledger,
    ...(opts.ackWaitMs !== undefined ? { ackWaitMs: opts.ackWaitMs } : {}),
    ...(opts.onError !== undefined ? { onError: opts.onError } : {}),
  });
  await writer.start();
  const consistent: Ledger = {
    record: (e) => ledger.record(e),
    async totals(filter) {
      await writer.waitForCatchUp(catchUpTimeoutMs).catch(() => undefined);
      return ledger.totals(filter);
    },
    close: () => ledger.close(),
  };
  let closing: Promise<void> | null = null;
  return {
    pipeline: {
      publisher,
      durable: log.durable,
      awaitCommit: (id) => writer.awaitCommit(id, commitWaitMs),
    },
    ledger: consistent,
    offer: (event) => publisher.offer(event),
    log,
    stats: () => ({ publisher: publisher.stats(), ledgerWriter: writer.stats() }),
    close() {
      closing ??= (async () => {
        await publisher.close();
        await writer.stop({ drain: !log.durable, drainTimeoutMs: commitWaitMs });
        await log.close();
      })();
      return closing;
    },
  };
}
