/**
 * SpoolingEventLog: an EventLog that keeps accepting events while the real log (NATS) is down,
 * by writing them to a local disk spool and replaying them, in order, when it is back
 * (issue 7, "Backpressure").
 *
 * Guarantees
 * - An append resolves only when the event is durable: acknowledged by the inner log, or synced
 *   to the local spool (`spooled: true`). Both survive a crash of this process.
 * - Order: once one event has gone to the spool, every later event goes there too, until the
 *   replayer has emptied it; so events reach the log in the order they were accepted.
 * - Replay is at-least-once (a crash between the log's ack and the spool's cursor commit sends
 *   a record again); the log deduplicates by event id and the ledger by event key.
 * - Bounded: when the spool is full, `append` rejects with SpoolFullError; the caller answers
 *   503 and the client retries: nothing is dropped silently.
 * - `isAvailable` (the NATS connection's state) lets appends go straight to the spool while the
 *   connection is known to be down, instead of waiting for a publish timeout each.
 * Consumers, `lastSeq` and `dedupWindowMs` are the inner log's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AnyEvent,
  AppendResult,
  ConsumerOptions,
  EventConsumer,
  EventLog,
} from '../ports/event-log.js';
import type { DiskSpool } from './disk-spool.js';

export interface SpoolingEventLogOptions {
  inner: EventLog;
  spool: DiskSpool;
  isAvailable?: () => boolean;
  /** Wait between replay attempts while the log is down; default 500 ms. */
  retryMs?: number;
  /** Records replayed per round trip; default 200. */
  replayBatch?: number;
  onError?: (e: unknown) => void;
}

export interface SpoolStats {
  mode: 'direct' | 'spooling';
  spooled: number;
  replayed: number;
  spoolBytes: number;
  replayFailures: number;
}

export class SpoolingEventLog implements EventLog {
  readonly durable = true;
  private mode: 'direct' | 'spooling';
  private spoolWrites = 0;
  private replaying: Promise<void> | null = null;
  private closed = false;
  private readonly st = { spooled: 0, replayed: 0, replayFailures: 0 };

  constructor(private readonly opts: SpoolingEventLogOptions) {
    // Records left by a previous run are replayed first.
    this.mode = opts.spool.isEmpty ? 'direct' : 'spooling';
    if (this.mode === 'spooling') this.kick();
  }

  get dedupWindowMs(): number {
    return this.opts.inner.dedupWindowMs;
  }

  async append(event: AnyEvent): Promise<AppendResult> {
    if (this.mode === 'direct' && this.opts.isAvailable?.() !== false) {
      try {
        return await this.opts.inner.append(event);
      } catch (e) {
        this.opts.onError?.(e);
        // Fall through: this event and every later one go to the spool.
      }
    }
    this.mode = 'spooling';
    this.spoolWrites++;
    try {
      await this.opts.spool.append(JSON.stringify(event));
      this.st.spooled++;
    } finally {
      this.spoolWrites--;
    }
    this.kick();
    // Durable on local disk; the log has not seen it yet, so duplicates are not known here.
    return { seq: 0, duplicate: false, spooled: true };
  }

  private kick(): void {
    this.replaying ??= this.replay().finally(() => {
      this.replaying = null;
    });
  }

  private async replay(): Promise<void> {
    const retryMs = this.opts.retryMs ?? 500;
    while (!this.closed) {
      const { records, next } = await this.opts.spool.peek(this.opts.replayBatch ?? 200);
      if (records.length === 0) {
        // Back to direct appends only when nothing is on its way into the spool either.
        if (this.spoolWrites === 0 && this.opts.spool.isEmpty) {
          this.mode = 'direct';
          return;
        }
        await sleep(5);
        continue;
      }
      if (this.opts.isAvailable?.() === false) {
        await sleep(retryMs);
        continue;
      }
      try {
        // One connection keeps publish order, so a batch may be in flight at once.
        await Promise.all(records.map((r) => this.opts.inner.append(JSON.parse(r) as AnyEvent)));
        await this.opts.spool.commit(next);
        this.st.replayed += records.length;
      } catch (e) {
        this.st.replayFailures++;
        this.opts.onError?.(e);
        await sleep(retryMs);
      }
    }
  }

  /** Resolves when the spool is empty and appends go straight to the log again. */
  async drained(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.mode === 'direct' && this.opts.spool.isEmpty) return true;
      await sleep(20);
    }
    return false;
  }

  /** How full the spool is, 0..1 (the decision route sheds at 0.9, src/server/plugins/load-shed.ts). */
  fill(): number {
    return this.opts.spool.bytes / this.opts.spool.capacity;
  }

  stats(): SpoolStats {
    return { mode: this.mode, ...this.st, spoolBytes: this.opts.spool.bytes };
  }

  consumer(name: string, opts?: ConsumerOptions): Promise<EventConsumer> {
    return this.opts.inner.consumer(name, opts);
  }

  lastSeq(): Promise<number> {
    return this.opts.inner.lastSeq();
  }

  /** Stops replaying (the spool stays on disk for the next start) and closes both. */
  async close(): Promise<void> {
    this.closed = true;
    await this.replaying;
    await this.opts.spool.close();
    await this.opts.inner.close();
  }
}
