/**
 * A token bucket for per-DSP QPS caps (issue 4 item 1: "QPS cap"); time is passed in. Refill is
 * continuous (rate × elapsed), capped at `burst`, so a cap of 100 QPS allows short bursts of
 * `burst` calls and 100 calls per second on average.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number | null = null;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number = Math.max(1, ratePerSec / 10),
  ) {
    this.tokens = burst;
  }

  tryTake(nowMs: number): boolean {
    if (this.lastMs !== null && nowMs > this.lastMs) {
      this.tokens = Math.min(
        this.burst,
        this.tokens + ((nowMs - this.lastMs) * this.ratePerSec) / 1000,
      );
    }
    this.lastMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
