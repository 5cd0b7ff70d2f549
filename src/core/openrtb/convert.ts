/**
 * OpenRTB 2.6 → 2.5 field locations for bidders that speak 2.5 (RULES.md rule 11, 2.6
 * Appendix B; prebid-server's `openrtb_ext/convert_down.go` does the same job). The inbound side
 * (2.5 → 2.6) is part of validate-request.ts.
 *
 * Implementation notes
 * - Copy-on-write: only the objects on the changed paths are copied; the shared request (and
 *   the request body other bidders serialise) is never mutated.
 * - 2.6-only fields that have no 2.5 home (`imp.rwdd` → prebid's `imp.ext.prebid.is_rewarded_inventory`
 *   is prebid-specific) are left in place: unknown fields must be tolerated (2.6 §2.6), and a
 *   2.5 bidder ignores them.
 */
import type { BidRequest, Ext } from './types.js';

function moveToExt<T extends { ext?: Ext }>(o: T, keys: readonly (keyof T & string)[]): T {
  const present = keys.filter((k) => o[k] !== undefined);
  if (present.length === 0) return o;
  const copy: T = { ...o, ext: { ...(o.ext ?? {}) } };
  for (const k of present) {
    (copy.ext as Ext)[k] = o[k];
    delete copy[k];
  }
  return copy;
}

export function toOpenRtb25(req: BidRequest): BidRequest {
  const out: BidRequest = { ...req };
  if (req.regs) out.regs = moveToExt(req.regs, ['gdpr', 'us_privacy']);
  if (req.user) out.user = moveToExt(req.user, ['consent', 'eids']);
  if (req.source) out.source = moveToExt(req.source, ['schain']);
  return out;
}
