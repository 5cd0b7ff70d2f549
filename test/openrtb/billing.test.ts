/**
 * BillingNotifier (burl at impression): once per decision, retries with exponential backoff,
 * a bounded queue, every outcome counted. Scripted sends and a recording sleep: no real time.
 */
import { describe, expect, it } from 'vitest';
import {
  BillingNotifier,
  DEFAULT_BILLING,
  type BillingResult,
} from '../../src/exchange/rtb/billing.js';

type SendResult = 'ok' | 'http_error' | 'network_error';

function harness(
  script: SendResult[],
  opts: Partial<ConstructorParameters<typeof BillingNotifier>[1]> = {},
) {
  const sent: string[] = [];
  const sleeps: number[] = [];
  const results: BillingResult[] = [];
  let release: (() => void)[] = [];
  const n = new BillingNotifier(
    {
      send: async (url) => {
        sent.push(url);
        return script.shift() ?? 'ok';
      },
      sleep: async (ms) => {
        sleeps.push(ms);
        await new Promise<void>((r) => release.push(r));
      },
      random: () => 1, // no jitter: the delay is the full backoff
      onResult: (r) => results.push(r),
    },
    {
      ...DEFAULT_BILLING,
      maxAttempts: 4,
      baseDelayMs: 1000,
      maxDelayMs: 3000,
      maxQueue: 2,
      dedupSize: 3,
      ...opts,
    },
  );
  const tick = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  const wake = async () => {
    const r = release;
    release = [];
    for (const f of r) f();
    await tick();
  };
  return { n, sent, sleeps, results, tick, wake };
}

describe('BillingNotifier', () => {
  it('sends once per decision id; a repeat is counted as a duplicate', async () => {
    const h = harness([]);
    h.n.notify('d1', 'https://dsp/bill?1');
    h.n.notify('d1', 'https://dsp/bill?1');
    await h.tick();
    expect(h.sent).toEqual(['https://dsp/bill?1']);
    expect(h.results).toEqual(['duplicate', 'ok']);
  });

  it('retries failures with exponential backoff capped at maxDelayMs, then gives up', async () => {
    const h = harness(['http_error', 'network_error', 'http_error', 'http_error']);
    h.n.notify('d1', 'https://dsp/bill');
    await h.tick();
    for (let i = 0; i < 3; i++) await h.wake();
    expect(h.sent).toHaveLength(4);
    expect(h.sleeps).toEqual([1000, 2000, 3000]);
    expect(h.results).toEqual(['retried', 'retried', 'retried', 'failed']);
    expect(h.n.queued).toBe(0);
  });

  it('stops after the first success', async () => {
    const h = harness(['network_error', 'ok']);
    h.n.notify('d1', 'https://dsp/bill');
    await h.tick();
    await h.wake();
    expect(h.sent).toHaveLength(2);
    expect(h.results).toEqual(['retried', 'ok']);
  });

  it('drops notices beyond maxQueue pending ones', async () => {
    const h = harness(['http_error', 'http_error']);
    h.n.notify('d1', 'https://dsp/1');
    h.n.notify('d2', 'https://dsp/2');
    await h.tick(); // both wait for a retry
    h.n.notify('d3', 'https://dsp/3');
    expect(h.results).toEqual(['retried', 'retried', 'dropped']);
    expect(h.n.queued).toBe(2);
  });

  it('forgets the oldest decision ids beyond dedupSize', async () => {
    const h = harness([], { maxQueue: 10 });
    for (const d of ['a', 'b', 'c', 'd']) h.n.notify(d, `https://dsp/${d}`);
    await h.tick();
    h.n.notify('a', 'https://dsp/a'); // evicted: sent again
    h.n.notify('d', 'https://dsp/d'); // remembered
    await h.tick();
    expect(h.sent.filter((u) => u.endsWith('/a'))).toHaveLength(2);
    expect(h.sent.filter((u) => u.endsWith('/d'))).toHaveLength(1);
  });

  it('close abandons pending retries and takes no more notices', async () => {
    const h = harness(['http_error']);
    h.n.notify('d1', 'https://dsp/bill');
    await h.tick();
    const closed = h.n.close();
    await h.wake();
    await closed;
    h.n.notify('d2', 'https://dsp/2');
    await h.tick();
    expect(h.results).toEqual(['retried', 'abandoned']);
    expect(h.sent).toEqual(['https://dsp/bill']);
  });

  it('tells each notice its final outcome: ok, failed after its attempts, dropped when full', async () => {
    // d1: ok; d2: four failures (maxAttempts 4); d3: ok at once.
    const h = harness(['ok', 'http_error', 'ok', 'http_error', 'http_error', 'http_error']);
    const outcomes: [string, string][] = [];
    const done = (id: string) => (o: string) => outcomes.push([id, o]);
    h.n.notify('d1', 'https://dsp/bill?1', done('d1'));
    await h.tick();
    h.n.notify('d2', 'https://dsp/bill?2', done('d2'));
    await h.tick();
    h.n.notify('d3', 'https://dsp/bill?3', done('d3')); // d2 is waiting to retry: 1 pending
    h.n.notify('d4', 'https://dsp/bill?4', done('d4')); // d2 + d3 pending, queue of 2: dropped
    h.n.notify('d2', 'https://dsp/bill?2', done('d2-again')); // duplicate: no outcome
    for (let i = 0; i < 4; i++) await h.wake();
    expect(outcomes).toEqual([
      ['d1', 'ok'],
      ['d4', 'dropped'], // at once, while d3's send is still in flight
      ['d3', 'ok'],
      ['d2', 'failed'],
    ]);
  });
});
