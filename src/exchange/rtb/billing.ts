/**
 * Billing notices (`burl`) of DSP ads won in `POST /v1/decisions`, fired server-side when the
 * impression event arrives (issue 4 item 5; OpenRTB 2.6 §4.2.3, impl §7.8).
 *
 * Implementation notes
 * - At most once per decision: the impression listener (assemble.ts `onImpression`) calls
 *   `notify` only for an impression the event log / ledger recorded for the first time
 *   (`inserted`), and this class also remembers the last `dedupSize` decision ids it took, so a
 *   repeated open of the same impression URL never bills twice. (Across processes and restarts
 *   the first guard is the one that holds: a duplicate id within the log's dedup window.)
 * - Retries: a reply other than 200/204 or a network error is retried up to `maxAttempts`
 *   attempts in all, after `baseDelayMs × 2^n` (capped at `maxDelayMs`, with jitter in
 *   [50 %, 100 %]). The receiver must be idempotent (impl §7.8), so a retry after a lost reply
 *   is safe.
 * - Bounded: at most `maxQueue` notices are pending in memory (in flight or waiting for a
 *   retry), so a DSP whose billing endpoint stalls cannot grow our memory. Beyond that a notice
 *   is recorded in the outbox only (`deferred`) and sent by a later sweep; without an outbox it
 *   is dropped (`dropped`).
 * - Durable with an outbox (`deps.outbox`, PostgreSQL `rtb_billing_notices`, migration 007;
 *   the runtime always gives one): a notice is recorded before its first attempt, each failure
 *   stores the attempts made and the next attempt's time, and success or the last failure closes
 *   the row. The row's primary key (the decision id) makes a notice once-only across processes
 *   and restarts (`duplicate`). Notices cut by `close` (`abandoned`) or by a crash stay pending;
 *   `sweep` (at `start` and every `sweepMs`) claims due ones whose claim has expired and goes on
 *   with their backoff from the stored attempt count (`resumed`). A claim lasts `claimMs` past
 *   the next attempt, so a live process keeps its notices and a dead one's are taken over
 *   after that. A send that happened just before a crash may be sent again: the receiver is
 *   idempotent (impl §7.8), which is what makes this safe. Finished rows are deleted after
 *   `keepFinishedMs`. If the outbox cannot be written the notice is still sent and retried in
 *   memory (`store_error`, not durable).
 * - Without an outbox (bare tests): retries live in memory only and are lost at shutdown.
 * - Every outcome is counted through `onResult` (metrics.ts `adstack_rtb_billing_notices_total`).
 */
import { setMaxListeners } from 'node:events';
import type { BillingOutbox } from '../../ports/billing-outbox.js';

export type BillingResult =
  | 'ok'
  | 'retried'
  | 'failed'
  | 'dropped'
  | 'duplicate'
  | 'abandoned'
  | 'resumed'
  | 'deferred'
  | 'store_error';
/** How one billing notice ended in this process (the `billing` event's outcome, src/ports/event-log.ts). */
export type BillingOutcome = 'ok' | 'failed' | 'abandoned' | 'dropped';

export interface BillingOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxQueue: number;
  dedupSize: number;
  /** How long past its next attempt a notice stays claimed by the process retrying it. */
  claimMs: number;
  /** How often the outbox is swept for due notices nobody holds (after a restart or a crash). */
  sweepMs: number;
  /** How long sent / failed notices are kept in the outbox. */
  keepFinishedMs: number;
}

export const DEFAULT_BILLING: BillingOptions = {
  maxAttempts: 6,
  baseDelayMs: 2_000,
  maxDelayMs: 60_000,
  maxQueue: 10_000,
  dedupSize: 100_000,
  claimMs: 30_000,
  sweepMs: 5_000,
  keepFinishedMs: 7 * 86_400_000,
};

/** At most this many notices are claimed by one sweep. */
const SWEEP_BATCH = 100;
const PRUNE_EVERY_MS = 3_600_000;

export interface BillingDeps {
  /** One attempt; never throws (NoticeSender.sendOnce). */
  send: (url: string) => Promise<'ok' | 'http_error' | 'network_error'>;
  /** Waits `ms`; resolves early (the caller then sees `closed`) when the notifier closes. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  onResult?: (r: BillingResult) => void;
  /** Durable record of pending notices; absent: retries are in memory only. */
  outbox?: BillingOutbox;
  /** Wall-clock epoch ms for the outbox's times (default Date.now). */
  nowMs?: () => number;
  /** An outbox read or write failed (logged by the caller). */
  onStoreError?: (e: unknown) => void;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

export class BillingNotifier {
  private readonly seen = new Set<string>();
  private pending = 0;
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  private lastPruneMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: BillingDeps,
    private readonly opts: BillingOptions = DEFAULT_BILLING,
  ) {
    // Every notice waiting for a retry listens on the one abort signal.
    setMaxListeners(opts.maxQueue + 10, this.abort.signal);
  }

  /** Notices pending now (in flight or waiting to retry). */
  get queued(): number {
    return this.pending;
  }

  /** Sweeps the outbox now and every `sweepMs` (no-op without an outbox). */
  start(): void {
    if (this.deps.outbox === undefined || this.sweeper !== null) return;
    void this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), this.opts.sweepMs);
    this.sweeper.unref();
  }

  /**
   * Bills decision `decisionId` through `url` (macros already substituted), at most once.
   * `onDone` hears the notice's final outcome in this process: not for a duplicate, nor after
   * close(), nor for a notice deferred to the outbox (a later sweep sends it; a notice resumed
   * by a sweep reports only through `onResult`).
   */
  notify(decisionId: string, url: string, onDone?: (outcome: BillingOutcome) => void): void {
    if (this.abort.signal.aborted) return;
    if (this.seen.has(decisionId)) return this.deps.onResult?.('duplicate');
    if (this.pending >= this.opts.maxQueue) {
      const outbox = this.deps.outbox;
      if (outbox === undefined) {
        onDone?.('dropped');
        return this.deps.onResult?.('dropped');
      }
      // Full: recorded unclaimed and due now; a sweep sends it once there is room.
      this.remember(decisionId);
      this.deps.onResult?.('deferred');
      const now = this.now();
      const write = this.store(async () => void (await outbox.add(decisionId, url, now, 0)));
      const p = write.finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
      return;
    }
    this.remember(decisionId);
    this.track(this.first(decisionId, url, onDone));
  }

  /**
   * Claims due notices nobody holds (left by a restart, a crash or another process) and retries
   * them; returns how many were claimed. One sweep at a time.
   */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<number> {
    const outbox = this.deps.outbox;
    const room = Math.min(SWEEP_BATCH, this.opts.maxQueue - this.pending);
    if (outbox === undefined || this.abort.signal.aborted || room <= 0) return 0;
    const now = this.now();
    try {
      const due = await outbox.claimDue(now, now + this.opts.claimMs, room);
      for (const n of due) {
        if (this.abort.signal.aborted) {
          await outbox.release(n.decisionId);
          continue;
        }
        this.remember(n.decisionId);
        this.deps.onResult?.('resumed');
        this.track(this.attempts(n.decisionId, n.url, n.attempts));
      }
      if (now - this.lastPruneMs >= PRUNE_EVERY_MS) {
        this.lastPruneMs = now;
        await outbox.prune(now - this.opts.keepFinishedMs);
      }
      return due.length;
    } catch (e) {
      this.storeError(e);
      return 0;
    }
  }

  private remember(decisionId: string): void {
    this.seen.add(decisionId);
    if (this.seen.size > this.opts.dedupSize) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  private track(run: Promise<void>): void {
    this.pending++;
    const p = run.finally(() => {
      this.pending--;
      this.inFlight.delete(p);
    });
    this.inFlight.add(p);
  }

  private async first(
    decisionId: string,
    url: string,
    onDone?: (outcome: BillingOutcome) => void,
  ): Promise<void> {
    const outbox = this.deps.outbox;
    if (outbox !== undefined) {
      const now = this.now();
      let fresh = true;
      try {
        fresh = await outbox.add(decisionId, url, now, now + this.opts.claimMs);
      } catch (e) {
        this.storeError(e); // sent and retried in memory all the same
      }
      if (!fresh) return this.deps.onResult?.('duplicate');
    }
    return this.attempts(decisionId, url, 0, onDone);
  }

  /** Attempts after the `made` ones already made, with backoff, until sent, failed or closed. */
  private async attempts(
    decisionId: string,
    url: string,
    made: number,
    onDone?: (outcome: BillingOutcome) => void,
  ): Promise<void> {
    const sleep = this.deps.sleep ?? defaultSleep;
    const random = this.deps.random ?? Math.random;
    const outbox = this.deps.outbox;
    for (let attempt = made + 1; ; attempt++) {
      const r = await this.deps.send(url);
      if (r === 'ok' || attempt >= this.opts.maxAttempts) {
        const state = r === 'ok' ? 'sent' : 'failed';
        if (outbox !== undefined)
          await this.store(() => outbox.finish(decisionId, state, attempt, this.now()));
        onDone?.(r === 'ok' ? 'ok' : 'failed');
        return this.deps.onResult?.(r === 'ok' ? 'ok' : 'failed');
      }
      const delay = Math.min(this.opts.baseDelayMs * 2 ** (attempt - 1), this.opts.maxDelayMs);
      // Whole ms: the outbox stores epoch ms as bigint.
      const wait = Math.round(delay * (0.5 + random() / 2));
      if (outbox !== undefined) {
        const next = this.now() + wait;
        // Closing: the notice stays pending, unclaimed, for the next process to resume.
        const claim = this.abort.signal.aborted ? 0 : next + this.opts.claimMs;
        await this.store(() => outbox.retryLater(decisionId, attempt, next, claim));
      }
      if (this.abort.signal.aborted) {
        onDone?.('abandoned');
        return this.deps.onResult?.('abandoned');
      }
      this.deps.onResult?.('retried');
      await sleep(wait, this.abort.signal);
      if (this.abort.signal.aborted) {
        if (outbox !== undefined) await this.store(() => outbox.release(decisionId));
        onDone?.('abandoned');
        return this.deps.onResult?.('abandoned');
      }
    }
  }

  private async store(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (e) {
      this.storeError(e);
    }
  }

  private storeError(e: unknown): void {
    this.deps.onResult?.('store_error');
    this.deps.onStoreError?.(e);
  }

  private now(): number {
    return Math.round((this.deps.nowMs ?? Date.now)());
  }

  /** Stops retrying (pending notices are abandoned, and stay in the outbox) and waits for attempts in flight. */
  async close(): Promise<void> {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    this.abort.abort();
    await this.sweeping;
    await Promise.all([...this.inFlight]);
  }
}
