/**
 * Win / loss / billing notices to DSPs (OpenRTB 2.6 §4.2.3, impl §7.2, §7.8; RULES.md rules
 * 56–57), fired server-side over HTTP GET.
 *
 * Implementation notes
 * - A fire-and-forget sink (DESIGN.md §4, the Caffeine rule): a failing or slow notice never
 *   fails or delays an auction; every outcome is counted through `onResult`.
 * - Billing notices are value-bearing for the DSP: a reply other than 200/204 or a network
 *   error is retried every `retryMs` up to `retries` times (impl §7.8: "every 10 s for a
 *   minute"); receivers must be idempotent (impl §7.8), so a retry after a lost reply is safe.
 *   Win and loss notices are tried once.
 * - Each notice has its own timeout; at most `maxInFlight` notices are in flight, extra ones are
 *   dropped and counted (a DSP that stalls its notice endpoint must not grow our memory).
 */
import { Agent, request } from 'undici';

export type NoticeKind = 'win' | 'loss' | 'billing';
export type NoticeResult = 'ok' | 'http_error' | 'network_error' | 'dropped';

export interface NoticeOptions {
  timeoutMs: number;
  retries: number;
  retryMs: number;
  maxInFlight: number;
  onResult?: (kind: NoticeKind, result: NoticeResult) => void;
}

export const DEFAULT_NOTICES: NoticeOptions = {
  timeoutMs: 2000,
  retries: 6,
  retryMs: 10_000,
  maxInFlight: 1000,
};

export class NoticeSender {
  private readonly agent: Agent;
  private inFlight = 0;
  private readonly waits = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(private readonly opts: NoticeOptions = DEFAULT_NOTICES) {
    this.agent = new Agent({ connections: 16, keepAliveTimeout: 10_000 });
  }

  /** Sends `url` (macros already substituted). Never throws, never awaits in the caller's path. */
  fire(kind: NoticeKind, url: string): void {
    if (this.closed) return;
    if (!/^https?:\/\//i.test(url)) return this.opts.onResult?.(kind, 'http_error');
    if (this.inFlight >= this.opts.maxInFlight) return this.opts.onResult?.(kind, 'dropped');
    this.inFlight++;
    void this.attempt(kind, url, kind === 'billing' ? this.opts.retries : 0).finally(() => {
      this.inFlight--;
    });
  }

  /**
   * One GET of `url`, no retry, never throws: what billing.ts builds its own retries on. Not
   * counted in `maxInFlight` (the billing queue bounds itself).
   */
  async sendOnce(url: string): Promise<'ok' | 'http_error' | 'network_error'> {
    if (this.closed) return 'network_error';
    if (!/^https?:\/\//i.test(url)) return 'http_error';
    return this.get(url);
  }

  /** One GET within `timeoutMs`; 200 and 204 are success. Never throws. */
  private async get(url: string): Promise<'ok' | 'http_error' | 'network_error'> {
    try {
      const res = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      await res.body.dump();
      return res.statusCode === 200 || res.statusCode === 204 ? 'ok' : 'http_error';
    } catch {
      return 'network_error';
    }
  }

  private async attempt(kind: NoticeKind, url: string, retriesLeft: number): Promise<void> {
    const result: NoticeResult = await this.get(url);
    if (result !== 'ok' && retriesLeft > 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waits.delete(t);
          resolve();
        }, this.opts.retryMs);
        this.waits.set(t, resolve);
      });
      if (!this.closed) return this.attempt(kind, url, retriesLeft - 1);
    }
    this.opts.onResult?.(kind, result);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [t, resolve] of this.waits) {
      clearTimeout(t);
      resolve(); // the pending retry sees `closed` and stops
    }
    this.waits.clear();
    await this.agent.close();
  }
}
