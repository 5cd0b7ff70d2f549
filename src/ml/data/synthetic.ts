/**
 * Synthetic CTR data with known true click probabilities (`adstack gen-ctr-data`).
 *
 * Every row is a raw `CtrInput` drawn from a small simulated world (advertisers with their own
 * appeal, users with interests and a latent propensity, contexts), turned into features by the
 * same `vectorize` the server uses. The click probability is a known function of the world's
 * variables — some of them hidden from the features (the user's latent propensity is seen only
 * through a noisy historical CTR) — and the label is a Bernoulli draw from it. Because p is known,
 * the AUC of p itself on the labels (the Bayes-optimal AUC) is the ceiling any model can reach,
 * and the mean of p is the true CTR a calibrated model must match.
 *
 * The effects are chosen to need what trees are good at: interactions (interest × category,
 * video × device, premium segment × alignment), thresholds (slow landing pages), and a base rate
 * around 2 %, as in display advertising.
 */
import { CTR_SCHEMA, vectorize } from '../../core/features/schema.js';
import {
  CATEGORIES,
  CONNECTIONS,
  CREATIVE_TYPES,
  DEVICES,
  GENDERS,
  OSES,
  PLACEMENTS,
  SEGMENTS,
  type CtrInput,
} from '../../core/features/input.js';
import { Rng } from '../random.js';

export interface CtrDataset {
  readonly numRows: number;
  readonly numFeatures: number;
  /** Row-major float32 features, NaN = missing. */
  readonly features: Float32Array;
  readonly labels: Uint8Array;
  /** The true click probability of each row (NaN when unknown, e.g. logged data). */
  readonly pTrue: Float32Array;
  readonly featureNames: readonly string[];
  readonly schemaHash: string;
  readonly meta: Readonly<Record<string, unknown>>;
}

interface Advertiser {
  id: string;
  category: number;
  appeal: number;
  quality: number;
  creative: number;
  landingLoadMs: number;
}

interface World {
  advertisers: Advertiser[];
  categoryAppeal: number[];
}

const NUM_ADVERTISERS = 2000;
/** Intercept tuned so that the mean CTR is about 2.2 % (Bayes-optimal AUC about 0.77). */
const INTERCEPT = -4.6;

function makeWorld(rng: Rng): World {
  const categoryAppeal = CATEGORIES.map(() => rng.normal() * 0.25);
  const advertisers: Advertiser[] = [];
  for (let i = 0; i < NUM_ADVERTISERS; i++) {
    advertisers.push({
      id: `adv-${i}`,
      category: rng.int(CATEGORIES.length),
      appeal: rng.normal() * 0.45,
      quality: Math.min(1, Math.max(0, 0.6 + rng.normal() * 0.18)),
      creative: rng.weighted([0.45, 0.2, 0.25, 0.1]),
      landingLoadMs: Math.round(400 + rng.next() * rng.next() * 6000),
    });
  }
  return { advertisers, categoryAppeal };
}

export interface SyntheticRow {
  input: CtrInput;
  p: number;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Draws one impression and its true click probability. */
function drawRow(rng: Rng, world: World): SyntheticRow {
  // --- user
  const latent = rng.normal() * 0.55; // the user's click propensity, never observed directly
  const segment = rng.weighted([0.12, 0.3, 0.25, 0.08, 0.1, 0.08, 0.05, 0.02]);
  const known = rng.next() > 0.15; // 15 % of users have no profile: their history is missing
  const interests: Record<string, number> = {};
  const strong = new Set([rng.int(24), rng.int(24), rng.int(24), rng.int(24)]);
  CATEGORIES.forEach((c, k) => {
    interests[c] = strong.has(k) ? 0.45 + rng.next() * 0.55 : rng.next() * 0.2;
  });
  const histImpressions = known ? Math.floor(rng.next() * rng.next() * 3000) : undefined;
  const trueUserCtr = 0.02 * Math.exp(latent);
  const histCtr =
    histImpressions !== undefined && histImpressions > 0
      ? clamp01(trueUserCtr * Math.exp(rng.normal() * (0.9 / Math.sqrt(1 + histImpressions / 200))))
      : undefined;

  // --- ad
  const adv = world.advertisers[rng.int(world.advertisers.length)]!;
  const category = CATEGORIES[adv.category]!;
  const creative = rng.next() < 0.8 ? adv.creative : rng.int(CREATIVE_TYPES.length);
  const globalCtr =
    0.025 * Math.exp(adv.appeal + world.categoryAppeal[adv.category]! + rng.normal() * 0.15);
  const impressions1h = Math.floor(rng.next() * 5000);
  const ctr1h =
    impressions1h > 0
      ? Math.round(globalCtr * impressions1h * Math.exp(rng.normal() * 0.3)) / impressions1h
      : undefined;

  // --- context
  const hour = Math.floor(rng.next() * rng.next() * 10 + rng.next() * 14) % 24;
  const dayOfWeek = rng.int(7);
  const device = rng.weighted([0.6, 0.3, 0.07, 0.03]);
  const os =
    device === 0 || device === 2
      ? rng.weighted([0.45, 0.55, 0, 0, 0, 0.0])
      : rng.weighted([0, 0, 0.6, 0.25, 0.1, 0.05]);
  const connection =
    device === 0 ? rng.weighted([0.5, 0.3, 0.15, 0, 0.05]) : rng.weighted([0.7, 0, 0, 0.3, 0]);
  const placement = rng.weighted([0.35, 0.15, 0.15, 0.15, 0.1, 0.1]);
  const sessionDepth = 1 + Math.floor(rng.next() * rng.next() * 30);

  // --- history of this user with this advertiser
  const advImps = known ? Math.floor(rng.next() * rng.next() * 40) : undefined;
  const affinity = interests[category]! * 1.5 + latent;
  let advClicks: number | undefined;
  if (advImps !== undefined) {
    const pc = 0.03 * Math.exp(affinity);
    advClicks = 0;
    for (let k = 0; k < advImps; k++) if (rng.next() < pc) advClicks++;
  }

  // --- the true logit
  const alignment = interests[category]!;
  const video = CREATIVE_TYPES[creative] === 'video';
  const dev = DEVICES[device]!;
  let z = INTERCEPT;
  z += 2.1 * alignment + 0.9 * latent + adv.appeal + world.categoryAppeal[adv.category]!;
  z += 0.9 * (adv.quality - 0.6);
  z += [0.15, 0.35, -0.25, 0, -0.45, 0.5][placement]!;
  z += video ? (dev === 'mobile' ? -0.35 : dev === 'ctv' ? 0.6 : 0.2) : 0;
  z += CREATIVE_TYPES[creative] === 'native' && PLACEMENTS[placement] === 'feed' ? 0.35 : 0;
  z += 0.25 * Math.sin((2 * Math.PI * (hour - 14)) / 24) + (dayOfWeek % 6 === 0 ? 0.1 : 0);
  z += SEGMENTS[segment] === 'premium' ? 0.6 * alignment : 0;
  z += SEGMENTS[segment] === 'bot_suspect' ? -1.0 : 0;
  z += SEGMENTS[segment] === 'new' ? -0.2 : 0;
  z += adv.landingLoadMs > 3000 ? -0.35 : 0;
  z += CONNECTIONS[connection] === 'cellular_3g' ? -0.3 : 0;
  z += advClicks !== undefined ? 0.45 * Math.log1p(advClicks) - 0.12 * Math.log1p(advImps ?? 0) : 0;
  z += -0.02 * Math.max(0, sessionDepth - 10);
  const p = 1 / (1 + Math.exp(-z));

  const input: CtrInput = {
    user: {
      age: rng.next() < 0.3 ? undefined : 18 + Math.floor(rng.next() * 50),
      gender: rng.next() < 0.25 ? undefined : GENDERS[rng.weighted([0.48, 0.48, 0.04])]!,
      country: `C${rng.int(60)}`,
      region: `R${rng.int(600)}`,
      segment: SEGMENTS[segment],
      interests: known ? interests : undefined,
      histCtr,
      histImpressions,
      ctr7d: histCtr === undefined ? undefined : clamp01(histCtr * Math.exp(rng.normal() * 0.4)),
      clicks7d: known ? Math.floor(rng.next() * 10 * Math.exp(latent)) : undefined,
      sessions7d: known ? Math.floor(rng.next() * 20) : undefined,
      daysSinceFirstSeen: known ? Math.floor(rng.next() * 900) : undefined,
      avgSessionMinutes: known ? Math.round(rng.next() * 300) / 10 : undefined,
      conversionRate30d: known ? Math.round(rng.next() * 0.05 * 1e4) / 1e4 : undefined,
    },
    ad: {
      creativeType: CREATIVE_TYPES[creative],
      category,
      advertiserId: adv.id,
      campaignId: `${adv.id}-c${rng.int(3)}`,
      globalCtr,
      qualityScore: adv.quality,
      ageDays: Math.floor(rng.next() * 120),
      impressions1h,
      ctr1h,
      bidCpm: Math.round((0.5 + rng.next() * 9.5) * 100) / 100,
      categoryCtr1h: 0.025 * Math.exp(world.categoryAppeal[adv.category]! + rng.normal() * 0.1),
      landingLoadMs: adv.landingLoadMs,
    },
    context: {
      hour,
      dayOfWeek,
      device: dev,
      os: OSES[os],
      connection: CONNECTIONS[connection],
      placement: PLACEMENTS[placement],
      screenWidth:
        dev === 'mobile'
          ? 360 + rng.int(80)
          : dev === 'tablet'
            ? 768 + rng.int(300)
            : 1280 + rng.int(1280),
      sessionDepth,
      secondsSinceLastClick: rng.next() < 0.4 ? undefined : Math.floor(rng.next() * 86_400),
    },
    history:
      advImps === undefined
        ? undefined
        : {
            userAdvertiserImpressions: advImps,
            userAdvertiserClicks: advClicks,
            userCategoryCtr: histCtr,
          },
  };
  return { input, p };
}

/** Raw rows, for tests and for anyone who wants the inputs rather than the vectors. */
export function* syntheticRows(seed: number): Generator<SyntheticRow> {
  const rng = new Rng(seed);
  const world = makeWorld(rng);
  for (;;) yield drawRow(rng, world);
}

export interface GenerateOptions {
  rows: number;
  seed: number;
  onProgress?: (done: number) => void;
}

export function generateCtrData(opts: GenerateOptions): CtrDataset {
  const nf = CTR_SCHEMA.size;
  const features = new Float32Array(opts.rows * nf);
  const labels = new Uint8Array(opts.rows);
  const pTrue = new Float32Array(opts.rows);
  const row = new Float64Array(nf);
  // Labels come from their own stream so the inputs of row i do not depend on earlier labels.
  const labelRng = new Rng(opts.seed ^ 0x5bd1e995);
  const it = syntheticRows(opts.seed);
  for (let r = 0; r < opts.rows; r++) {
    const { input, p } = it.next().value as SyntheticRow;
    vectorize(input, row);
    features.set(row, r * nf);
    labels[r] = labelRng.next() < p ? 1 : 0;
    pTrue[r] = p;
    if (opts.onProgress !== undefined && (r + 1) % 50_000 === 0) opts.onProgress(r + 1);
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
      generator: 'adstack-synthetic-ctr-v1',
      seed: opts.seed,
      schemaVersion: CTR_SCHEMA.version,
    },
  };
}
