/**
 * Synthetic conversion data: conversions given a click, with known true conversion probabilities
 * (`adstack gen-ctr-data --target cvr`). The CVR model is the same GBDT trainer on these rows;
 * its file's manifest says `target: "cvr"`.
 *
 * Rows are the clicked impressions of the CTR world (synthetic.ts, same seed → same world and
 * same impressions): impressions are drawn, a click is drawn from each one's true CTR, and only
 * clicked rows are kept, so the data is what a real CVR training set is — conversions among
 * clicks, with the selection bias clicks bring. The feature vector is the impression's, built by
 * the same `vectorize`.
 *
 * The true conversion logit depends on what the features show (segment, 30-day conversion rate,
 * interest × category alignment, device, slow landing pages, creative type) and on a hidden
 * purchase intent per row, so the Bayes-optimal AUC is well below 1 and known (about 0.77 on
 * 6,000 clicks of seed 3, where 8.6 % of clicks convert).
 */
import { CTR_SCHEMA, vectorize } from '../../core/features/schema.js';
import type { CtrInput } from '../../core/features/input.js';
import { Rng } from '../random.js';
import { syntheticRows, type CtrDataset, type SyntheticRow } from './synthetic.js';

const CVR_INTERCEPT = -2.9;

/** The true conversion probability of a clicked row, with `intent` ~ N(0, 1) hidden. */
export function trueCvr(input: CtrInput, intent: number): number {
  const u = input.user;
  const cat = input.ad.category;
  const alignment = cat === undefined ? 0 : (u.interests?.[cat] ?? 0.1);
  let z = CVR_INTERCEPT + 0.5 * intent;
  z += u.segment === 'premium' ? 0.8 : u.segment === 'bargain' ? 0.4 : 0;
  z += u.segment === 'bot_suspect' ? -2.0 : u.segment === 'new' ? -0.3 : 0;
  z += u.conversionRate30d === undefined ? 0 : 40 * (u.conversionRate30d - 0.025);
  z += 2 * (alignment - 0.3);
  z += input.context.device === 'desktop' ? 0.35 : input.context.device === 'mobile' ? -0.15 : 0;
  z += (input.ad.landingLoadMs ?? 0) > 3000 ? -0.6 : 0;
  z += input.ad.creativeType === 'video' ? -0.2 : 0;
  return 1 / (1 + Math.exp(-z));
}

export interface GenerateCvrOptions {
  /** Number of clicked rows to produce. */
  rows: number;
  seed: number;
  onProgress?: (done: number) => void;
}

export function generateCvrData(opts: GenerateCvrOptions): CtrDataset {
  const nf = CTR_SCHEMA.size;
  const features = new Float32Array(opts.rows * nf);
  const labels = new Uint8Array(opts.rows);
  const pTrue = new Float32Array(opts.rows);
  const row = new Float64Array(nf);
  // The click draw uses the CTR generator's label stream, so the clicked rows are exactly the
  // positive rows of `generateCtrData` with the same seed.
  const clickRng = new Rng(opts.seed ^ 0x5bd1e995);
  const convRng = new Rng(opts.seed ^ 0x2c1b3c6d);
  const it = syntheticRows(opts.seed);
  let impressions = 0;
  for (let r = 0; r < opts.rows;) {
    const { input, p } = it.next().value as SyntheticRow;
    impressions++;
    if (!(clickRng.next() < p)) continue;
    const q = trueCvr(input, convRng.normal());
    vectorize(input, row);
    features.set(row, r * nf);
    labels[r] = convRng.next() < q ? 1 : 0;
    pTrue[r] = q;
    r++;
    if (opts.onProgress !== undefined && r % 5_000 === 0) opts.onProgress(r);
  }
  return {
    numRows: opts.rows,
    numFeatures: nf,
    features,
    labels,
    pTrue,
    featureNames: CTR_SCHEMA.features.map((f) => f.name),
    schemaHash: CTR_SCHEMA.hash,
    meta: {
      generator: 'adstack-synthetic-cvr-v1',
      target: 'cvr',
      seed: opts.seed,
      impressions,
      schemaVersion: CTR_SCHEMA.version,
    },
  };
}
