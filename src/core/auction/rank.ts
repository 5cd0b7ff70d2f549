/**
 * Ranking: the order of candidates in eCPM space, ties, and the top-(K+1) selection.
 *
 * Implementation notes
 * - Order (issue 3, item 6): eCPM desc; on equal eCPM either (default) the higher raw bid,
 *   then the lower id, or (production option) a seed-derived pseudo-random order. The input
 *   position is the last key, so the order is total even with duplicate ids.
 * - The seeded order hashes (seed, id) with FNV-1a and the murmur3 finaliser (the seed's low 32
 *   bits are used): a pure function, so core/ stays free of Math.random (DESIGN.md §3) and an
 *   auction is replayable from its logged seed. Across seeds, equal-eCPM bids come out in a
 *   pseudo-random order, the "random selection" of the seed's "Tie! (Typically broken by random
 *   selection or bid amount)"; the caller draws the seed from its injected random source.
 * - Nothing is fully sorted. Every mechanism here prices slot k from at most the K+1 best
 *   bids of a tier (GSP: the next one; VCG: all below it down to position K+1), so each tier
 *   keeps a sorted buffer of its K+1 best: O(N·K) instead of O(N log N), and linear in N
 *   (issue 3, item 10).
 */
import type { AuctionBid, TieBreak, Tier } from './types.js';

export interface Entry {
  bid: AuctionBid;
  index: number; // position in the input
  tier: Tier;
  ecpm: number; // rankingEcpmMicros
  /** This bid's own minimum clearing eCPM: max(reserve, impression or deal floor); 0 for house. */
  thresholdEcpm: number;
  tieKey: number; // seeded tie-break hash, computed on first use (-1 = not yet)
}

/** 32-bit FNV-1a over the UTF-16 code units of `id`, started from the seed, then fmix32. */
export function seededTieKey(seed: number, id: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** `true` when `a` ranks strictly before `b`. */
export type Outranks = (a: Entry, b: Entry) => boolean;

export function makeOutranks(tieBreak: TieBreak | undefined): Outranks {
  if (tieBreak === undefined || tieBreak.kind === 'bid_then_id') {
    return (a, b) => {
      if (a.ecpm !== b.ecpm) return a.ecpm > b.ecpm;
      if (a.bid.bid_micros !== b.bid.bid_micros) return a.bid.bid_micros > b.bid.bid_micros;
      if (a.bid.id !== b.bid.id) return a.bid.id < b.bid.id;
      return a.index < b.index;
    };
  }
  const seed = tieBreak.seed | 0;
  const key = (e: Entry): number => {
    if (e.tieKey < 0) e.tieKey = seededTieKey(seed, e.bid.id);
    return e.tieKey;
  };
  return (a, b) => {
    if (a.ecpm !== b.ecpm) return a.ecpm > b.ecpm;
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka < kb;
    if (a.bid.id !== b.bid.id) return a.bid.id < b.bid.id;
    return a.index < b.index;
  };
}

/**
 * Inserts `e` into `top`, kept sorted best-first and at most `capacity` long. Insertion is a
 * backwards scan: capacity is K+1 and K is a handful of slots.
 */
export function insertTop(top: Entry[], e: Entry, capacity: number, outranks: Outranks): void {
  if (top.length === capacity) {
    const last = top[capacity - 1];
    if (last === undefined || !outranks(e, last)) return;
    top.pop();
  }
  let i = top.length;
  top.push(e);
  while (i > 0) {
    const prev = top[i - 1] as Entry;
    if (!outranks(e, prev)) break;
    top[i] = prev;
    i--;
  }
  top[i] = e;
}

/**
 * One tier's share of the auction, as the pricing rules see it: the tier's best bids (best
 * first), how many of them take slots, and the position factors of the slots left to the tier.
 */
export interface Segment {
  ranked: readonly Entry[]; // up to (slots left to the tier) + 1 entries
  winners: number; // the first `winners` entries of `ranked` take the slots, in order
  alphas: readonly number[]; // α of the slots left to this tier, best first
  /** The seller's minimum clearing eCPM common to the tier (per-bid floors are applied after). */
  reserveEcpm: number;
}
