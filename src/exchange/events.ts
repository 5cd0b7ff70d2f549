/**
 * Impression, click and conversion events: verify the signed token, then append one ledger
 * row per (kind, decision) — the idempotency key — with the spend it carries:
 *   impression: cpm campaigns pay price/1000 (half-up to micros); others pay 0;
 *   click:      cpc campaigns pay the click price; others pay 0;
 *   conversion: cpa campaigns pay the action price; others pay 0. A conversion is reported
 *               with the decision's CLICK token (the advertiser's postback carries it from the
 *               landing URL) and the advertiser's conversion id; one conversion is charged per
 *               decision (key `conversion:<decision id>`): a second postback, with the same or
 *               another conversion id, is a duplicate and charges nothing.
 *
 * With an event pipeline (issue 7) the row is not written here: the event is appended to the
 * event log through the bounded publisher and the ledger writer (src/stream/ledger-writer.ts)
 * turns it into the row. The response still waits for a DURABLE record, whichever that is:
 *   - durable log (NATS JetStream): the log's ack. The ledger follows asynchronously, so a
 *     PostgreSQL outage delays rows but loses none; `recorded` is "not a duplicate id within
 *     the log's dedup window".
 *   - in-process log (not durable): the ledger commit of this event by the writer, so a crash
 *     cannot lose an acknowledged impression; `recorded` is the ledger's own answer.
 * Either way, a failure to get that record is 503 ADS_ERR_NOT_READY and the client retries with
 * the same token (idempotent: same event id, same ledger key).
 *
 * Frequency caps: an impression whose token carries a user key (a frequency-capped campaign,
 * a request with a user id; the key is a hash, never the raw id) is then counted for that user
 * × campaign, idempotent by the event key, so a repeated open counts once. The count follows
 * the durable record, on every open (a duplicate too): if counting fails the answer is 503
 * ADS_ERR_NOT_READY, and the retry of the same URL — a ledger duplicate — counts it then.
 *
 * Budgets: a token carrying budget leases (`bl`, src/exchange/budget.ts) turns the decision's
 * reservation into spend with BudgetCounters.recordSpend against each lease, idempotent by the
 * event key, BEFORE the durable record: a failure is 503 and the retry counts once; counted
 * but not yet in the ledger errs on the side of under-delivery. A lease lost with the counters
 * (`unknown_lease` after a rebuild) is charged to the period's hold lease instead, or, if the
 * hold cannot take it, as late spend on the rebuild's lease; with no counters at all (lost,
 * not rebuilt yet) the event is 503 until they are. Click or
 * action spend beyond what the lease can take (`exceeds_lease`: the CPC/CPA exposure reserve
 * ran out) is recorded in the ledger and reported as exposure overrun, not refused.
 */
import { roundMicros } from '../core/auction/ecpm.js';
import { AdsError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import {
  EVENT_SCHEMA_VERSIONS,
  type EventEnvelope,
  type EventPipeline,
} from '../ports/event-log.js';
import type { FrequencyCounters } from '../ports/frequency-counters.js';
import type { BudgetCounters } from '../ports/budget-counters.js';
import { holdLeaseId, rebuildLeaseId, type BudgetManager } from './budget.js';
import type { Ledger, LedgerEventKind } from '../ports/ledger.js';
import type { TrackingClaims, TrackingSigner } from './tracking.js';

export interface EventServiceDeps {
  ledger: Ledger;
  signer: TrackingSigner;
  clock: Clock;
  /** Impressions per user × campaign, read by the decision's frequency caps. */
  frequency: FrequencyCounters;
  /** Without it, rows are written to the ledger directly (tests of the bare service). */
  pipeline?: EventPipeline;
  /**
   * Called with every impression once it is durably recorded, before the frequency count
   * (issue 4: a DSP ad's billing notice, src/exchange/rtb/billing.ts). Synchronous and
   * fire-and-forget: a listener must not throw or block.
   */
  onImpression?: ((e: RecordedEvent) => void)[];
  /** Budget counters the spend is recorded in; the manager settles its own reservations. */
  budgets?: { counters: BudgetCounters; manager?: BudgetManager };
}

export interface RecordedEvent {
  claims: TrackingClaims;
  inserted: boolean;
  spend_micros: number;
}

export class EventService {
  constructor(private readonly deps: EventServiceDeps) {}

  async impression(token: string): Promise<RecordedEvent> {
    const nowMs = this.deps.clock.nowMs();
    const claims = this.deps.signer.verify(token, 'imp', nowMs);
    const spend = claims.m === 'cpm' ? roundMicros(claims.pr / 1000) : 0;
    if (spend > 0) await this.recordBudgetSpend('impression', claims, spend);
    const recorded = await this.record('impression', claims, spend, nowMs);
    for (const listener of this.deps.onImpression ?? []) listener(recorded);
    await this.countFrequency(claims, nowMs);
    return recorded;
  }

  /** Counts the impression for its user × campaign (see the notes at the top). */
  private async countFrequency(claims: TrackingClaims, nowMs: number): Promise<void> {
    if (claims.uk === undefined || claims.fw === undefined) return;
    try {
      await this.deps.frequency.increment(
        claims.uk,
        [{ scope: 'campaign', id: claims.c, retainMs: claims.fw }],
        eventKey('impression', claims),
        nowMs,
      );
    } catch (e) {
      throw new AdsError(
        'ADS_ERR_NOT_READY',
        `The impression is recorded but its frequency count is not; retry with the same URL (${
          e instanceof Error ? e.message : String(e)
        })`,
      );
    }
  }

  async click(token: string): Promise<RecordedEvent> {
    const nowMs = this.deps.clock.nowMs();
    const claims = this.deps.signer.verify(token, 'clk', nowMs);
    const spend = claims.m === 'cpc' ? claims.pr : 0;
    if (spend > 0) await this.recordBudgetSpend('click', claims, spend);
    return this.record('click', claims, spend, nowMs);
  }

  /** A conversion postback: the decision's click token and the advertiser's conversion id. */
  async conversion(token: string, conversionId: string): Promise<RecordedEvent> {
    const nowMs = this.deps.clock.nowMs();
    const claims = this.deps.signer.verify(token, 'clk', nowMs);
    const spend = claims.m === 'cpa' ? claims.pr : 0;
    if (spend > 0) await this.recordBudgetSpend('conversion', claims, spend);
    return this.record('conversion', claims, spend, nowMs, conversionId);
  }

  /** The reservation becomes spend in the budget counters (see the notes at the top). */
  private async recordBudgetSpend(
    kind: LedgerEventKind,
    claims: TrackingClaims,
    spend: number,
  ): Promise<void> {
    const budgets = this.deps.budgets;
    if (budgets === undefined || claims.bl === undefined) return;
    const spendKey = eventKey(kind, claims);
    try {
      for (const [period, leaseId] of claims.bl) {
        const req = { campaignId: claims.c, period, spendKey, amountMicros: spend };
        let r = await budgets.counters.recordSpend({ ...req, leaseId });
        let lostLease = false;
        if (r.status === 'unknown_lease') {
          lostLease = true;
          r = await budgets.counters.recordSpend({ ...req, leaseId: holdLeaseId(period) });
        }
        if (r.status === 'unknown_lease' || (lostLease && r.status === 'exceeds_lease')) {
          // No hold, a hold too small, or restored just after that call: counted as late spend
          // on the rebuild's closed lease, so it is never in the ledger without the counters.
          r = await budgets.counters.recordSpend({ ...req, leaseId: rebuildLeaseId(period) });
        }
        // Still unknown: the counters are lost and not rebuilt yet (Redis restarted empty).
        // Recording the event now would put spend in the ledger that the rebuild may miss; the
        // client retries once the counters are back. If they were restored while we asked,
        // the rebuild lease exists now: counted there.
        if (r.status === 'unknown_lease') {
          if ((await budgets.counters.state(req)) === null) {
            throw new Error(`budget counters of ${claims.c} ${period} are being rebuilt`);
          }
          r = await budgets.counters.recordSpend({ ...req, leaseId: rebuildLeaseId(period) });
        }
        if (r.status === 'exceeds_lease' && budgets.manager !== undefined) {
          budgets.manager.exposureOverrunMicros += spend;
        }
      }
    } catch (e) {
      throw new AdsError(
        'ADS_ERR_NOT_READY',
        `The spend could not be counted against the budget now; retry with the same URL (${
          e instanceof Error ? e.message : String(e)
        })`,
      );
    }
    if (kind === 'impression') budgets.manager?.settleLocal(claims.c, claims.bl, claims.d, spend);
  }

  private async record(
    kind: LedgerEventKind,
    claims: TrackingClaims,
    spend: number,
    nowMs: number,
    conversionId = '',
  ): Promise<RecordedEvent> {
    const pipeline = this.deps.pipeline;
    const occurred_at = new Date(nowMs).toISOString();
    const id = eventKey(kind, claims);
    const leaseIds = (claims.bl ?? []).map(([, leaseId]) => leaseId);
    const leases = leaseIds.length > 0 ? { lease_ids: leaseIds } : {};
    if (pipeline === undefined) {
      const { inserted } = await this.deps.ledger.record({
        event_key: id,
        kind,
        decision_id: claims.d,
        advertiser_id: claims.a,
        campaign_id: claims.c,
        creative_id: claims.cr,
        placement_id: claims.p,
        spend_micros: spend,
        occurred_at,
        ...leases,
      });
      return { claims, inserted, spend_micros: spend };
    }
    const ad = {
      decision_id: claims.d,
      advertiser_id: claims.a,
      campaign_id: claims.c,
      creative_id: claims.cr,
      placement_id: claims.p,
      spend_micros: spend,
      ...leases,
    };
    const event: LedgerEnvelope =
      kind === 'conversion'
        ? {
            id,
            type: kind,
            v: EVENT_SCHEMA_VERSIONS[kind],
            occurred_at,
            data: { ...ad, conversion_id: conversionId },
          }
        : {
            id,
            type: kind,
            v: EVENT_SCHEMA_VERSIONS[kind],
            occurred_at,
            data: { ...ad, ...(claims.pu !== undefined ? { user_key: claims.pu } : {}) },
          };
    const inserted = await recordThrough(pipeline, event);
    return { claims, inserted, spend_micros: spend };
  }
}

type LedgerEnvelope =
  EventEnvelope<'impression'> | EventEnvelope<'click'> | EventEnvelope<'conversion'>;

/** The idempotency key of an event: one per (kind, decision). */
function eventKey(kind: LedgerEventKind, claims: TrackingClaims): string {
  return `${kind}:${claims.d}`;
}

/** Appends the event and waits for its durable record (see the notes at the top). */
async function recordThrough(pipeline: EventPipeline, event: LedgerEnvelope): Promise<boolean> {
  // Registered before the append, so a fast commit cannot be missed.
  const commit = pipeline.durable ? null : pipeline.awaitCommit(event.id);
  try {
    const ack = await pipeline.publisher.publish(event);
    if (commit === null) return !ack.duplicate;
    if (ack.duplicate) {
      // The first append of this id is being (or was) written; this one adds nothing.
      commit.cancel();
      return false;
    }
    return (await commit.promise).inserted;
  } catch (e) {
    commit?.cancel();
    throw new AdsError(
      'ADS_ERR_NOT_READY',
      `The event could not be recorded now; retry with the same URL (${
        e instanceof Error ? e.message : String(e)
      })`,
    );
  }
}
