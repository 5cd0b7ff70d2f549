/**
 * MemoryEventLog: the EventLog port in process memory, the embedded default (no NATS needed).
 *
 * Implementation notes
 * - Same semantics as the JetStream adapter, so one contract suite covers both: append order
 *   is the sequence, ids are deduplicated within `dedupWindowMs` (by the injected clock),
 *   named consumers keep their acked position across close/reopen, unacked deliveries come
 *   back after `ackWaitMs`, nak'ed ones after their delay, and several handles on one
 *   consumer name share its work (a work queue, like a JetStream pull consumer).
 * - NOT durable: everything is lost with the process (`durable = false`). Callers that need
 *   "nothing accepted is lost" on this adapter must wait for the consumer's own durable effect
 *   (the ledger commit) before acknowledging anything; see src/exchange/events.ts.
 * - Events are copied through JSON on append, as a wire format would, so a consumer never
 *   shares an object with its producer.
 * - Retention by interest: events that every consumer has acked (or skipped by its type filter)
 *   are dropped, so a long-running server does not grow without bound. A consumer created later
 *   starts at the oldest event still held, not at sequence 1.
 * - Time: the injected clock's wall time dates ids for the dedup window; delivery timing (ack
 *   wait, nak delay, fetch wait) runs on real monotonic time and real timers, as it does over a
 *   network, so a frozen test clock cannot stall a consumer. Waiting fetches are woken by
 *   appends, by consumer/log close and by the earliest redelivery deadline.
 */
import type { Clock } from '../../ports/clock.js';
import type {
  AnyEvent,
  AppendResult,
  ConsumerOptions,
  Delivery,
  EventConsumer,
  EventLog,
} from '../../ports/event-log.js';
import { performance } from 'node:perf_hooks';
import { systemClock } from './clock.js';

export interface MemoryEventLogOptions {
  clock?: Clock;
  /** Default 2 minutes, JetStream's default duplicate window. */
  dedupWindowMs?: number;
}

interface Outstanding {
  deliveryCount: number;
  /** Monotonic ms at which it is delivered again unless acked. */
  readyAtMs: number;
}

interface ConsumerState {
  readonly name: string;
  readonly types: ReadonlySet<string> | null;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  /** Next never-delivered sequence number. */
  next: number;
  outstanding: Map<number, Outstanding>;
}

const DEFAULT_ACK_WAIT_MS = 30_000;

export function createMemoryEventLog(opts: MemoryEventLogOptions = {}): MemoryEventLog {
  return new MemoryEventLog(opts);
}

export class MemoryEventLog implements EventLog {
  readonly durable = false;
  readonly dedupWindowMs: number;
  private readonly clock: Clock;
  private entries: { json: string; type: string }[] = []; // seq = base + index
  private base = 1;
  private readonly ids = new Map<string, { seq: number; atMs: number }>(); // insertion = time order
  private readonly consumers = new Map<string, ConsumerState>();
  private readonly wakers = new Set<() => void>();
  private closed = false;
  private ephemerals = 0;

  constructor(opts: MemoryEventLogOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.dedupWindowMs = opts.dedupWindowMs ?? 120_000;
  }

  async append(event: AnyEvent): Promise<AppendResult> {
    if (this.closed) throw new Error('event log is closed');
    const nowMs = this.clock.nowMs();
    this.pruneIds(nowMs);
    const seen = this.ids.get(event.id);
    if (seen !== undefined) return { seq: seen.seq, duplicate: true };
    this.entries.push({ json: JSON.stringify(event), type: event.type });
    const seq = this.lastSeqSync;
    this.ids.set(event.id, { seq, atMs: nowMs });
    this.wake();
    return { seq, duplicate: false };
  }

  private pruneIds(nowMs: number): void {
    for (const [id, { atMs }] of this.ids) {
      if (atMs + this.dedupWindowMs > nowMs) break;
      this.ids.delete(id);
    }
  }

  async consumer(name: string, opts: ConsumerOptions = {}): Promise<EventConsumer> {
    if (this.closed) throw new Error('event log is closed');
    const key = opts.ephemeral === true ? `${name}#${++this.ephemerals}` : name;
    let state = this.consumers.get(key);
    if (state === undefined) {
      state = {
        name: key,
        types: opts.types !== undefined ? new Set(opts.types) : null,
        ackWaitMs: opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
        maxDeliver: opts.maxDeliver ?? -1,
        next: opts.deliver === 'new' ? this.lastSeqSync + 1 : this.base,
        outstanding: new Map(),
      };
      this.consumers.set(key, state);
    }
    const onClose = opts.ephemeral === true ? () => this.consumers.delete(key) : () => undefined;
    return new MemoryConsumer(this, state, onClose);
  }

  async lastSeq(): Promise<number> {
    return this.lastSeqSync;
  }

  /** Events held now (after interest-based trimming). */
  get retained(): number {
    return this.entries.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
  }

  // ---- used by MemoryConsumer --------------------------------------------------------------

  get isClosed(): boolean {
    return this.closed;
  }

  monotonicMs(): number {
    return performance.now();
  }

  eventAt(seq: number): AnyEvent {
    return JSON.parse(this.entries[seq - this.base]!.json) as AnyEvent;
  }

  typeAt(seq: number): string {
    return this.entries[seq - this.base]!.type;
  }

  get lastSeqSync(): number {
    return this.base + this.entries.length - 1;
  }

  private acksSinceTrim = 0;

  noteAck(): void {
    if (++this.acksSinceTrim >= 256) {
      this.acksSinceTrim = 0;
      this.trim();
    }
  }

  /** Drops the events below every consumer's oldest unfinished one (amortised). */
  trim(): void {
    if (this.consumers.size === 0) return;
    let floor = this.lastSeqSync + 1;
    for (const c of this.consumers.values()) {
      floor = Math.min(floor, c.next);
      for (const seq of c.outstanding.keys()) floor = Math.min(floor, seq);
    }
    const drop = floor - this.base;
    // Slicing copies the array: do it only when it frees at least half of it.
    if (drop >= 1024 && drop * 2 >= this.entries.length) {
      this.entries = this.entries.slice(drop);
      this.base = floor;
    }
  }

  /** Resolves on the next append/close, or after `ms`. */
  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakers.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Wakes every waiting fetch (a consumer handle was closed). */
  notify(): void {
    this.wake();
  }
}

class MemoryConsumer implements EventConsumer {
  private closed = false;

  constructor(
    private readonly log: MemoryEventLog,
    private readonly state: ConsumerState,
    private readonly onClose: () => void,
  ) {}

  get name(): string {
    return this.state.name;
  }

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    const deadline = this.log.monotonicMs() + waitMs;
    for (;;) {
      if (this.closed || this.log.isClosed) return [];
      const batch = this.collect(max);
      if (batch.length > 0) return batch;
      const now = this.log.monotonicMs();
      if (now >= deadline) return [];
      // Sleep until an append, the next redelivery, or the deadline, whichever is first.
      let wakeAt = deadline;
      for (const o of this.state.outstanding.values()) wakeAt = Math.min(wakeAt, o.readyAtMs);
      await this.log.waitForChange(Math.max(1, wakeAt - now));
    }
  }

  private collect(max: number): Delivery[] {
    const s = this.state;
    const now = this.log.monotonicMs();
    const out: Delivery[] = [];
    // Redeliveries first: they are the oldest unfinished work.
    for (const [seq, o] of s.outstanding) {
      if (out.length >= max) return out;
      if (o.readyAtMs > now) continue;
      if (s.maxDeliver > 0 && o.deliveryCount >= s.maxDeliver) {
        s.outstanding.delete(seq); // given up, as JetStream does after max_deliver
        continue;
      }
      o.deliveryCount++;
      o.readyAtMs = now + s.ackWaitMs;
      out.push(this.delivery(seq, o.deliveryCount));
    }
    while (out.length < max && s.next <= this.log.lastSeqSync) {
      const seq = s.next++;
      if (s.types !== null && !s.types.has(this.log.typeAt(seq))) continue; // filtered: skipped
      s.outstanding.set(seq, { deliveryCount: 1, readyAtMs: now + s.ackWaitMs });
      out.push(this.delivery(seq, 1));
    }
    return out;
  }

  private delivery(seq: number, deliveryCount: number): Delivery {
    const s = this.state;
    const log = this.log;
    return {
      event: log.eventAt(seq),
      seq,
      deliveryCount,
      async ack() {
        if (s.outstanding.delete(seq)) log.noteAck();
      },
      nak(delayMs = 0) {
        const o = s.outstanding.get(seq);
        if (o !== undefined) o.readyAtMs = log.monotonicMs() + delayMs;
      },
    };
  }

  async lag(): Promise<number> {
    const s = this.state;
    let n = s.outstanding.size;
    for (let seq = s.next; seq <= this.log.lastSeqSync; seq++) {
      if (s.types === null || s.types.has(this.log.typeAt(seq))) n++;
    }
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.onClose();
    this.log.notify();
  }
}
