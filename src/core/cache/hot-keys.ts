/**
 * HotKeyDetector: finds keys read above a rate threshold from a sample of accesses, in constant
 * memory (seed Part 5, "Hot Partition Problem": count-min sketch detection, then replicas).
 *
 * Implementation notes
 * - Each access is sampled with probability `sampleRate` (injected `random`), so the cost per
 *   read is one random number and, for sampled reads only, one sketch update.
 * - Counts live in a count-min sketch (Cormode & Muthukrishnan 2005; 4 rows, 32-bit counters,
 *   double hashing) that is cleared every `windowMs`; a key is hot as soon as its estimate in
 *   the current window reaches `thresholdPerSec × windowMs/1000 × sampleRate`. Count-min never
 *   under-counts, so a truly hot key is not missed (a cold key that collides may be flagged:
 *   the cost is one extra pinned entry and a few replica writes).
 * - A hot key stays hot for `hotTtlMs` after its last detection; the set is bounded by
 *   `maxHot` (the hottest are kept), because every hot key costs a pinned L1 entry and R
 *   Redis copies. Keys that cool down are reported once by `takeCooled()` so the caller can
 *   unpin them.
 * Pure: time and randomness are passed in.
 */
import { fmix32 } from './hash.js';

export interface HotKeyOptions {
  /** Share of accesses counted, (0, 1]; default 0.1. */
  sampleRate?: number;
  /** Reads per second from which a key is hot; default 100 (the seed's example). */
  thresholdPerSec?: number;
  windowMs?: number;
  hotTtlMs?: number;
  maxHot?: number;
  /** Counters per sketch row (power of two); default 2048. */
  width?: number;
  random: () => number;
}

export interface HotKey {
  key: string;
  /** Estimated reads per second when last detected (sample count scaled up). */
  estPerSec: number;
  untilMs: number;
}

const DEPTH = 4;
const NONE: string[] = [];

export class HotKeyDetector {
  private readonly sampleRate: number;
  private readonly windowMs: number;
  private readonly hotTtlMs: number;
  private readonly maxHot: number;
  private readonly thresholdCount: number;
  private readonly width: number;
  private readonly counts: Uint32Array;
  private readonly random: () => number;
  private windowStartMs = -Infinity;
  private readonly hot = new Map<string, HotKey>();
  private cooled: string[] = [];
  private nextSweepMs = -Infinity;

  constructor(opts: HotKeyOptions) {
    this.sampleRate = Math.min(1, Math.max(1e-6, opts.sampleRate ?? 0.1));
    this.windowMs = Math.max(1, opts.windowMs ?? 1000);
    this.hotTtlMs = Math.max(this.windowMs, opts.hotTtlMs ?? 10_000);
    this.maxHot = Math.max(1, opts.maxHot ?? 64);
    const threshold = opts.thresholdPerSec ?? 100;
    // At least 2 samples, so a single unlucky sample never makes a key hot.
    this.thresholdCount = Math.max(
      2,
      Math.round((threshold * this.windowMs * this.sampleRate) / 1000),
    );
    let w = 16;
    while (w < (opts.width ?? 2048)) w *= 2;
    this.width = w;
    this.counts = new Uint32Array(DEPTH * w);
    this.random = opts.random;
  }

  /** Records one access (sampled); true when the key is hot after it. */
  record(key: string, hash: number, nowMs: number): boolean {
    this.roll(nowMs);
    if (this.random() < this.sampleRate) {
      const est = this.increment(hash);
      if (est >= this.thresholdCount) this.markHot(key, est, nowMs);
    }
    return this.isHot(key, nowMs);
  }

  isHot(key: string, nowMs: number): boolean {
    const h = this.hot.get(key);
    return h !== undefined && h.untilMs > nowMs;
  }

  /** The current hot set, hottest first (for metrics and the admin view). */
  hotSet(nowMs: number): HotKey[] {
    this.expire(nowMs);
    return [...this.hot.values()].sort((a, b) => b.estPerSec - a.estPerSec);
  }

  /** Keys that stopped being hot since the last call (sweeps at most once per window). */
  takeCooled(nowMs: number): string[] {
    if (nowMs >= this.nextSweepMs) {
      this.nextSweepMs = nowMs + this.windowMs;
      this.expire(nowMs);
    }
    if (this.cooled.length === 0) return NONE;
    const out = this.cooled;
    this.cooled = [];
    return out;
  }

  private markHot(key: string, est: number, nowMs: number): void {
    const estPerSec = (est / this.sampleRate) * (1000 / this.windowMs);
    const existing = this.hot.get(key);
    if (existing !== undefined) {
      existing.untilMs = nowMs + this.hotTtlMs;
      existing.estPerSec = Math.max(existing.estPerSec, estPerSec);
      return;
    }
    if (this.hot.size >= this.maxHot) {
      this.expire(nowMs);
      if (this.hot.size >= this.maxHot) {
        // Full: replace the coolest key only if this one is hotter.
        let coolest: HotKey | undefined;
        for (const h of this.hot.values())
          if (coolest === undefined || h.estPerSec < coolest.estPerSec) coolest = h;
        if (coolest === undefined || coolest.estPerSec >= estPerSec) return;
        this.hot.delete(coolest.key);
        this.cooled.push(coolest.key);
      }
    }
    this.hot.set(key, { key, estPerSec, untilMs: nowMs + this.hotTtlMs });
  }

  private expire(nowMs: number): void {
    for (const [k, h] of this.hot) {
      if (h.untilMs <= nowMs) {
        this.hot.delete(k);
        this.cooled.push(k);
      }
    }
  }

  /** Starts a new counting window (cleared counters) once the current one is over. */
  private roll(nowMs: number): void {
    if (nowMs - this.windowStartMs < this.windowMs) return;
    this.windowStartMs = nowMs;
    this.counts.fill(0);
  }

  private increment(hash: number): number {
    const h2 = fmix32(hash ^ 0x5bd1e995) | 1;
    const m = this.width - 1;
    let min = Infinity;
    for (let i = 0; i < DEPTH; i++) {
      const idx = i * this.width + ((hash + i * h2) & m);
      const c = this.counts[idx]! + 1;
      this.counts[idx] = c;
      if (c < min) min = c;
    }
    return min;
  }
}
