/**
 * Feature hashing (Weinberger et al., "Feature Hashing for Large Scale Multitask Learning",
 * ICML 2009): high-cardinality ids (advertiser, campaign, country, region) become a bucket in a
 * fixed range, so the model never sees an unbounded vocabulary and new ids need no retraining
 * of a dictionary.
 *
 * FNV-1a over UTF-16 code units, followed by MurmurHash3's 32-bit finaliser (fmix32) because
 * FNV-1a alone spreads short, similar strings ("adv-1", "adv-2") poorly over the low bits that
 * `% buckets` keeps. Pure and deterministic: the same string hashes the same in training and in
 * serving, on every platform.
 */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Bucket in [0, buckets). */
export function hashBucket(s: string, buckets: number, seed = 0): number {
  return hash32(s, seed) % buckets;
}

/** Combines two 32-bit values into one (for hashed crosses and (feature, bin) pairs). */
export function hashPair(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  return h >>> 0;
}
