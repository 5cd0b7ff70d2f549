/**
 * ProfileInterests: the stream consumer that updates a consenting user's profile interests
 * from click events (issue 7 item 4, "updated by events").
 *
 * The rule (said plainly):
 * - A click event v2 carrying `user_key` (the hashed profile key, never a raw id) on an ad of
 *   campaign C raises the user's score of each interest C targets (`targeting.interests`, read
 *   from the serving index) by `INTEREST_CLICK_STEP` (+0.05), at most
 *   `MAX_CATEGORIES_PER_CLICK` (5) interests per click, each score capped at 1 by the store.
 *   Campaigns and creatives carry no IAB category field (src/core/domain/entities.ts); the
 *   interests a campaign targets are the category signal the platform has. A click on a
 *   campaign with no targeted interests, or one no longer in the serving index, changes nothing.
 * - Only a user with an existing profile whose `consent.personalization` is true; a user
 *   without a profile gets none (the store's `addInterests` would create one).
 * - Erased users: the erasure tombstones the key before it deletes the profile, so the
 *   profile read finds nothing, and the store's `addInterests` refuses a tombstoned key
 *   atomically (reason `erased`), so a click in flight during an erasure cannot bring the
 *   profile back.
 * - The update goes through `apply` (the runtime passes `UserService.addInterestsByKey`), the
 *   same path as `POST /v1/users/:id/interests`: the L1/L2 copies are dropped and an
 *   invalidation event tells the other processes.
 * - One durable consumer (`profile-interests`) is shared by every process, so each click is
 *   handled by one process (an ephemeral per-process consumer would add the step once per
 *   process). A new consumer starts at new events (no replay of the log's history).
 * - Delivery is at least once: an event is acked after its update; a failed update is nak'ed
 *   and comes back after a second. The store keeps no event ids, so a redelivery to
 *   another process (or after a restart) can add the step twice; this process remembers the
 *   last `MAX_REMEMBERED_EVENTS` event ids it applied and skips them. The effect of a
 *   duplicate is bounded: one more step, and never above 1.
 * - Race left open: a profile deleted WITHOUT erasure between the read and the update comes
 *   back holding only these interests and no consent (`NO_CONSENT`), which the decision path
 *   does not use.
 * - Never on the decision path: a background loop; its failures go to `onError`.
 */
import type { EventConsumer, EventEnvelope, EventLog } from '../ports/event-log.js';
import {
  USER_KEY_PATTERN,
  type InterestUpdateResult,
  type UserProfile,
} from '../ports/profile-store.js';
import { ConsumerLoop } from './consumer-loop.js';

/** Score added to an interest per click on an ad of a campaign targeting it. */
export const INTEREST_CLICK_STEP = 0.05;
/** Interests raised by one click at most (a campaign may target many). */
export const MAX_CATEGORIES_PER_CLICK = 5;
/** Event ids this process remembers having applied (bounded; see the header). */
const MAX_REMEMBERED_EVENTS = 100_000;
/** A failed update is delivered again after this delay. */
const RETRY_DELAY_MS = 1_000;

export interface ProfileInterestsOptions {
  log: EventLog;
  /** The stored profile (fresh consent), or null. */
  getProfile: (userKey: string) => Promise<UserProfile | null>;
  /** Adds the deltas and invalidates the cached profile (UserService.addInterestsByKey). */
  apply: (
    userKey: string,
    deltas: Readonly<Record<string, number>>,
  ) => Promise<InterestUpdateResult>;
  /** The interests a campaign targets (empty when unknown). */
  categoriesOf: (campaignId: string) => readonly string[];
  batchSize?: number;
  fetchWaitMs?: number;
  ackWaitMs?: number;
  onError?: (e: unknown) => void;
}

export interface ProfileInterestsStats {
  clicks: number;
  applied: number;
  noUserKey: number;
  noCategory: number;
  noProfile: number;
  noConsent: number;
  erased: number;
  duplicates: number;
  failures: number;
}

export class ProfileInterests {
  private consumer: EventConsumer | null = null;
  private readonly runner = new ConsumerLoop(
    (c) => this.runOnce(c),
    (e) => this.opts.onError?.(e),
  );
  private readonly seen = new Set<string>();
  readonly stats: ProfileInterestsStats = {
    clicks: 0,
    applied: 0,
    noUserKey: 0,
    noCategory: 0,
    noProfile: 0,
    noConsent: 0,
    erased: 0,
    duplicates: 0,
    failures: 0,
  };

  constructor(private readonly opts: ProfileInterestsOptions) {}

  async open(): Promise<void> {
    this.consumer ??= await this.opts.log.consumer('profile-interests', {
      types: ['click'],
      deliver: 'new',
      ackWaitMs: this.opts.ackWaitMs ?? 10_000,
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

  /** One fetch: applies each click, acking it once handled (a failed one is left unacked). */
  async runOnce(consumer: EventConsumer | null = this.consumer): Promise<number> {
    if (consumer === null) throw new Error('ProfileInterests: open() first');
    const batch = await consumer.fetch(this.opts.batchSize ?? 100, this.opts.fetchWaitMs ?? 250);
    for (const d of batch) {
      const e = d.event;
      if (e.type !== 'click') {
        await d.ack();
        continue;
      }
      try {
        await this.handle(e);
        await d.ack();
      } catch (e) {
        this.stats.failures++;
        this.opts.onError?.(e);
        d.nak(RETRY_DELAY_MS);
      }
    }
    return batch.length;
  }

  private async handle(e: EventEnvelope<'click'>): Promise<void> {
    this.stats.clicks++;
    const key = e.data.user_key;
    if (key === undefined || !USER_KEY_PATTERN.test(key)) {
      this.stats.noUserKey++;
      return;
    }
    if (this.seen.has(e.id)) {
      this.stats.duplicates++;
      return;
    }
    const categories = this.opts.categoriesOf(e.data.campaign_id);
    if (categories.length === 0) {
      this.stats.noCategory++;
      return;
    }
    const profile = await this.opts.getProfile(key);
    if (profile === null) {
      this.stats.noProfile++;
      return;
    }
    if (!profile.consent.personalization) {
      this.stats.noConsent++;
      return;
    }
    const deltas: Record<string, number> = {};
    for (const c of categories.slice(0, MAX_CATEGORIES_PER_CLICK)) deltas[c] = INTEREST_CLICK_STEP;
    const r = await this.opts.apply(key, deltas);
    if (r.applied) this.stats.applied++;
    else this.stats.erased++;
    if (this.seen.size >= MAX_REMEMBERED_EVENTS) this.seen.clear();
    this.seen.add(e.id);
  }
}
