/**
 * EventLog: the durable, ordered log every business event goes through (seed Part 4/5: the
 * Kafka event log; here NATS JetStream or an in-process log), and the versioned event schemas.
 *
 * Guarantees
 * - `append` resolves only when the log has accepted the event: for a durable adapter (NATS
 *   JetStream, file storage) that means stored by the server, so an acknowledged event survives
 *   a crash of this process. Only then does an event count as "recorded". `durable` says
 *   whether the adapter survives the process (the in-process adapter does not).
 * - Deduplication by `event.id` (NATS: the `Nats-Msg-Id` header) within the adapter's
 *   `dedupWindowMs`: a second append of an id inside the window is acknowledged with
 *   `duplicate: true` and not stored again. Ids must therefore be deterministic for a business
 *   fact (e.g. `impression:<decision id>`), never random per attempt.
 * - Consumers are durable and named: a consumer's acknowledged position survives closing and
 *   reopening it (and, for durable adapters, restarts). Delivery is at-least-once: an event
 *   delivered and not acked within `ackWaitMs` (or nak'ed) is delivered again, with a higher
 *   `deliveryCount`, until acked or `maxDeliver` is reached. Consumers must be idempotent.
 * - Order: events are delivered in append order (`seq` increases), except that a redelivery
 *   comes after events delivered in the meantime.
 * Left out on purpose: exactly-once delivery (the ledger gets exactly-once *effects* from
 * idempotent inserts instead), transactions across events, partitions/keys (one stream;
 * a Kafka adapter would map `type` to topics and the decision id to the partition key),
 * replay from an arbitrary position (a new consumer name starts from the beginning).
 * Every adapter passes test/contract/event-log.contract.ts.
 */
import type { LossReason } from '../core/reasons.js';

/** Current schema version of each event type. A consumer refuses versions it does not know. */
export const EVENT_SCHEMA_VERSIONS = {
  decision: 1,
  impression: 2,
  click: 2,
  conversion: 1,
  win: 1,
  loss: 1,
  billing: 1,
  lease: 1,
  invalidation: 1,
} as const;
export type EventType = keyof typeof EVENT_SCHEMA_VERSIONS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMA_VERSIONS) as EventType[];

/** The ids every event about one served ad carries. Money is integer micros. */
export interface AdRef {
  decision_id: string;
  advertiser_id: string;
  campaign_id: string;
  creative_id: string;
  placement_id: string;
}

/** Why a cache entry is invalidated (closed enum, seed Part 5 "Cache Invalidation"). */
export const InvalidationReason = {
  Updated: 'updated',
  Deleted: 'deleted',
  GdprErasure: 'gdpr_erasure',
  ConsentWithdrawn: 'consent_withdrawn',
} as const;
export type InvalidationReason = (typeof InvalidationReason)[keyof typeof InvalidationReason];

/**
 * Payloads by type. A breaking change adds a new version and a new payload type.
 * Impression and click v2 = v1 + the optional `user_key` (the hashed profile key of
 * ../exchange/user-key.ts, never a raw id); consumers read both versions. Both may also carry
 * the optional `lease_ids` (the budget leases the decision reserved from, for the ledger row):
 * an optional field that consumers may ignore, so no new version.
 */
export interface EventPayloads {
  /** One decision; `outcome` no_fill carries the closed-enum reason. */
  decision: {
    decision_id: string;
    placement_id: string;
    outcome: 'fill' | 'no_fill';
    reason?: string;
    campaign_id?: string;
    creative_id?: string;
    price_micros?: number;
  };
  impression: AdRef & { spend_micros: number; user_key?: string; lease_ids?: string[] };
  click: AdRef & { spend_micros: number; user_key?: string; lease_ids?: string[] };
  conversion: AdRef & { spend_micros: number; conversion_id: string; lease_ids?: string[] };
  /**
   * A DSP bid won one of our decisions (`POST /v1/decisions`; the win notice `nurl` fires at
   * the same moment). `auction_id` is the BidRequest id sent to the DSPs. Id `win:<decision>`.
   */
  win: { decision_id: string; auction_id: string; bidder: string; price_micros: number };
  /**
   * A DSP bid lost or was rejected, with its IAB loss reason (the `lurl` moment), in a decision
   * or an `/openrtb2/auction`. Keyed by the auction: a lost bid may belong to a no-fill.
   * Id `loss:<auction id>:<bidder>:<bid id>`.
   */
  loss: { auction_id: string; bidder: string; bid_id: string; loss_reason: LossReason };
  /**
   * The outcome of a DSP ad's billing notice (`burl`, fired on its first impression, retried,
   * src/exchange/rtb/billing.ts): sent (`ok`), given up after its attempts (`failed`), left at
   * shutdown (`abandoned`) or never sent because the queue was full (`dropped`).
   * Id `billing:<decision id>`.
   */
  billing: {
    decision_id: string;
    bidder: string;
    price_micros: number;
    outcome: 'ok' | 'failed' | 'abandoned' | 'dropped';
  };
  /**
   * A budget lease granted to, returned by, or shrunk early by (its unreserved part given back)
   * one ad server (src/exchange/budget.ts `onLease`; the lease table in the ledger database
   * holds the same facts). Id `lease:<lease id>:<action>`.
   * An expiry is not an event of its own: an unreturned lease simply passes `expires_at`.
   */
  lease: {
    lease_id: string;
    campaign_id: string;
    period: string;
    server_id: string;
    action: 'grant' | 'return' | 'shrink';
    amount_micros: number;
    expires_at?: string;
  };
  /** Drop a cached key everywhere (L1 in every process, L2). `version` is the new version. */
  invalidation: {
    namespace: string;
    key: string;
    version?: number;
    reason: InvalidationReason;
  };
}

/** The envelope of a new event of the current schema version (ids: see each payload). */
export function newEvent<T extends EventType>(
  type: T,
  id: string,
  atMs: number,
  data: EventPayloads[T],
): EventEnvelope<T> {
  return {
    id,
    type,
    v: EVENT_SCHEMA_VERSIONS[type],
    occurred_at: new Date(atMs).toISOString(),
    data,
  };
}

/** One event as it travels through the log. */
export interface EventEnvelope<T extends EventType = EventType> {
  /** Deterministic id of the business fact; the dedup key (e.g. "impression:<decision id>"). */
  id: string;
  type: T;
  /** Schema version of `data` for this type (EVENT_SCHEMA_VERSIONS when produced here). */
  v: number;
  occurred_at: string; // ISO 8601
  data: EventPayloads[T];
}

export type AnyEvent = { [T in EventType]: EventEnvelope<T> }[EventType];

export interface AppendResult {
  /** Position in the log (for a duplicate: the position of the original). */
  seq: number;
  /** The id was already in the log within the dedup window; nothing new was stored. */
  duplicate: boolean;
  /**
   * Accepted into a local disk spool while the log was unreachable (src/stream/
   * spooling-event-log.ts): durable, replayed later; `seq` is 0 and duplicates are not known.
   */
  spooled?: boolean;
}

export interface ConsumerOptions {
  /** Only these types are handed to this consumer (others are acked and skipped). */
  types?: readonly EventType[];
  /** Redeliver an event not acked within this time; default 30 s. */
  ackWaitMs?: number;
  /** Give up on an event after this many deliveries; default unlimited (-1). */
  maxDeliver?: number;
  /** Where a NEW consumer starts: the oldest event held ('all', default) or the next append. */
  deliver?: 'all' | 'new';
  /**
   * A consumer of this process only (e.g. cache invalidations, which every process must see):
   * not shared with other handles, removed when closed (and by the server after `inactiveMs`
   * without fetches, for a process that died). `name` is then only a prefix.
   */
  ephemeral?: boolean;
  /** Default 60 s. */
  inactiveMs?: number;
}

/** One delivery of one event to one consumer. */
export interface Delivery {
  event: AnyEvent;
  seq: number;
  /** 1 on the first delivery, higher on redeliveries. */
  deliveryCount: number;
  /**
   * Done with it: it is not delivered to this consumer again. Resolves once the ack is sent;
   * the log may apply it a moment later (`lag()` can still count it briefly), and a lost ack
   * only means one more delivery.
   */
  ack(): Promise<void>;
  /** Not processed: deliver again after `delayMs` (default: at once). */
  nak(delayMs?: number): void;
}

export interface EventConsumer {
  readonly name: string;
  /**
   * Up to `max` deliveries: waits up to `waitMs` for the first one, then returns what is
   * available without waiting further (so a busy consumer gets batches, an idle one waits).
   * Resolves to [] when nothing arrived in time or the consumer is closed.
   */
  fetch(max: number, waitMs: number): Promise<Delivery[]>;
  /** Events this consumer has not acked yet (pending + delivered-unacked): its lag. */
  lag(): Promise<number>;
  /** Stops fetching. Delivered but unacked events are redelivered (to the next opener). */
  close(): Promise<void>;
}

export interface EventLog {
  readonly durable: boolean;
  readonly dedupWindowMs: number;
  append(event: AnyEvent): Promise<AppendResult>;
  /** Opens (creating if needed) the durable consumer `name`. */
  consumer(name: string, opts?: ConsumerOptions): Promise<EventConsumer>;
  /** Last appended position (0 when empty). */
  lastSeq(): Promise<number>;
  close(): Promise<void>;
}

/**
 * What the decision and event paths see: a bounded publisher in front of the log
 * (src/stream/publisher.ts). `publish` resolves with the log's acknowledgement; it rejects with
 * a PublishRejectedError (reason from a closed enum) rather than queue without bound.
 */
export interface EventPublisher {
  publish(event: AnyEvent): Promise<AppendResult>;
}

/**
 * The event log as the serving path's event service sees it (assembled by
 * src/stream/pipeline.ts): the publisher, whether an ack is durable, and, for a log that is
 * not durable, a way to wait for the ledger writer's commit of one event.
 */
export interface EventPipeline {
  publisher: EventPublisher;
  /** True when an acknowledged append survives this process (JetStream). */
  durable: boolean;
  /** Waits for the ledger writer's commit of one event id (rejects on timeout). */
  awaitCommit(id: string): { promise: Promise<{ inserted: boolean }>; cancel(): void };
}

/** Why the publisher refused an event without trying the log. */
export const PublishRejectReason = {
  QueueFull: 'queue_full',
  Closed: 'closed',
} as const;
export type PublishRejectReason = (typeof PublishRejectReason)[keyof typeof PublishRejectReason];
