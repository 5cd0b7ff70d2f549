/**
 * From log events to ledger rows: which events carry money into the ledger, and the checks a
 * consumer makes before trusting a payload (the log only checks the envelope).
 *
 * Every event that does not become a row says why, from a closed enum.
 */
import type { LedgerEvent, LedgerEventKind } from '../ports/ledger.js';
import { EVENT_SCHEMA_VERSIONS, type AnyEvent } from '../ports/event-log.js';

export const LedgerSkipReason = {
  /** Not an impression, click or conversion (decisions, wins, leases … are for others). */
  NotLedgerKind: 'not_ledger_kind',
  /** A schema version this writer does not know (a newer producer): retried later, not acked. */
  UnsupportedVersion: 'unsupported_version',
  /** Fields missing or of the wrong type, negative or fractional money, or an id that does
   * not match the payload. Acked (it can never succeed) and counted. */
  InvalidPayload: 'invalid_payload',
} as const;
export type LedgerSkipReason = (typeof LedgerSkipReason)[keyof typeof LedgerSkipReason];

export type LedgerMapping = { row: LedgerEvent } | { skip: LedgerSkipReason };

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The ledger's idempotency key for a tracking event: one row per (kind, decision). */
export function ledgerKey(kind: LedgerEventKind, decisionId: string): string {
  return `${kind}:${decisionId}`;
}

export function toLedgerRow(e: AnyEvent): LedgerMapping {
  if (e.type !== 'impression' && e.type !== 'click' && e.type !== 'conversion')
    return { skip: LedgerSkipReason.NotLedgerKind };
  // v2 added only the optional user_key (not a ledger column), so v1 events still map.
  if (e.v !== 1 && e.v !== EVENT_SCHEMA_VERSIONS[e.type])
    return { skip: LedgerSkipReason.UnsupportedVersion };
  // The payload came over the wire: check it field by field before trusting its type.
  const d = e.data as unknown as Partial<Record<string, unknown>>;
  if (
    !nonEmpty(d.decision_id) ||
    !nonEmpty(d.advertiser_id) ||
    !nonEmpty(d.campaign_id) ||
    !nonEmpty(d.creative_id) ||
    !nonEmpty(d.placement_id) ||
    typeof d.spend_micros !== 'number' ||
    !Number.isSafeInteger(d.spend_micros) ||
    d.spend_micros < 0 ||
    Number.isNaN(Date.parse(e.occurred_at)) ||
    (e.type === 'conversion' && !nonEmpty(d.conversion_id)) ||
    e.id !== ledgerKey(e.type, d.decision_id)
  ) {
    return { skip: LedgerSkipReason.InvalidPayload };
  }
  return {
    row: {
      event_key: e.id,
      kind: e.type,
      decision_id: d.decision_id,
      advertiser_id: d.advertiser_id,
      campaign_id: d.campaign_id,
      creative_id: d.creative_id,
      placement_id: d.placement_id,
      spend_micros: d.spend_micros,
      occurred_at: e.occurred_at,
      ...(isLeaseIds(d.lease_ids) ? { lease_ids: d.lease_ids } : {}),
    },
  };
}

/** Optional lease ids of a spend row; anything else is left out (the row subtracts nothing). */
function isLeaseIds(v: unknown): v is string[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== '');
}
