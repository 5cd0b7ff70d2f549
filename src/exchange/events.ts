/**
 * Impression and click events: verify the signed token, then append one ledger row per
 * (kind, decision) — the idempotency key — with the spend it carries:
 *   impression: cpm campaigns pay price/1000 (half-up to micros); others pay 0;
 *   click:      cpc campaigns pay the click price; others pay 0.
 * CPA conversions arrive with the conversion-tracking issue.
 */
import { roundMicros } from '../core/auction/ecpm.js';
import type { Clock } from '../ports/clock.js';
import type { Ledger } from '../ports/ledger.js';
import type { TrackingClaims, TrackingSigner } from './tracking.js';

export interface EventServiceDeps {
  ledger: Ledger;
  signer: TrackingSigner;
  clock: Clock;
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
    return this.record('impression', claims, spend, nowMs);
  }

  async click(token: string): Promise<RecordedEvent> {
    const nowMs = this.deps.clock.nowMs();
    const claims = this.deps.signer.verify(token, 'clk', nowMs);
    const spend = claims.m === 'cpc' ? claims.pr : 0;
    return this.record('click', claims, spend, nowMs);
  }

  private async record(
    kind: 'impression' | 'click',
    claims: TrackingClaims,
    spend: number,
    nowMs: number,
  ): Promise<RecordedEvent> {
    const { inserted } = await this.deps.ledger.record({
      event_key: `${kind}:${claims.d}`,
      kind,
      decision_id: claims.d,
      advertiser_id: claims.a,
      campaign_id: claims.c,
      creative_id: claims.cr,
      placement_id: claims.p,
      spend_micros: spend,
      occurred_at: new Date(nowMs).toISOString(),
    });
    return { claims, inserted, spend_micros: spend };
  }
}
