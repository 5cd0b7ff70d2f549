/**
 * HTTP to DSPs: one undici Pool per DSP origin (keep-alive connections reused across auctions;
 * seed Part 3 "Connection Pooling"), one hard timeout per call, a body-size cap, gzip both ways
 * when agreed. Never throws: every outcome is data.
 *
 * Implementation notes
 * - `dispatch` with a small handler, not `undici.request`: no stream or promise machinery per
 *   call, which is most of the per-DSP CPU of a naive fan-out (issue 4 benchmark notes).
 * - The timeout resolves the call at once: a DSP that hangs or trickles never holds the auction
 *   past its timeout. The request itself is left to finish for `abortAfterMs` more (its late
 *   reply is read and dropped) and only then aborted: aborting closes the keep-alive
 *   connection, and reconnecting 50 DSPs under load makes the next auction's calls late too
 *   (a spiral seen while benchmarking). A hung request holds a pool connection that long at
 *   most.
 * - Bodies larger than `maxBodyBytes` are aborted as they arrive (a 2 MiB adm is never
 *   buffered whole).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Pool, type Dispatcher } from 'undici';
import type { HttpRequestData } from '../../bidders/types.js';

/** What became of a request after its timeout (see DspHttp.call). */
export type LateOutcome =
  { kind: 'replied'; latencyMs: number } | { kind: 'failed'; latencyMs: number };

export type CallOutcome =
  | { kind: 'response'; status: number; body: string; latencyMs: number }
  | { kind: 'timeout'; latencyMs: number }
  | {
      kind: 'error';
      reason: 'connection' | 'too_large' | 'bad_encoding';
      message: string;
      latencyMs: number;
    };

export interface HttpOptions {
  connectionsPerDsp: number;
  maxBodyBytes: number;
  keepAliveTimeoutMs: number;
  /**
   * How long a request may go on after its timeout before it is aborted. The caller has moved
   * on at the timeout; letting a merely late reply finish keeps its keep-alive connection.
   */
  abortAfterMs: number;
}

export const DEFAULT_HTTP: HttpOptions = {
  connectionsPerDsp: 64,
  maxBodyBytes: 1024 * 1024,
  keepAliveTimeoutMs: 30_000,
  // With 8 failures in a row opening a breaker, a DSP that starts hanging is cut off within
  // 2 s at 5 calls/s and above (its eighth hang is known 1.4 s + timeout + 0.5 s after the first).
  abortAfterMs: 500,
};

interface Target {
  pool: Pool;
  path: string;
}

/** Buffers of shared body strings, gzipped or not: encoded once per distinct body. */
export class BodyCache {
  private readonly plain = new Map<string, Buffer>();
  private readonly gz = new Map<string, Buffer>();
  get(body: string, gzip: boolean): Buffer {
    const m = gzip ? this.gz : this.plain;
    let b = m.get(body);
    if (b === undefined) {
      b = gzip ? gzipSync(body) : Buffer.from(body, 'utf8');
      m.set(body, b);
    }
    return b;
  }
}

export class DspHttp {
  private readonly targets = new Map<string, Target>();

  constructor(
    private readonly opts: HttpOptions = DEFAULT_HTTP,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  private target(uri: string): Target {
    let t = this.targets.get(uri);
    if (t === undefined) {
      const u = new URL(uri);
      t = {
        pool: new Pool(u.origin, {
          connections: this.opts.connectionsPerDsp,
          pipelining: 1,
          keepAliveTimeout: this.opts.keepAliveTimeoutMs,
          // Our own timer ends every call; these are a backstop only.
          headersTimeout: 60_000,
          bodyTimeout: 60_000,
        }),
        path: u.pathname + u.search,
      };
      this.targets.set(uri, t);
    }
    return t;
  }

  /**
   * Calls the DSP; resolves at the reply or at `timeoutMs`. After a timeout, `onLate` reports
   * what became of the request: a late reply (the DSP is alive, only slow) or a failure (an
   * error status, a broken connection, or no reply `abortAfterMs` after the timeout: it hung).
   */
  call(
    req: HttpRequestData,
    timeoutMs: number,
    bodies: BodyCache,
    onLate?: (late: LateOutcome) => void,
  ): Promise<CallOutcome> {
    const started = this.nowMs();
    const { pool, path } = this.target(req.uri);
    const headers: Record<string, string> = req.gzip
      ? { ...req.headers, 'content-encoding': 'gzip' }
      : req.headers;
    const max = this.opts.maxBodyBytes;
    const abortAfterMs = this.opts.abortAfterMs;
    const nowMs = this.nowMs;
    return new Promise<CallOutcome>((resolve) => {
      let done = false;
      let controller: Dispatcher.DispatchController | null = null;
      let killer: NodeJS.Timeout | null = null;
      let timedOut = false;
      let status = 0;
      let gzipped = false;
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (o: CallOutcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(o);
      };
      const stopKiller = (): void => {
        if (killer !== null) clearTimeout(killer);
      };
      const timer = setTimeout(() => {
        finish({ kind: 'timeout', latencyMs: nowMs() - started });
        timedOut = true;
        // Not aborted yet (see the notes): a late reply keeps its connection alive; a DSP that
        // really hangs is cut off `abortAfterMs` later.
        killer = setTimeout(() => controller?.abort(new Error('dsp hang')), abortAfterMs);
        killer.unref();
      }, timeoutMs);
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(c) {
          controller = c;
        },
        onResponseStart(_c, statusCode, hdrs) {
          status = statusCode;
          const enc = hdrs['content-encoding'];
          gzipped = typeof enc === 'string' && enc.toLowerCase().includes('gzip');
        },
        onResponseData(c, chunk) {
          size += chunk.length;
          if (size > max) {
            if (done) {
              stopKiller();
              c.abort(new Error('body too large')); // reported through onResponseError
              return;
            }
            finish({
              kind: 'error',
              reason: 'too_large',
              message: `body over ${max} bytes`,
              latencyMs: nowMs() - started,
            });
            stopKiller();
            c.abort(new Error('body too large'));
            return;
          }
          if (!done) chunks.push(chunk); // a late reply is read and dropped
        },
        onResponseEnd() {
          stopKiller();
          if (done) {
            if (!timedOut) return;
            if (status < 500) onLate?.({ kind: 'replied', latencyMs: nowMs() - started });
            else onLate?.({ kind: 'failed', latencyMs: nowMs() - started });
            return;
          }
          const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          let text: string;
          try {
            text = gzipped
              ? gunzipSync(raw, { maxOutputLength: max }).toString('utf8')
              : raw.toString('utf8');
          } catch (e) {
            finish({
              kind: 'error',
              reason: 'bad_encoding',
              message: (e as Error).message,
              latencyMs: nowMs() - started,
            });
            return;
          }
          finish({ kind: 'response', status, body: text, latencyMs: nowMs() - started });
        },
        onResponseError(_c, err) {
          stopKiller();
          if (done) {
            if (timedOut) onLate?.({ kind: 'failed', latencyMs: nowMs() - started });
            return;
          }
          finish({
            kind: 'error',
            reason: 'connection',
            message: err.message,
            latencyMs: nowMs() - started,
          });
        },
      };
      pool.dispatch(
        { path, method: 'POST', headers, body: bodies.get(req.body, req.gzip) },
        handler,
      );
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].map((t) => t.pool.destroy()));
    this.targets.clear();
  }
}
