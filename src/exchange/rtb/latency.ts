/**
 * Per-DSP latency histograms for the adaptive timeout (seed Part 3: "Maintain per-DSP latency
 * histograms H_dsp"), on hdr-histogram-js (HdrHistogram's TypeScript port, the histogram
 * autocannon uses; maintained, with no native build).
 *
 * Implementation notes
 * - Values in microseconds, 2 significant digits (1 % error), up to 2 minutes.
 * - Two generations: `current` collects, `previous` is the last full window; estimates read
 *   both. Every `windowMs` the previous is reset and the two swap, so the estimate follows a
 *   DSP whose latency changes within one to two windows and never starts from empty.
 * - A call that timed out records its real latency when its late reply lands, or, if it hung,
 *   the time at which it was aborted (a lower bound: censored). Either pulls p95 up for a DSP
 *   that keeps missing the deadline, which is what the timeout rule needs.
 * - Percentiles are cached per DSP and recomputed at most every `refreshMs`: reading the
 *   histogram costs O(buckets) and a 50-DSP fan-out asks 50 times per auction.
 */
import * as hdr from 'hdr-histogram-js';
import type { LatencyEstimate } from '../../core/resilience/deadline.js';

interface Slot {
  current: hdr.Histogram;
  previous: hdr.Histogram;
  rotatedAtMs: number;
  cached: LatencyEstimate | null;
  cachedAtMs: number;
}

const build = (): hdr.Histogram =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 2,
  });

export class LatencyTracker {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly windowMs = 10_000,
    private readonly refreshMs = 100,
  ) {}

  private slot(id: string, nowMs: number): Slot {
    let s = this.slots.get(id);
    if (s === undefined) {
      s = {
        current: build(),
        previous: build(),
        rotatedAtMs: nowMs,
        cached: null,
        cachedAtMs: -Infinity,
      };
      this.slots.set(id, s);
    }
    if (nowMs - s.rotatedAtMs >= this.windowMs) {
      s.previous.reset();
      [s.previous, s.current] = [s.current, s.previous];
      s.rotatedAtMs = nowMs;
    }
    return s;
  }

  record(id: string, latencyMs: number, nowMs: number): void {
    const us = Math.min(120_000_000, Math.max(1, Math.round(latencyMs * 1000)));
    this.slot(id, nowMs).current.recordValue(us);
  }

  estimate(id: string, nowMs: number): LatencyEstimate | null {
    const s = this.slot(id, nowMs);
    if (s.cached !== null && nowMs - s.cachedAtMs < this.refreshMs) return s.cached;
    const samples = s.current.totalCount + s.previous.totalCount;
    if (samples === 0) return null;
    let p50: number;
    let p95: number;
    if (s.previous.totalCount === 0) {
      p50 = s.current.getValueAtPercentile(50);
      p95 = s.current.getValueAtPercentile(95);
    } else {
      const both = build();
      both.add(s.previous);
      both.add(s.current);
      p50 = both.getValueAtPercentile(50);
      p95 = both.getValueAtPercentile(95);
    }
    s.cached = { samples, p50Ms: p50 / 1000, p95Ms: p95 / 1000 };
    s.cachedAtMs = nowMs;
    return s.cached;
  }
}
