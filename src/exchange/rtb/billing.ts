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
 * - Bounded: at most `maxQueue` notices are pending (in flight or waiting for a retry); more are
 *   dropped and counted, so a DSP whose billing endpoint stalls cannot grow our memory.
 * - Not durable: notices pending at shutdown or in a crash are lost (counted as `abandoned` at
 *   `close`). A durable outbox would need the event log; not done.
 * - Every outcome is counted through `onResult` (metrics.ts `adstack_rtb_billing_notices_total`).
 */

export type BillingResult = 'ok' | 'retried' | 'failed' | 'dropped' | 'duplicate' | 'abandoned';
/** How one billing notice ended (the `billing` event's outcome, src/ports/event-log.ts). */
export type BillingOutcome = 'ok' | 'failed' | 'abandoned' | 'dropped';

export interface BillingOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxQueue: number;
  dedupSize: number;
}

export const DEFAULT_BILLING: BillingOptions = {
  maxAttempts: 6,
  baseDelayMs: 2_000,
  maxDelayMs: 60_000,
  maxQueue: 10_000,
  dedupSize: 100_000,
};

export interface BillingDeps {
  /** One attempt; never throws (NoticeSender.sendOnce). */
  send: (url: string) => Promise<'ok' | 'http_error' | 'network_error'>;
  /** Waits `ms`; resolves early (the caller then sees `closed`) when the notifier closes. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  onResult?: (r: BillingResult) => void;
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

  constructor(
    private readonly deps: BillingDeps,
    private readonly opts: BillingOptions = DEFAULT_BILLING,
  ) {}

  /** Notices pending now (in flight or waiting to retry). */
  get queued(): number {
    return this.pending;
  }

  /**
   * Bills decision `decisionId` through `url` (macros already substituted), at most once.
   * `onDone` hears the notice's final outcome (not for a duplicate, nor after close()).
   */
  notify(decisionId: string, url: string, onDone?: (outcome: BillingOutcome) => void): void {
    if (this.abort.signal.aborted) return;
    if (this.seen.has(decisionId)) return this.deps.onResult?.('duplicate');
    if (this.pending >= this.opts.maxQueue) {
      onDone?.('dropped');
      return this.deps.onResult?.('dropped');
    }
    this.seen.add(decisionId);
    if (this.seen.size > this.opts.dedupSize) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.pending++;
    const p = this.run(url)
      .then((outcome) => onDone?.(outcome))
      .finally(() => {
        this.pending--;
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
  }

  private async run(url: string): Promise<BillingOutcome> {
    const sleep = this.deps.sleep ?? defaultSleep;
    const random = this.deps.random ?? Math.random;
    const done = (outcome: BillingOutcome): BillingOutcome => {
      this.deps.onResult?.(outcome);
      return outcome;
    };
    for (let attempt = 1; ; attempt++) {
      const r = await this.deps.send(url);
      if (r === 'ok') return done('ok');
      if (attempt >= this.opts.maxAttempts) return done('failed');
      if (this.abort.signal.aborted) return done('abandoned');
      this.deps.onResult?.('retried');
      const delay = Math.min(this.opts.baseDelayMs * 2 ** (attempt - 1), this.opts.maxDelayMs);
      await sleep(delay * (0.5 + random() / 2), this.abort.signal);
      if (this.abort.signal.aborted) return done('abandoned');
    }
  }

  /** Stops retrying (pending notices are abandoned) and waits for attempts in flight. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.inFlight]);
  }
}
