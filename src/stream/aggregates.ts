/**
 * WindowedAggregates: the stream consumer that turns impression and click (and, for spend,
 * conversion) events into near-real-time features (issue 7 item 6b), written to the FeatureStore with TTLs:
 *
 * - per ad (creative): `impressions_1h`, `clicks_1h`, `ctr_1h` over the last hour (one-minute
 *   buckets), entity `ad:<creative_id>`, TTL 1 h;
 * - per advertiser (impression, click and CPA conversion spend): `spend_1h_micros` (the spend
 *   pace over the last hour) and `spend_today_micros` (since 00:00 UTC), entity `advertiser:<advertiser_id>`, TTL 24 h;
 * - per user (events v2 carry `user_key`, the hashed profile key — never a raw id):
 *   `impressions_7d`, `clicks_7d`, `ctr_7d` over the last 7 days (7 daily buckets, so the
 *   window is 6–7 days deep), entity `user:<user_key>`, TTL 7 days. The daily buckets are
 *   stored too (`day_<s>`, `imps_<s>`, `clicks_<s>`, slot s = UTC day mod 7), so a process
 *   that meets a user for the first time since it started seeds its window from the store
 *   instead of overwriting a week of history with what it saw since the restart.
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
 * - Erasure (GDPR, src/exchange/users.ts): an event of a tombstoned user (`isErased`, read
 *   through the tombstone cache) counts for the ad and advertiser but not for the user; when
 *   the tombstone cannot be read the user part is skipped too (`userSkipped`). `forgetUser`
 *   drops the user's window in this process (the erasure calls it before deleting the stored
 *   features); other processes drop theirs on the `gdpr_erasure` invalidation event, which this
 *   consumer reads as well. Erased keys seen by this process are remembered (bounded) so that
 *   a batch already in progress cannot write the user back.
 * - Memory: at most `maxUserWindows` user windows stay in memory once stored (the oldest are
 *   dropped and re-seeded from the store when the user comes back).
 * - Seeding from the store is approximate with several processes: a stored window may already
 *   hold a few events this process then counts again (a restart while others keep writing);
 *   events that arrived while this process was down are not in its window unless another
 *   process stored them.
 * - Time: an event counts at its `occurred_at`; windows are evaluated at the injected clock.
 */
import { SlidingSums } from '../core/aggregates/sliding-window.js';
import type { Clock } from '../ports/clock.js';
import type { AnyEvent, EventConsumer, EventEnvelope, EventLog } from '../ports/event-log.js';
import type { FeatureStore, Features } from '../ports/feature-store.js';
import { ConsumerLoop } from './consumer-loop.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const WEEK_DAYS = 7;
const WEEK = WEEK_DAYS * DAY;
/** Erased keys remembered by one process (bounded; the tombstone store is the real record). */
const MAX_REMEMBERED_ERASURES = 100_000;

export interface WindowedAggregatesOptions {
  log: EventLog;
  features: FeatureStore;
  clock: Clock;
  /** Whether a hashed user key is erased (tombstoned); without it no user is. */
  isErased?: (userKey: string) => Promise<boolean>;
  /**
   * User windows kept in memory after they are stored (default 50,000): past it, the oldest
   * stored ones are dropped and re-seeded from the store on the user's next event, so memory
   * does not grow with the number of users seen in a week.
   */
  maxUserWindows?: number;
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
  private readonly runner = new ConsumerLoop(
    (c) => this.runOnce(c),
    (e) => this.opts.onError?.(e),
  );
  private readonly ads = new Map<string, SlidingSums>();
  private readonly advertisers = new Map<string, AdvertiserState>();
  private readonly dirtyAds = new Set<string>();
  private readonly dirtyAdvertisers = new Set<string>();
  private readonly users = new Map<string, SlidingSums>();
  private readonly dirtyUsers = new Set<string>();
  private readonly erased = new Set<string>();
  readonly stats = { events: 0, writes: 0, writeFailures: 0, userSkipped: 0, userErased: 0 };

  constructor(private readonly opts: WindowedAggregatesOptions) {}

  /** Opens this process's consumer (new events only). */
  async open(): Promise<void> {
    this.consumer ??= await this.opts.log.consumer('aggregates', {
      types: ['impression', 'click', 'conversion', 'invalidation'],
      deliver: 'new',
      ephemeral: true,
      ackWaitMs: 10_000,
    });
  }

  async start(): Promise<void> {
    await this.open();
    if (this.consumer !== null) this.runner.start(this.consumer);
  }

  async stop(): Promise<void> {
    await this.runner.stop(this.consumer);
    this.consumer = null;
  }

  /** One fetch: counts the delivered events, acks them, then writes the touched features. */
  async runOnce(consumer: EventConsumer | null = this.consumer): Promise<number> {
    if (consumer === null) throw new Error('WindowedAggregates: open() first');
    const batch = await consumer.fetch(this.opts.batchSize ?? 500, this.opts.fetchWaitMs ?? 250);
    const users = await this.userStates(batch.map((d) => d.event));
    for (const d of batch) {
      const e = d.event;
      if (e.type === 'invalidation') {
        if (e.data.reason === 'gdpr_erasure') this.forgetUser(e.data.key);
      } else this.count(e, users);
      await d.ack();
    }
    await this.flush();
    return batch.length;
  }

  /**
   * Drops the user's 7-day window in this process and keeps it from coming back (erasure).
   * Synchronous: no write of the user can start after it returns.
   */
  forgetUser(userKey: string): void {
    this.users.delete(userKey);
    this.dirtyUsers.delete(userKey);
    if (this.erased.size >= MAX_REMEMBERED_ERASURES) this.erased.clear();
    this.erased.add(userKey);
  }

  /**
   * The users of a batch whose events may count: not erased, with their window loaded (seeded
   * from the stored daily buckets the first time this process meets them). A user whose
   * tombstone or stored window cannot be read is left out of this batch (counted as skipped).
   */
  private async userStates(events: readonly AnyEvent[]): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const e of events) {
      if ((e.type === 'impression' || e.type === 'click') && e.data.user_key !== undefined)
        keys.add(e.data.user_key);
    }
    const ok = new Set<string>();
    await Promise.all(
      [...keys].map(async (key) => {
        try {
          if (this.erased.has(key) || (await this.opts.isErased?.(key)) === true) {
            this.stats.userErased++;
            return;
          }
          if (!this.users.has(key)) {
            const stored = await this.opts.features.get('user', key);
            if (this.erased.has(key)) return; // erased while we read
            this.users.set(key, seedWeek(stored, this.opts.clock.nowMs()));
          }
          ok.add(key);
        } catch (e) {
          this.stats.userSkipped++;
          this.opts.onError?.(e);
        }
      }),
    );
    return ok;
  }

  private count(e: AnyEvent, users: ReadonlySet<string>): void {
    if (e.type !== 'impression' && e.type !== 'click' && e.type !== 'conversion') return;
    const at = Date.parse(e.occurred_at);
    if (!Number.isFinite(at)) return;
    this.stats.events++;
    const d = e.data;
    if (e.type !== 'conversion') this.countEngagement(e, users, at);
    this.countSpend(d, at);
  }

  /** An impression or click in its user's week and its ad's hour (CTR). */
  private countEngagement(
    e: EventEnvelope<'impression'> | EventEnvelope<'click'>,
    users: ReadonlySet<string>,
    at: number,
  ): void {
    const d = e.data;
    const u = d.user_key;
    if (u !== undefined && users.has(u) && !this.erased.has(u)) {
      const week = this.users.get(u);
      if (week !== undefined) {
        week.add(at, e.type === 'impression' ? [1, 0] : [0, 1]);
        this.dirtyUsers.add(u);
      }
    }
    let ad = this.ads.get(d.creative_id);
    if (ad === undefined) {
      ad = new SlidingSums(MIN, 60, 2);
      this.ads.set(d.creative_id, ad);
    }
    ad.add(at, e.type === 'impression' ? [1, 0] : [0, 1]);
    this.dirtyAds.add(d.creative_id);
  }

  /** Spend pace: impression, click and (CPA) conversion spend per advertiser. */
  private countSpend(d: { advertiser_id: string; spend_micros: number }, at: number): void {
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
    await this.flushUsers(now);
  }

  /** Writes the touched users' 7-day engagement with their daily buckets (see the header). */
  private async flushUsers(now: number): Promise<void> {
    for (const id of [...this.dirtyUsers]) {
      const w = this.users.get(id);
      if (w === undefined || this.erased.has(id)) {
        this.dirtyUsers.delete(id);
        continue;
      }
      const [imps = 0, clicks = 0] = w.sum(now);
      const features: Features = {
        impressions_7d: imps,
        clicks_7d: clicks,
        ctr_7d: imps > 0 ? clicks / imps : 0,
      };
      for (const b of w.buckets(now)) {
        const s = (b.startMs / DAY) % WEEK_DAYS;
        features[`day_${s}`] = b.startMs / DAY;
        features[`imps_${s}`] = b.values[0] ?? 0;
        features[`clicks_${s}`] = b.values[1] ?? 0;
      }
      await this.write(
        () => this.opts.features.put('user', id, features, WEEK),
        () => this.dirtyUsers.delete(id),
      );
      if (w.idle(now)) this.users.delete(id);
    }
    // Bounded memory: drop stored (clean) windows, oldest first; the store has them.
    const max = this.opts.maxUserWindows ?? 50_000;
    if (this.users.size > max) {
      for (const id of this.users.keys()) {
        if (this.users.size <= max) break;
        if (!this.dirtyUsers.has(id)) this.users.delete(id);
      }
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

/**
 * A user's 7-day window (daily buckets), seeded with the stored buckets still inside the week
 * ending at `nowMs` (stored by any process; see the header).
 */
function seedWeek(stored: Features | null, nowMs: number): SlidingSums {
  const week = new SlidingSums(DAY, WEEK_DAYS, 2);
  if (stored === null) return week;
  for (let s = 0; s < WEEK_DAYS; s++) {
    const day = stored[`day_${s}`];
    if (day === undefined || !Number.isSafeInteger(day)) continue;
    const startMs = day * DAY;
    if (startMs > nowMs - WEEK && startMs <= nowMs)
      week.add(startMs, [stored[`imps_${s}`] ?? 0, stored[`clicks_${s}`] ?? 0]);
  }
  return week;
}
