import { describe, expect, it } from 'vitest';
import type { AnyEvent, AppendResult } from '../../src/ports/event-log.js';
import { BoundedPublisher, PublishRejectedError } from '../../src/stream/publisher.js';
import { impression } from '../contract/event-log.contract.js';

/** A log whose acks the test releases by hand, recording the peak of outstanding appends. */
class ManualLog {
  pending: { event: AnyEvent; resolve: (r: AppendResult) => void; reject: (e: unknown) => void }[] =
    [];
  outstanding = 0;
  peak = 0;
  seq = 0;
  append(event: AnyEvent): Promise<AppendResult> {
    this.outstanding++;
    this.peak = Math.max(this.peak, this.outstanding);
    return new Promise((resolve, reject) => {
      this.pending.push({
        event,
        resolve: (r) => {
          this.outstanding--;
          resolve(r);
        },
        reject: (e) => {
          this.outstanding--;
          reject(e);
        },
      });
    });
  }
  ackAll(duplicate = false): void {
    const batch = this.pending;
    this.pending = [];
    for (const p of batch) p.resolve({ seq: ++this.seq, duplicate });
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('BoundedPublisher', () => {
  it('keeps many appends in flight at once but never more than maxInFlight', async () => {
    const log = new ManualLog();
    const pub = new BoundedPublisher({ log, maxInFlight: 8, maxQueued: 100 });
    const all = Array.from({ length: 50 }, () => pub.publish(impression()));
    await tick();
    expect(log.outstanding).toBe(8); // not 1 (serial) and not 50 (unbounded)
    expect(pub.stats()).toMatchObject({ inFlight: 8, queued: 42 });
    while (log.pending.length > 0) {
      log.ackAll();
      await tick();
    }
    const results = await Promise.all(all);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect(log.peak).toBe(8);
    expect(pub.stats()).toMatchObject({
      published: 50,
      inFlight: 0,
      queued: 0,
      maxInFlightSeen: 8,
    });
  });

  it('refuses at once with reason queue_full when in-flight and queue are full', async () => {
    const log = new ManualLog();
    const pub = new BoundedPublisher({ log, maxInFlight: 2, maxQueued: 3 });
    const accepted = Array.from({ length: 5 }, () => pub.publish(impression()));
    const refused = pub.publish(impression());
    await expect(refused).rejects.toBeInstanceOf(PublishRejectedError);
    await expect(refused).rejects.toMatchObject({ reason: 'queue_full' });
    expect(pub.offer(impression())).toBe(false);
    expect(pub.stats().rejected).toEqual({ queue_full: 2, closed: 0 });
    while (log.pending.length > 0) {
      log.ackAll();
      await tick();
    }
    await Promise.all(accepted);
  });

  it('passes the log’s failure to the caller and counts it; duplicates are counted apart', async () => {
    const log = new ManualLog();
    const pub = new BoundedPublisher({ log });
    const a = pub.publish(impression());
    const b = pub.publish(impression());
    await tick();
    log.pending[0]!.reject(new Error('nats: timeout'));
    log.pending[1]!.resolve({ seq: 7, duplicate: true });
    await expect(a).rejects.toThrow('nats: timeout');
    expect(await b).toEqual({ seq: 7, duplicate: true });
    expect(pub.stats()).toMatchObject({ failed: 1, duplicates: 1, published: 0 });
  });

  it('offer never throws: a later failure is only counted', async () => {
    const log = new ManualLog();
    const pub = new BoundedPublisher({ log });
    expect(pub.offer(impression())).toBe(true);
    await tick();
    log.pending[0]!.reject(new Error('down'));
    await pub.flush();
    expect(pub.stats().failed).toBe(1);
  });

  it('close() waits for queued and in-flight events, then refuses new ones', async () => {
    const log = new ManualLog();
    const pub = new BoundedPublisher({ log, maxInFlight: 1 });
    const all = Array.from({ length: 3 }, () => pub.publish(impression()));
    let closed = false;
    const closing = pub.close().then(() => {
      closed = true;
    });
    for (let i = 0; i < 3; i++) {
      await tick();
      expect(closed).toBe(false);
      log.ackAll();
    }
    await closing;
    expect((await Promise.all(all)).length).toBe(3);
    await expect(pub.publish(impression())).rejects.toMatchObject({ reason: 'closed' });
  });
});
