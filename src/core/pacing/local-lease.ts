/**
 * LocalLease: one process's share of a campaign's budget, spent on the hot path with no network
 * call (issue 6 items 2-3). Pure bookkeeping: no I/O; time is an argument.
 *
 * Implementation notes
 * - Reservation before commitment: a decision reserves its maximum possible charge before it
 *   returns an ad; the reservation becomes spend (`commit`, at most the reserved amount) on the
 *   impression/billing event, or goes back (`release`) on loss, or lapses at `expiresAtMs`
 *   (`expireReservations`). So granted ≥ reserved + spent at every moment (property-tested):
 *   nothing served can cost more than the lease holds.
 * - Keys make commit/release idempotent: a second commit or release of the same key is a no-op
 *   and says so.
 * - Used by src/exchange/budget.ts (one LocalLease per granted lease); the counters this lease
 *   is taken from are src/ports/budget-counters.ts.
 */

export type ReserveResult = 'reserved' | 'insufficient' | 'duplicate';
export type SettleResult = 'committed' | 'released' | 'unknown' | 'exceeds_reservation';

interface Reservation {
  micros: number;
  expiresAtMs: number;
}

export class LocalLease {
  private readonly reservations = new Map<string, Reservation>();
  private reservedMicros = 0;
  private spentMicros = 0;
  private granted: number;

  constructor(
    readonly leaseId: string,
    grantedMicros: number,
  ) {
    if (!Number.isSafeInteger(grantedMicros) || grantedMicros < 0) {
      throw new RangeError('grantedMicros must be a non-negative safe integer');
    }
    this.granted = grantedMicros;
  }

  /** The lease's grant (lowered by `shrink`). */
  get grantedMicros(): number {
    return this.granted;
  }

  /**
   * Gives up to `micros` of the unreserved, unspent part back (the grant shrinks by it); open
   * reservations keep their cover, so granted ≥ reserved + spent still holds. Returns the
   * micros given up.
   */
  shrink(micros: number): number {
    if (!Number.isSafeInteger(micros) || micros < 0) {
      throw new RangeError('micros must be a non-negative safe integer');
    }
    const give = Math.min(micros, this.availableMicros);
    this.granted -= give;
    return give;
  }

  /** Micros neither reserved nor spent. */
  get availableMicros(): number {
    return this.granted - this.reservedMicros - this.spentMicros;
  }
  get reserved(): number {
    return this.reservedMicros;
  }
  get spent(): number {
    return this.spentMicros;
  }
  /** Unspent micros once every reservation is settled: what a return gives back. */
  get unspentMicros(): number {
    return this.granted - this.spentMicros;
  }
  get openReservations(): number {
    return this.reservations.size;
  }

  reserve(key: string, maxChargeMicros: number, expiresAtMs: number): ReserveResult {
    if (!Number.isSafeInteger(maxChargeMicros) || maxChargeMicros < 0) {
      throw new RangeError('maxChargeMicros must be a non-negative safe integer');
    }
    if (this.reservations.has(key)) return 'duplicate';
    if (maxChargeMicros > this.availableMicros) return 'insufficient';
    this.reservations.set(key, { micros: maxChargeMicros, expiresAtMs });
    this.reservedMicros += maxChargeMicros;
    return 'reserved';
  }

  /** Turns a reservation into spend of `chargeMicros` (≤ reserved); the rest is released. */
  commit(key: string, chargeMicros: number): SettleResult {
    const r = this.reservations.get(key);
    if (r === undefined) return 'unknown';
    if (!Number.isSafeInteger(chargeMicros) || chargeMicros < 0 || chargeMicros > r.micros) {
      return 'exceeds_reservation';
    }
    this.reservations.delete(key);
    this.reservedMicros -= r.micros;
    this.spentMicros += chargeMicros;
    return 'committed';
  }

  release(key: string): SettleResult {
    const r = this.reservations.get(key);
    if (r === undefined) return 'unknown';
    this.reservations.delete(key);
    this.reservedMicros -= r.micros;
    return 'released';
  }

  /** Releases every reservation with `expiresAtMs ≤ nowMs`; returns how many. */
  expireReservations(nowMs: number): number {
    let n = 0;
    for (const [key, r] of this.reservations) {
      if (r.expiresAtMs <= nowMs) {
        this.reservations.delete(key);
        this.reservedMicros -= r.micros;
        n++;
      }
    }
    return n;
  }
}
