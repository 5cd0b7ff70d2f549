/**
 * Active cache invalidation across processes (seed Part 5, "Strategy 2: Active Invalidation",
 * and its hybrid: TTLs for normal updates, events for critical ones such as a GDPR opt-out).
 *
 * - `publishInvalidation` is what the process that changed the store of record calls AFTER the
 *   write: it drops the key from its own cache tiers, then appends an `invalidation` event and
 *   waits for the log's acknowledgement, so the change cannot be forgotten by a crash.
 * - `InvalidationListener` runs in every process: an ephemeral consumer (every process must
 *   see every invalidation, so it is not shared) starting at new events, that applies each
 *   one to the local cache of its namespace (L1, and L2 again, see tiered.ts). A process that
 *   starts later needs no history: its L1 is empty.
 * - Failures to apply (L2 unreachable) are nak'ed and retried; unknown namespaces are acked
 *   and counted (closed enum of outcomes).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EVENT_SCHEMA_VERSIONS,
  type EventConsumer,
  type EventEnvelope,
  type EventLog,
  type EventPublisher,
  type InvalidationReason,
} from '../ports/event-log.js';

/** What a cache needs to offer to be invalidated by events (TieredCache does). */
export interface Invalidatable {
  invalidate(id: string): Promise<void>;
}

export function invalidationEvent(
  namespace: string,
  key: string,
  reason: InvalidationReason,
  nowMs: number,
  version?: number,
): EventEnvelope<'invalidation'> {
  return {
    // One business fact = one id: the same change re-sent is deduplicated by the log.
    id: `invalidation:${namespace}:${key}:${version ?? nowMs}`,
    type: 'invalidation',
    v: EVENT_SCHEMA_VERSIONS.invalidation,
    occurred_at: new Date(nowMs).toISOString(),
    data: { namespace, key, reason, ...(version !== undefined ? { version } : {}) },
  };
}

/** Drops the key locally, then records the invalidation for every other process. */
export async function publishInvalidation(
  deps: { cache: Invalidatable; publisher: EventPublisher },
  event: EventEnvelope<'invalidation'>,
): Promise<void> {
  await deps.cache.invalidate(event.data.key);
  await deps.publisher.publish(event);
}

export const InvalidationOutcome = {
  Applied: 'applied',
  UnknownNamespace: 'unknown_namespace',
  Failed: 'failed',
} as const;
export type InvalidationOutcome = (typeof InvalidationOutcome)[keyof typeof InvalidationOutcome];

export interface InvalidationListenerOptions {
  log: EventLog;
  /** The caches of this process by namespace. */
  caches: ReadonlyMap<string, Invalidatable>;
  fetchWaitMs?: number;
  onError?: (e: unknown) => void;
}

export class InvalidationListener {
  private consumer: EventConsumer | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  readonly counts: Record<InvalidationOutcome, number> = {
    applied: 0,
    unknown_namespace: 0,
    failed: 0,
  };

  constructor(private readonly opts: InvalidationListenerOptions) {}

  async start(): Promise<void> {
    if (this.consumer !== null) return;
    this.consumer = await this.opts.log.consumer('invalidations', {
      types: ['invalidation'],
      deliver: 'new',
      ephemeral: true,
      ackWaitMs: 5_000,
    });
    this.stopping = false;
    this.loop = this.run(this.consumer);
  }

  async stop(): Promise<void> {
    if (this.consumer === null) return;
    this.stopping = true;
    await this.consumer.close();
    await this.loop;
    this.consumer = null;
    this.loop = null;
  }

  private async run(consumer: EventConsumer): Promise<void> {
    while (!this.stopping) {
      let batch;
      try {
        batch = await consumer.fetch(100, this.opts.fetchWaitMs ?? 250);
      } catch (e) {
        this.opts.onError?.(e);
        await sleep(500);
        continue;
      }
      for (const d of batch) {
        if (d.event.type !== 'invalidation') {
          await d.ack();
          continue;
        }
        const { namespace, key } = d.event.data;
        const cache = this.opts.caches.get(namespace);
        if (cache === undefined) {
          this.counts.unknown_namespace++;
          await d.ack();
          continue;
        }
        try {
          await cache.invalidate(key);
          this.counts.applied++;
          await d.ack();
        } catch (e) {
          this.counts.failed++;
          this.opts.onError?.(e);
          d.nak(500);
        }
      }
    }
  }
}
