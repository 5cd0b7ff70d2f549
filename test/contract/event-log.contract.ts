/**
 * The EventLog contract: acknowledged appends, id deduplication, durable named consumers,
 * at-least-once delivery with explicit ack / nak / ack-wait redelivery, type filters, batches.
 * See the guarantees in src/ports/event-log.ts. Run by event-log.memory.test.ts and
 * event-log.nats.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENT_SCHEMA_VERSIONS,
  type AnyEvent,
  type Delivery,
  type EventConsumer,
  type EventLog,
} from '../../src/ports/event-log.js';

export interface EventLogHarness {
  log: EventLog;
  /** A second client of the same log (another process, in effect). */
  another(): Promise<EventLog>;
  close(): Promise<void>;
}

export function impression(
  over: Partial<{ decision_id: string; spend_micros: number; user_key: string }> = {},
): AnyEvent {
  const decision_id = over.decision_id ?? randomUUID();
  return {
    id: `impression:${decision_id}`,
    type: 'impression',
    v: EVENT_SCHEMA_VERSIONS.impression,
    occurred_at: '2026-06-01T12:00:00.000Z',
    data: {
      decision_id,
      advertiser_id: 'adv_1',
      campaign_id: 'cmp_1',
      creative_id: 'cre_1',
      placement_id: 'plc_1',
      spend_micros: over.spend_micros ?? 4_000,
      ...(over.user_key !== undefined ? { user_key: over.user_key } : {}),
    },
  };
}

export function click(decision_id: string = randomUUID()): AnyEvent {
  return {
    id: `click:${decision_id}`,
    type: 'click',
    v: EVENT_SCHEMA_VERSIONS.click,
    occurred_at: '2026-06-01T12:00:01.000Z',
    data: {
      decision_id,
      advertiser_id: 'adv_1',
      campaign_id: 'cmp_1',
      creative_id: 'cre_1',
      placement_id: 'plc_1',
      spend_micros: 50_000,
    },
  };
}

/** Fetches until `n` deliveries arrived or `ms` passed (ack-wait redeliveries take time). */
async function fetchN(c: EventConsumer, n: number, ms = 5_000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const until = Date.now() + ms;
  while (out.length < n && Date.now() < until) {
    out.push(...(await c.fetch(n - out.length, Math.min(500, until - Date.now()))));
  }
  return out;
}

/** Acks everything already in the log for this consumer (until one fetch comes back empty). */
async function drain(c: EventConsumer): Promise<void> {
  for (;;) {
    const ds = await c.fetch(1_000, 200);
    if (ds.length === 0) return;
    await Promise.all(ds.map((d) => d.ack()));
  }
}

let names = 0;
const consumerName = (what: string) => `${what}_${++names}_${randomUUID().slice(0, 8)}`;

export function eventLogContract(adapter: string, open: () => Promise<EventLogHarness>): void {
  describe(`EventLog contract: ${adapter}`, () => {
    let h: EventLogHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    it('acknowledges appends with increasing sequence numbers', async () => {
      const before = await h.log.lastSeq();
      const a = await h.log.append(impression());
      const b = await h.log.append(impression());
      expect(a.duplicate).toBe(false);
      expect(b.seq).toBeGreaterThan(a.seq);
      expect(a.seq).toBeGreaterThan(before);
      expect(await h.log.lastSeq()).toBeGreaterThanOrEqual(b.seq);
    });

    it('deduplicates by event id: the second append is a duplicate of the original', async () => {
      const e = impression();
      const first = await h.log.append(e);
      const again = await h.log.append({ ...e, occurred_at: '2026-06-01T12:00:09.000Z' });
      expect(again).toEqual({ seq: first.seq, duplicate: true });
      const c = await h.log.consumer(consumerName('dedup'));
      const all = await fetchN(c, 1_000, 1_000);
      expect(all.filter((d) => d.event.id === e.id)).toHaveLength(1);
      await Promise.all(all.map((d) => d.ack()));
      await c.close();
    });

    it('concurrent appends of one id store it once', async () => {
      const e = impression();
      const results = await Promise.all(Array.from({ length: 20 }, () => h.log.append(e)));
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(results.map((r) => r.seq)).size).toBe(1);
    });

    it('delivers events in append order with their payloads intact', async () => {
      const c = await h.log.consumer(consumerName('order'));
      await drain(c);
      const sent = Array.from({ length: 25 }, (_, i) => impression({ spend_micros: i }));
      for (const e of sent) await h.log.append(e);
      const got = await fetchN(c, 25);
      expect(got.map((d) => d.event)).toEqual(sent);
      expect(got.every((d) => d.deliveryCount === 1)).toBe(true);
      const seqs = got.map((d) => d.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      await Promise.all(got.map((d) => d.ack()));
      // An ack is applied by the log a moment after ack() resolves (NATS: one-way message).
      await expect.poll(() => c.lag(), { timeout: 2_000 }).toBe(0);
      await c.close();
    });

    it('a fetch returns what is there without waiting for a full batch, and [] after waitMs', async () => {
      const c = await h.log.consumer(consumerName('batch'));
      await drain(c);
      expect(await c.fetch(10, 200)).toEqual([]);
      await h.log.append(impression());
      await h.log.append(impression());
      const got = await fetchN(c, 2, 2_000);
      expect(got).toHaveLength(2);
      await Promise.all(got.map((d) => d.ack()));
      await c.close();
    });

    it('a waiting fetch wakes up for an append', async () => {
      const c = await h.log.consumer(consumerName('wake'));
      await drain(c);
      const waiting = c.fetch(5, 3_000);
      const e = impression();
      setTimeout(() => void h.log.append(e), 100);
      const got = await waiting;
      expect(got.map((d) => d.event.id)).toEqual([e.id]);
      await got[0]!.ack();
      await c.close();
    });

    it('redelivers an unacked event after ackWait, with a higher delivery count', async () => {
      const c = await h.log.consumer(consumerName('redeliver'), { ackWaitMs: 400 });
      await drain(c);
      const e = impression();
      await h.log.append(e);
      const [first] = await fetchN(c, 1);
      expect(first?.event.id).toBe(e.id);
      // Not acked: nothing else comes until the ack wait passes, then the same event again.
      const [second] = await fetchN(c, 1, 5_000);
      expect(second?.event.id).toBe(e.id);
      expect(second?.deliveryCount).toBe(2);
      await second!.ack();
      expect(await c.fetch(1, 800)).toEqual([]);
      await c.close();
    });

    it('redelivers a nak’ed event', async () => {
      const c = await h.log.consumer(consumerName('nak'), { ackWaitMs: 30_000 });
      await drain(c);
      const e = impression();
      await h.log.append(e);
      const [first] = await fetchN(c, 1);
      first!.nak();
      const [again] = await fetchN(c, 1, 3_000);
      expect(again?.event.id).toBe(e.id);
      expect(again?.deliveryCount).toBe(2);
      await again!.ack();
      await c.close();
    });

    it('a durable consumer resumes after close: acked events are not delivered again', async () => {
      const name = consumerName('durable');
      const c1 = await h.log.consumer(name);
      await drain(c1);
      const a = impression();
      await h.log.append(a);
      const got = await fetchN(c1, 1);
      expect(got.map((d) => d.event.id)).toEqual([a.id]);
      await got[0]!.ack();
      await c1.close();
      const b = impression();
      await h.log.append(b);
      // Another client opening the same consumer name continues after `a`.
      const other = await h.another();
      const c2 = await other.consumer(name);
      const next = await fetchN(c2, 1);
      expect(next.map((d) => d.event.id)).toEqual([b.id]);
      await next[0]!.ack();
      expect(await c2.fetch(5, 300)).toEqual([]);
      await c2.close();
    });

    it('two consumers each see every event; a type filter hands out only its types', async () => {
      const all = await h.log.consumer(consumerName('all'));
      const clicks = await h.log.consumer(consumerName('clicks'), { types: ['click'] });
      const both = await h.log.consumer(consumerName('both'), { types: ['click', 'impression'] });
      for (const c of [all, clicks, both]) {
        await drain(c);
      }
      const decision = randomUUID();
      const sent = [impression({ decision_id: decision }), click(decision), impression()];
      for (const e of sent) await h.log.append(e);
      expect(await clicks.lag()).toBe(1);
      const gotAll = await fetchN(all, 3);
      const gotClicks = await fetchN(clicks, 1);
      const gotBoth = await fetchN(both, 3);
      expect(gotAll.map((d) => d.event.id)).toEqual(sent.map((e) => e.id));
      expect(gotBoth.map((d) => d.event.id)).toEqual(sent.map((e) => e.id));
      expect(gotClicks.map((d) => d.event.type)).toEqual(['click']);
      expect(await clicks.fetch(5, 300)).toEqual([]);
      for (const d of [...gotAll, ...gotClicks, ...gotBoth]) await d.ack();
      for (const c of [all, clicks, both]) await c.close();
    });

    it('handles many appends in flight at once: all acknowledged, each delivered once', async () => {
      const c = await h.log.consumer(consumerName('burst'));
      await drain(c);
      const sent = Array.from({ length: 300 }, () => impression());
      const acks = await Promise.all(sent.map((e) => h.log.append(e)));
      expect(acks.every((a) => !a.duplicate)).toBe(true);
      expect(new Set(acks.map((a) => a.seq)).size).toBe(300);
      const got = await fetchN(c, 300, 10_000);
      expect(new Set(got.map((d) => d.event.id))).toEqual(new Set(sent.map((e) => e.id)));
      await Promise.all(got.map((d) => d.ack()));
      // An ack is applied by the log a moment after ack() resolves (NATS: one-way message).
      await expect.poll(() => c.lag(), { timeout: 2_000 }).toBe(0);
      await c.close();
    });

    it("a consumer created with deliver 'new' starts after the last event", async () => {
      await h.log.append(impression());
      const c = await h.log.consumer(consumerName('new'), { deliver: 'new' });
      expect(await c.fetch(10, 300)).toEqual([]);
      const e = impression();
      await h.log.append(e);
      const got = await fetchN(c, 1);
      expect(got.map((d) => d.event.id)).toEqual([e.id]);
      await got[0]!.ack();
      await c.close();
    });

    it('ephemeral consumers of one name are independent: each sees every event', async () => {
      const a = await h.log.consumer('invalidations', { deliver: 'new', ephemeral: true });
      const b = await h.log.consumer('invalidations', { deliver: 'new', ephemeral: true });
      expect(a.name).not.toBe(b.name);
      const e = impression();
      await h.log.append(e);
      const gotA = await fetchN(a, 1);
      const gotB = await fetchN(b, 1);
      expect(gotA.map((d) => d.event.id)).toEqual([e.id]);
      expect(gotB.map((d) => d.event.id)).toEqual([e.id]);
      for (const d of [...gotA, ...gotB]) await d.ack();
      await a.close();
      await b.close();
    });

    it('reports lag: events not yet acked by the consumer', async () => {
      const c = await h.log.consumer(consumerName('lag'));
      await drain(c);
      for (let i = 0; i < 4; i++) await h.log.append(impression());
      expect(await c.lag()).toBe(4);
      const got = await fetchN(c, 4);
      expect(await c.lag()).toBe(4); // delivered, not acked
      await Promise.all(got.slice(0, 3).map((d) => d.ack()));
      await expect.poll(() => c.lag(), { timeout: 2_000 }).toBe(1);
      await got[3]!.ack();
      await expect.poll(() => c.lag(), { timeout: 2_000 }).toBe(0);
      await c.close();
    });
  });
}
