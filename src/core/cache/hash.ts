/**
 * 32-bit key hashing for the frequency sketch (and anything else in core/cache that needs a
 * spread of a key). Pure: no I/O, no randomness.
 *
 * - Integers go through the MurmurHash3 32-bit finaliser ("fmix32", Austin Appleby, public
 *   domain): a few multiply/xor-shift steps that make every input bit affect every output bit,
 *   so consecutive ids do not land in neighbouring counters.
 * - Strings use FNV-1a (Fowler/Noll/Vo, public domain) over UTF-16 code units, then fmix32,
 *   because FNV-1a alone mixes the high bits poorly for short keys.
 * - Other numbers (fractions, > 2^32) are split into two 32-bit halves first.
 */

export type CacheKey = string | number;

/** MurmurHash3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function hashString(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}

export function hashNumber(n: number): number {
  if ((n | 0) === n) return fmix32(n);
  // Not a 32-bit integer: fold the integer part's two halves and the fraction in.
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n - hi * 0x1_0000_0000;
  return fmix32((hi | 0) ^ fmix32(lo >>> 0) ^ fmix32(Math.round((lo % 1) * 0x1_0000_0000) | 0));
}

export function hashKey(key: CacheKey): number {
  return typeof key === 'number' ? hashNumber(key) : hashString(key);
}
