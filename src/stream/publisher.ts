/**
 * BoundedPublisher: the only way the serving path writes to the event log.
 *
 * Why: an acknowledged JetStream publish is a network round trip. Awaited one at a time they
 * reach ~2.2k msg/s, with ~100 in flight ~12k msg/s (issue 7's measurement), so requests must
 * never queue behind each other's acks. Every caller still awaits ITS OWN acknowledgement
 * (an impression is "recorded" only once the log has it), but up to `maxInFlight` appends are
 * outstanding at once, and the client library coalesces the writes issued in one tick into
 * one socket write (nats.js buffers protocol output until the next flush), so bursts travel
 * as batches.
 *
 * Guarantees
 * - Bounded: at most `maxInFlight` appends outstanding and `maxQueued` waiting. Past that,
 *   `publish` rejects at once with PublishRejectedError(reason 'queue_full'): the caller
 *   sheds (answers 503 and the client retries) instead of this process buffering without
 *   limit and losing everything on a crash.
 * - Nothing is dropped silently: every `publish` settles with the log's ack or an error;
 *   `offer` (fire-and-forget, for events nobody waits on, such as decisions) counts every
 *   refusal and failure in `stats()`.
 * - `close()` refuses new events and waits for queued and in-flight ones to settle.
 * Counters are cumulative numbers, ready for Prometheus counters/gauges.
 */
import {
  PublishRejectReason,
  type AnyEvent,
  type AppendResult,
  type EventLog,
  type EventPublisher,
} from '../ports/event-log.js';

export class PublishRejectedError extends Error {
  constructor(readonly reason: PublishRejectReason) {
    super(`event not published: ${reason}`);
    this.name = 'PublishRejectedError';
  }
}

export interface BoundedPublisherOptions {
  log: Pick<EventLog, 'append'>;
  /** Appends outstanding at once; default 128. */
  maxInFlight?: number;
  /** Events waiting for a free slot; default 10,000. */
  maxQueued?: number;
}

export interface PublisherStats {
  /** Acknowledged as new by the log. */
  published: number;
  /** Acknowledged as duplicates (the id was already in the log). */
  duplicates: number;
  /** The log refused or timed out. */
  failed: number;
  /** Refused by this publisher before reaching the log, by reason. */
  rejected: Record<PublishRejectReason, number>;
  inFlight: number;
  queued: number;
  /** Highest number of appends outstanding at once so far. */
  maxInFlightSeen: number;
}

interface Pending {
  event: AnyEvent;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

export class BoundedPublisher implements EventPublisher {
  private readonly log: Pick<EventLog, 'append'>;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  // A FIFO as an array with a moving head (shift() on a long array is O(n)).
  private queue: Pending[] = [];
  private head = 0;
  private inFlight = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly counters = {
    published: 0,
    duplicates: 0,
    failed: 0,
    rejected: { queue_full: 0, closed: 0 } as Record<PublishRejectReason, number>,
    maxInFlightSeen: 0,
  };

  constructor(opts: BoundedPublisherOptions) {
    this.log = opts.log;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 128);
    this.maxQueued = Math.max(0, opts.maxQueued ?? 10_000);
  }

  /** Appends the event; resolves with the log's acknowledgement. */
  publish(event: AnyEvent): Promise<AppendResult> {
    if (this.closed) return this.refuse(PublishRejectReason.Closed);
    if (this.inFlight >= this.maxInFlight && this.queued >= this.maxQueued) {
      return this.refuse(PublishRejectReason.QueueFull);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      this.pump();
    });
  }

  /** Fire-and-forget: false when refused at once; a later failure is only counted. */
  offer(event: AnyEvent): boolean {
    if (this.closed || (this.inFlight >= this.maxInFlight && this.queued >= this.maxQueued)) {
      this.counters.rejected[
        this.closed ? PublishRejectReason.Closed : PublishRejectReason.QueueFull
      ]++;
      return false;
    }
    this.publish(event).catch(() => undefined); // counted in `failed` by pump()
    return true;
  }

  private refuse(reason: PublishRejectReason): Promise<AppendResult> {
    this.counters.rejected[reason]++;
    return Promise.reject(new PublishRejectedError(reason));
  }

  private get queued(): number {
    return this.queue.length - this.head;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queued > 0) {
      const p = this.queue[this.head]!;
      this.queue[this.head] = undefined as unknown as Pending; // let it be collected
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.inFlight++;
      if (this.inFlight > this.counters.maxInFlightSeen)
        this.counters.maxInFlightSeen = this.inFlight;
      this.log.append(p.event).then(
        (r) => {
          if (r.duplicate) this.counters.duplicates++;
          else this.counters.published++;
          this.settled();
          p.resolve(r);
        },
        (e: unknown) => {
          this.counters.failed++;
          this.settled();
          p.reject(e);
        },
      );
    }
  }

  private settled(): void {
    this.inFlight--;
    this.pump();
    if (this.inFlight === 0 && this.queued === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when nothing is queued or in flight. */
  flush(): Promise<void> {
    if (this.inFlight === 0 && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new events, then waits for the queued and in-flight ones to settle. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  stats(): PublisherStats {
    return {
      ...this.counters,
      rejected: { ...this.counters.rejected },
      inFlight: this.inFlight,
      queued: this.queued,
    };
  }
}
