/**
 * Sliding-window sums over fixed time buckets (issue 7, windowed aggregates). Pure: time is
 * passed in. A window of `buckets` × `bucketMs` keeps one slot per bucket in a ring; a sum at
 * `nowMs` covers the buckets whose start is in (nowMs − window, nowMs], so its resolution is
 * one bucket (an event up to `bucketMs` older than the window can still count).
 */
export class SlidingSums {
  private readonly starts: number[];
  private readonly sums: number[][];

  constructor(
    private readonly bucketMs: number,
    private readonly bucketCount: number,
    private readonly width: number,
  ) {
    this.starts = new Array<number>(bucketCount).fill(-Infinity);
    this.sums = Array.from({ length: bucketCount }, () => new Array<number>(width).fill(0));
  }

  /** Adds `values` (one per column) at time `atMs`; events older than the window are ignored. */
  add(atMs: number, values: readonly number[]): void {
    const start = Math.floor(atMs / this.bucketMs) * this.bucketMs;
    const i = Math.floor(start / this.bucketMs) % this.bucketCount;
    const slot = this.sums[i];
    if (slot === undefined) return;
    const current = this.starts[i] ?? -Infinity;
    if (start < current) return; // older than what this slot holds now: outside the window
    if (start > current) {
      this.starts[i] = start;
      slot.fill(0);
    }
    for (let c = 0; c < this.width; c++) slot[c] = (slot[c] ?? 0) + (values[c] ?? 0);
  }

  /** Column sums over the window ending at `nowMs`. */
  sum(nowMs: number): number[] {
    const out = new Array<number>(this.width).fill(0);
    const oldest = nowMs - this.bucketCount * this.bucketMs;
    for (let i = 0; i < this.bucketCount; i++) {
      const s = this.starts[i] ?? -Infinity;
      if (s > oldest && s <= nowMs) {
        const slot = this.sums[i] ?? [];
        for (let c = 0; c < this.width; c++) out[c] = (out[c] ?? 0) + (slot[c] ?? 0);
      }
    }
    return out;
  }

  /** The buckets inside the window ending at `nowMs`: start and column sums, oldest first. */
  buckets(nowMs: number): { startMs: number; values: readonly number[] }[] {
    const oldest = nowMs - this.bucketCount * this.bucketMs;
    const out: { startMs: number; values: readonly number[] }[] = [];
    for (let i = 0; i < this.bucketCount; i++) {
      const s = this.starts[i] ?? -Infinity;
      if (s > oldest && s <= nowMs) out.push({ startMs: s, values: [...(this.sums[i] ?? [])] });
    }
    return out.sort((a, b) => a.startMs - b.startMs);
  }

  /** True when no bucket inside the window ending at `nowMs` holds anything. */
  idle(nowMs: number): boolean {
    return this.sum(nowMs).every((v) => v === 0);
  }
}
