/**
 * FeatureStore: near-real-time numeric features per entity, written by stream consumers and
 * read by the feature pipeline (seed Part 4; issue 7 item 6b). Redis in production (one hash
 * per entity with a TTL), in-process memory as the embedded default.
 *
 * Guarantees
 * - `put` replaces the named features of one entity (other features of it are kept) and sets
 *   the entity's expiry to `ttlMs` from now; after the TTL `get` returns null.
 * - `get` returns every live feature of the entity, or null when it has none.
 * - `forgetUser(userKey)` removes every feature of kind `user` for that hashed key (erasure);
 *   `removed` is 1 when there was something, 0 otherwise.
 * - Values are finite numbers; entity ids are opaque strings (user ids are hashed keys, never
 *   raw ids).
 * - Every call rejects when the backend is unreachable.
 * Every adapter passes test/contract/feature-store.contract.ts.
 */

export type FeatureEntity = 'ad' | 'user' | 'advertiser';

export type Features = Record<string, number>;

export interface FeatureStore {
  put(kind: FeatureEntity, id: string, features: Readonly<Features>, ttlMs: number): Promise<void>;
  get(kind: FeatureEntity, id: string): Promise<Features | null>;
  forgetUser(userKey: string): Promise<{ removed: number }>;
}
