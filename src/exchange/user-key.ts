/**
 * The hashed key a user's profile and tombstone are stored under: SHA-256 of the publisher's
 * user id (domain-separated, first 128 bits in hex), in the style of `frequencyUserKey` in
 * ./decision.ts (whose own domain keeps the frequency counters' keys unchanged). The raw id is
 * hashed at the edge (HTTP routes) and never stored. Not a secret: a 128-bit hash of a
 * guessable id can be recomputed, so it is pseudonymous data (GDPR), erased like the rest.
 */
import { createHash } from 'node:crypto';

export function userKey(userId: string): string {
  return createHash('sha256').update(`adstack:user:v1\u0000${userId}`).digest('hex').slice(0, 32);
}
