/**
 * A/B split of traffic between model versions by user hash (issue 5, "Registry"): a user always
 * lands in the same variant for a given experiment salt, so per-variant CTR is measured on
 * disjoint, stable user sets and a user never flips between models mid-session. Users without an
 * id are bucketed by the request-level key the caller passes instead (e.g. the decision id), which
 * is stable only for that request.
 */
import { hash32 } from '../features/hash.js';

export interface Variant {
  readonly name: string;
  /** Share of traffic in basis points (1/10,000); the shares must add up to 10,000. */
  readonly weightBp: number;
}

export interface AbSplit {
  readonly salt: string;
  readonly variants: readonly Variant[];
}

export const BUCKETS = 10_000;

export function checkSplit(split: AbSplit): void {
  const total = split.variants.reduce((s, v) => s + v.weightBp, 0);
  if (split.variants.length === 0) throw new RangeError('an A/B split needs at least one variant');
  if (split.variants.some((v) => !Number.isInteger(v.weightBp) || v.weightBp < 0))
    throw new RangeError('variant weights must be non-negative integers (basis points)');
  if (total !== BUCKETS) throw new RangeError(`variant weights add up to ${total}, not ${BUCKETS}`);
  if (new Set(split.variants.map((v) => v.name)).size !== split.variants.length)
    throw new RangeError('variant names must be unique');
}

/** Bucket 0..9,999 of a user for an experiment. */
export function bucketOfUser(salt: string, userKey: string): number {
  return hash32(`${salt}\u0000${userKey}`) % BUCKETS;
}

/** The variant a user is in: variants take consecutive bucket ranges in list order. */
export function variantOf(split: AbSplit, userKey: string): Variant {
  let b = bucketOfUser(split.salt, userKey);
  for (const v of split.variants) {
    if (b < v.weightBp) return v;
    b -= v.weightBp;
  }
  return split.variants[split.variants.length - 1]!;
}

export interface VariantStats {
  predictions: number;
  /** Sum of predicted CTRs: sum / predictions is the variant's mean prediction. */
  predictedSum: number;
  impressions: number;
  clicks: number;
}

/**
 * Per-variant counters: how many candidates each model scored and what it predicted, and the
 * impressions and clicks its wins got — so a variant's observed CTR can be compared with its
 * mean prediction (calibration) and with the other variant (lift).
 */
export class AbMetrics {
  private readonly stats = new Map<string, VariantStats>();

  private of(variant: string): VariantStats {
    let s = this.stats.get(variant);
    if (s === undefined) {
      s = { predictions: 0, predictedSum: 0, impressions: 0, clicks: 0 };
      this.stats.set(variant, s);
    }
    return s;
  }

  recordPredictions(variant: string, predictions: Float64Array, n: number): void {
    const s = this.of(variant);
    for (let i = 0; i < n; i++) s.predictedSum += predictions[i]!;
    s.predictions += n;
  }

  recordImpression(variant: string, clicked: boolean): void {
    const s = this.of(variant);
    s.impressions++;
    if (clicked) s.clicks++;
  }

  snapshot(): Record<string, VariantStats & { meanPredicted: number; observedCtr: number }> {
    const out: Record<string, VariantStats & { meanPredicted: number; observedCtr: number }> = {};
    for (const [name, s] of this.stats)
      out[name] = {
        ...s,
        meanPredicted: s.predictions === 0 ? NaN : s.predictedSum / s.predictions,
        observedCtr: s.impressions === 0 ? NaN : s.clicks / s.impressions,
      };
    return out;
  }
}
