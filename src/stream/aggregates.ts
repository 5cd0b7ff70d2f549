/**
 * WindowedAggregates: the stream consumer that turns impression and click events into
 * near-real-time features (issue 7 item 6b), written to the FeatureStore with TTLs:
 *
 * - per ad (creative): `impressions_1h`, `clicks_1h`, `ctr_1h` over the last hour (one-minute
 *   buckets), entity `ad:<creative_id>`, TTL 1 h;
 * - per advertiser: `spend_1h_micros` (the spend pace over the last hour) and
 *   `spend_today_micros` (since 00:00 UTC), entity `advertiser:<advertiser_id>`, TTL 24 h.
 *
 * Choices and limits (said plainly):
 * - Every process runs its own ephemeral consumer starting at new events and aggregates ALL
 *   events (not a shared durable consumer, which would split events across processes and make
 *   every process's windows partial). The processes then write the same values; the cost is
 *   one pass over the stream per process. After a restart the windows refill over their
 *   length (an hour, a day for `spend_today_micros`): no history is replayed.
 * - Events are counted when they are delivered and acked at once; a failed feature write
 *   keeps the touched entities dirty and is retried with the next batch, so an event is never
 *   counted twice because of a write failure.
 * - Per-user engagement over 7 days is NOT built: impression and click events carry no user
 *   key (the frequency key is in the tracking token only), so there is nothing to key it by
 *   until the event schema gains one.
 * - Time: an event counts at its `occurred_at`; windows are evaluated at the injected clock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SlidingSums } from '../core/aggregates/sliding-window.js';
import type { Clock } from '../ports/clock.js';
import type { AnyEvent, EventConsumer, EventLog } from '../ports/event-log.js';
import type { FeatureStore } from '../ports/feature-store.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export interface WindowedAggregatesOptions {
  log: EventLog;
  features: FeatureStore;
  clock: Clock;
  batchSize?: number;
  fetchWaitMs?: number;
  onError?: (e: unknown) => void;
}

interface AdvertiserState {
  hour: SlidingSums;
  dayStartMs: number;
  today: number;
}

export class WindowedAggregates {
  private consumer: EventConsumer | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private readonly ads = new Map<string, SlidingSums>();
  private readonly advertisers = new Map<string, AdvertiserState>();
  private readonly dirtyAds = new Set<string>();
  private readonly dirtyAdvertisers = new Set<string>();
  readonly stats = { events: 0, writes: 0, writeFailures: 0 };

  constructor(private readonly opts: WindowedAggregatesOptions) {}

  /** Opens this process's consumer (new events only). */
  async open(): Promise<void> {
    this.consumer ??= await this.opts.log.consumer('aggregates', {
      types: ['impression', 'click'],
      deliver: 'new',
      ephemeral: true,
      ackWaitMs: 10_000,
    });
  }

  async start(): Promise<void> {
    await this.open();
    if (this.loop !== null || this.consumer === null) return;
    this.stopping = false;
    const consumer = this.consumer;
    this.loop = (async () => {
      while (!this.stopping) {
        try {
          await this.runOnce(consumer);
        } catch (e) {
          this.opts.onError?.(e);
          await sleep(500);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.close();
    await this.loop;
    this.loop = null;
    this.consumer = null;
  }

  /** One fetch: counts the delivered events, acks them, then writes the touched features. */
  async runOnce(consumer: EventConsumer | null = this.consumer): Promise<number> {
    if (consumer === null) throw new Error('WindowedAggregates: open() first');
    const batch = await consumer.fetch(this.opts.batchSize ?? 500, this.opts.fetchWaitMs ?? 250);
    for (const d of batch) {
      this.count(d.event);
      await d.ack();
    }
    await this.flush();
    return batch.length;
  }

  private count(e: AnyEvent): void {
    if (e.type !== 'impression' && e.type !== 'click') return;
    const at = Date.parse(e.occurred_at);
    if (!Number.isFinite(at)) return;
    this.stats.events++;
    const d = e.data;
    let ad = this.ads.get(d.creative_id);
    if (ad === undefined) {
      ad = new SlidingSums(MIN, 60, 2);
      this.ads.set(d.creative_id, ad);
    }
    ad.add(at, e.type === 'impression' ? [1, 0] : [0, 1]);
    this.dirtyAds.add(d.creative_id);
    if (d.spend_micros > 0) {
      let adv = this.advertisers.get(d.advertiser_id);
      if (adv === undefined) {
        adv = { hour: new SlidingSums(MIN, 60, 1), dayStartMs: 0, today: 0 };
        this.advertisers.set(d.advertiser_id, adv);
      }
      adv.hour.add(at, [d.spend_micros]);
      const day = Math.floor(at / DAY) * DAY;
      if (day > adv.dayStartMs) {
        adv.dayStartMs = day;
        adv.today = 0;
      }
      if (day === adv.dayStartMs) adv.today += d.spend_micros;
      this.dirtyAdvertisers.add(d.advertiser_id);
    }
  }

  /** Writes the features of every touched entity; failures stay dirty for the next round. */
  async flush(): Promise<void> {
    const now = this.opts.clock.nowMs();
    for (const id of [...this.dirtyAds]) {
      const w = this.ads.get(id);
      if (w === undefined) {
        this.dirtyAds.delete(id);
        continue;
      }
      const [imps = 0, clicks = 0] = w.sum(now);
      await this.write(
        () =>
          this.opts.features.put(
            'ad',
            id,
            { impressions_1h: imps, clicks_1h: clicks, ctr_1h: imps > 0 ? clicks / imps : 0 },
            HOUR,
          ),
        () => this.dirtyAds.delete(id),
      );
      if (w.idle(now)) this.ads.delete(id);
    }
    for (const id of [...this.dirtyAdvertisers]) {
      const a = this.advertisers.get(id);
      if (a === undefined) {
        this.dirtyAdvertisers.delete(id);
        continue;
      }
      const [hour = 0] = a.hour.sum(now);
      const today = Math.floor(now / DAY) * DAY === a.dayStartMs ? a.today : 0;
      await this.write(
        () =>
          this.opts.features.put(
            'advertiser',
            id,
            { spend_1h_micros: hour, spend_today_micros: today },
            DAY,
          ),
        () => this.dirtyAdvertisers.delete(id),
      );
    }
  }

  private async write(put: () => Promise<void>, done: () => void): Promise<void> {
    try {
      await put();
      this.stats.writes++;
      done();
    } catch (e) {
      this.stats.writeFailures++;
      this.opts.onError?.(e);
    }
  }
}
