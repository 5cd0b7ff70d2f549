/**
 * Per-DSP latency histograms for the adaptive timeout (seed Part 3: "Maintain per-DSP latency
 * histograms H_dsp"), on hdr-histogram-js (HdrHistogram's TypeScript port, the histogram
 * autocannon uses; maintained, with no native build).
 *
 * Implementation notes
 * - Values in microseconds, 2 significant digits (1 % error), up to 2 minutes; nothing below
 *   0.1 ms is told apart (`lowestDiscernibleValue` 100 µs). A percentile walks the counts array
 *   up to the percentile's index, and with 1 µs resolution a 15–30 ms latency sits ~1,000–1,200
 *   entries in; at 100 µs it is ~230–360. A CPU profile of the rtb benchmark had the percentile
 *   walks at 6 % of the sampled time (8 % of the busy time) before this, with a 100 ms refresh.
 * - Windows of `windowMs`: the estimate comes from the current window once it holds
 *   `freshSamples` values, else from the last full window's estimate (so it never starts from
 *   empty and follows a change within one or two windows). No histogram is merged or allocated
 *   per estimate: at 50 DSPs that would be 50 allocations every refresh.
 * - A call that timed out records its real latency when its late reply lands, or, if it hung,
 *   the time at which it was aborted (a lower bound: censored). Either pulls p95 up for a DSP
 *   that keeps missing the deadline, which is what the timeout rule needs.
 * - Percentiles are cached per DSP for `refreshMs` (250 ms): reading the histogram costs
 *   O(buckets) and a 50-DSP fan-out asks 50 times per auction.
 */
import * as hdr from 'hdr-histogram-js';
import type { LatencyEstimate } from '../../core/resilience/deadline.js';

interface Slot {
  current: hdr.Histogram;
  startedAtMs: number;
  last: LatencyEstimate | null; // the previous full window's estimate
  cached: LatencyEstimate | null;
  cachedAtMs: number;
}

const build = (): hdr.Histogram =>
  hdr.build({
    lowestDiscernibleValue: 100,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 2,
  });

function estimateOf(h: hdr.Histogram, extraSamples: number): LatencyEstimate {
  return {
    samples: h.totalCount + extraSamples,
    p25Ms: h.getValueAtPercentile(25) / 1000,
    p50Ms: h.getValueAtPercentile(50) / 1000,
    p95Ms: h.getValueAtPercentile(95) / 1000,
  };
}

export class LatencyTracker {
  private readonly slots = new Map<string, Slot>();

  constructor(
    // Short windows: a burst (a cold start, many new connections at once) inflates the
    // estimate for one or two windows only; at 100 auctions/s a window holds ~300 samples.
    private readonly windowMs = 3000,
    // 250 ms: a 3 s window's percentiles barely move in that time, and each refresh walks the
    // histogram three times per DSP.
    private readonly refreshMs = 250,
    private readonly freshSamples = 20,
  ) {}

  private slot(id: string, nowMs: number): Slot {
    let s = this.slots.get(id);
    if (s === undefined) {
      s = { current: build(), startedAtMs: nowMs, last: null, cached: null, cachedAtMs: -Infinity };
      this.slots.set(id, s);
    }
    if (nowMs - s.startedAtMs >= this.windowMs) {
      if (s.current.totalCount > 0) s.last = estimateOf(s.current, 0);
      s.current.reset();
      s.startedAtMs = nowMs;
      s.cached = null;
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
    const n = s.current.totalCount;
    let e: LatencyEstimate | null;
    if (n >= this.freshSamples || (s.last === null && n > 0)) {
      e = estimateOf(s.current, s.last?.samples ?? 0);
    } else if (s.last !== null) {
      e = { ...s.last, samples: s.last.samples + n };
    } else {
      e = null;
    }
    s.cached = e;
    s.cachedAtMs = nowMs;
    return e;
  }
}
