/**
 * Quantile binning of features for the histogram GBDT (LightGBM, Ke et al., NIPS 2017, §2;
 * XGBoost `hist`, Chen & Guestrin KDD 2016 §3.2 "approximate algorithm").
 *
 * Implementation notes
 * - Each feature gets at most `maxBins` (≤ 255) value bins plus one bin reserved for missing
 *   (NaN), so a bin index fits in a byte: value bins are 0..nb-1, missing is `MISSING_BIN` = 255.
 * - Cut points come from a sample of rows (as LightGBM's `bin_construct_sample_cnt`; see
 *   DEFAULT_SAMPLE_ROWS): with few distinct values every value gets its own bin; otherwise the sorted sample
 *   is cut at equal-count positions. A cut is the midpoint between the two neighbouring distinct
 *   sample values, so a value seen in training never sits on a cut.
 * - Bin b holds cuts[b-1] <= x < cuts[b]. Splitting "bins 0..b go left" is therefore exactly
 *   "x < cuts[b]", the evaluator's rule, so the trained model needs no bin lookup at serving time.
 * - The binned matrix is column-major (feature f's bins at f·n .. f·n + n - 1): histogram
 *   construction reads one feature at a time into an L1-resident histogram (LightGBM's
 *   column-wise histogram), and the split partition reads one column.
 */
import { Rng } from '../random.js';

export const MISSING_BIN = 255;
/**
 * Rows sampled to place the cuts. LightGBM samples 200,000 (`bin_construct_sample_cnt`); 50,000
 * still puts about 200 sample rows in each of 255 bins, and sorting 150 features × 200,000 values
 * took a quarter of a 200k-row training run here.
 */
export const DEFAULT_SAMPLE_ROWS = 50_000;
export const MAX_VALUE_BINS = 255;

export interface BinMapper {
  /** cuts[f] has (number of value bins of f) − 1 increasing thresholds. */
  readonly cuts: readonly Float64Array[];
  readonly numFeatures: number;
}

export function buildBinMapper(
  features: Float32Array,
  numRows: number,
  numFeatures: number,
  opts: { maxBins?: number; sampleRows?: number; seed?: number } = {},
): BinMapper {
  const maxBins = Math.min(opts.maxBins ?? MAX_VALUE_BINS, MAX_VALUE_BINS);
  if (maxBins < 2) throw new RangeError('maxBins must be at least 2');
  const sampleRows = Math.min(numRows, opts.sampleRows ?? DEFAULT_SAMPLE_ROWS);
  // A fixed, seeded sample of row ids, shared by all features.
  let rows: Int32Array;
  if (sampleRows === numRows) rows = Int32Array.from({ length: numRows }, (_, i) => i);
  else {
    const rng = new Rng(opts.seed ?? 0);
    const all = Int32Array.from({ length: numRows }, (_, i) => i);
    for (let i = 0; i < sampleRows; i++) {
      const j = i + rng.int(numRows - i);
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
    }
    rows = all.slice(0, sampleRows).sort();
  }
  const values = new Float64Array(sampleRows);
  const cuts: Float64Array[] = [];
  for (let f = 0; f < numFeatures; f++) {
    let m = 0;
    for (let k = 0; k < sampleRows; k++) {
      const v = features[rows[k]! * numFeatures + f]!;
      if (v === v) values[m++] = v;
    }
    cuts.push(cutsFor(values.subarray(0, m).sort(), maxBins));
  }
  return { cuts, numFeatures };
}

/** Cut points for one feature from its sorted non-missing sample. */
function cutsFor(sorted: Float64Array, maxBins: number): Float64Array {
  const n = sorted.length;
  if (n === 0) return new Float64Array(0);
  // Distinct values and their counts.
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1]!++;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  const mid = (i: number): number => {
    const a = distinct[i]!;
    const b = distinct[i + 1]!;
    // Next to an infinity the midpoint is meaningless: cut at the finite neighbour (or at
    // +Infinity, which only +Infinity itself reaches). Halves first, so huge values cannot overflow.
    if (a === -Infinity) return b;
    if (b === Infinity) return Infinity;
    return a / 2 + b / 2;
  };
  if (distinct.length <= maxBins)
    return Float64Array.from({ length: distinct.length - 1 }, (_, i) => mid(i));
  // Equal-count cuts: walk the distinct values, closing a bin once it holds its share of the
  // remaining rows. Recomputing the share as we go keeps one very frequent value (a spike at 0)
  // from starving the bins after it.
  const out: number[] = [];
  let remaining = n;
  let binsLeft = maxBins;
  let inBin = 0;
  for (let i = 0; i < distinct.length - 1; i++) {
    inBin += counts[i]!;
    const target = remaining / binsLeft;
    if (inBin >= target || (counts[i + 1]! >= target && inBin > 0)) {
      out.push(mid(i));
      remaining -= inBin;
      inBin = 0;
      binsLeft--;
      if (binsLeft === 1) break;
    }
  }
  return Float64Array.from(out);
}

/** Number of value bins of a feature (its missing bin is extra). */
export function valueBins(mapper: BinMapper, f: number): number {
  return mapper.cuts[f]!.length + 1;
}

/** Bin of one value: the number of cuts ≤ x (upper bound), or MISSING_BIN for NaN. */
export function binOf(cuts: Float64Array, x: number): number {
  if (x !== x) return MISSING_BIN;
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (cuts[m]! <= x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/**
 * Cuts padded with +Infinity to 2^k − 1 entries, so `binOfPadded` can run a fixed number of
 * branch-free halving steps (Khuong & Morin, "Array layouts for comparison-based searching",
 * 2017: branch-free binary search beats the branchy one on small sorted arrays).
 */
function padCuts(cuts: Float64Array): { padded: Float64Array; steps: number } {
  let size = 1;
  let steps = 0;
  while (size - 1 < cuts.length) {
    size *= 2;
    steps++;
  }
  const padded = new Float64Array(size).fill(Infinity);
  padded.set(cuts);
  return { padded, steps };
}

/** Column-major binned matrix of a row-major float32 feature matrix. */
export function binMatrix(mapper: BinMapper, features: Float32Array, numRows: number): Uint8Array {
  const nf = mapper.numFeatures;
  // Shared memory, so histogram workers read the same matrix without a copy.
  const out = new Uint8Array(new SharedArrayBuffer(numRows * nf));
  const pads = mapper.cuts.map(padCuts);
  const cutsLen = mapper.cuts.map((c) => c.length);
  // Blocks of rows: each block's slice of the input is read once per feature while it is still
  // in cache, and each column is written sequentially.
  const BLOCK = 1024;
  for (let r0 = 0; r0 < numRows; r0 += BLOCK) {
    const r1 = Math.min(numRows, r0 + BLOCK);
    for (let f = 0; f < nf; f++) {
      const { padded, steps } = pads[f]!;
      const col = f * numRows;
      for (let r = r0; r < r1; r++) {
        const x = features[r * nf + f]!;
        if (x !== x) {
          out[col + r] = MISSING_BIN;
          continue;
        }
        // Invariant: the answer (number of cuts <= x) is in [lo, lo + half * 2).
        let lo = 0;
        let half = padded.length >> 1;
        for (let s = 0; s < steps; s++) {
          lo += padded[lo + half - 1]! <= x ? half : 0;
          half >>= 1;
        }
        // +Infinity passes the padding too; it belongs in the last value bin.
        out[col + r] = lo > cutsLen[f]! ? cutsLen[f]! : lo;
      }
    }
  }
  return out;
}

/**
 * Exclusive feature bundling (LightGBM's EFB, Ke et al. NIPS 2017 §4), exact variant: features
 * that are never off their most frequent bin in the same row — the slots of a one-hot group, in
 * our schema 58 of 143 features — share one bundle column, so histogram construction reads one
 * byte per row for the whole group instead of one per slot. The members' histograms are then
 * recovered exactly (`unbundle` in histogram.ts): each non-default bin is a bundle bin, and the
 * default bin is the leaf total minus the rest.
 *
 * Unlike LightGBM (which tolerates a small conflict rate), a feature joins a bundle only if no
 * training row conflicts, so the members' histograms are recovered exactly (counts bit for bit;
 * the default bin's gradient sums up to floating-point addition order).
 *
 * A bundle column holds, per row: 0 when every member is at its default bin; the code of the one
 * member's non-default bin (its value bins other than the default, then its missing bin); or 255
 * (MISSING_BIN) when every member is missing — a one-hot group whose source value is absent.
 */
export interface Bundle {
  readonly members: readonly number[];
  /** Default (most frequent) value bin of each member. */
  readonly defaultBin: readonly number[];
  /** code[m][b]: bundle bin of member m's bin b (b = MISSING_BIN included), 0 for the default. */
  readonly code: readonly Uint8Array[];
}

const NONE = -1;
const ALL_MISSING = -2;
/** Largest number of non-default bins a feature may bring into a bundle. */
const MAX_MEMBER_BINS = 32;

export function findBundles(
  bins: Uint8Array,
  numRows: number,
  numFeatures: number,
  valueBinCount: Int32Array,
  maxSampleRows = DEFAULT_SAMPLE_ROWS,
): Bundle[] {
  // Bundles are chosen on an evenly strided sample of rows; `appendBundleColumns` then checks
  // every row and drops a bundle that conflicts anywhere, so the sample only affects speed.
  const stride = Math.max(1, Math.floor(numRows / maxSampleRows));
  const sample = Int32Array.from({ length: Math.ceil(numRows / stride) }, (_, i) => i * stride);
  const ns = sample.length;
  interface Work {
    members: number[];
    defaults: number[];
    nextCode: number;
    /** Per sample row: NONE, the one non-default member's position, or ALL_MISSING. */
    state: Int16Array;
    hasMissing: boolean[];
  }
  const work: Work[] = [];
  for (let f = 0; f < numFeatures; f++) {
    const col = f * numRows;
    const counts = new Float64Array(256);
    for (let i = 0; i < ns; i++) counts[bins[col + sample[i]!]!]!++;
    const nb = valueBinCount[f]!;
    let d = 0;
    for (let b = 1; b < nb; b++) if (counts[b]! > counts[d]!) d = b;
    const hasMissing = counts[MISSING_BIN]! > 0;
    const extra = nb - 1 + (hasMissing ? 1 : 0);
    if (extra === 0 || extra > MAX_MEMBER_BINS) continue;
    let placed = false;
    for (const w of work) {
      if (w.nextCode + extra > 254) continue;
      // Trial pass over the sample: does f ever leave its default where the bundle already has?
      const size = w.members.length;
      let conflict = false;
      for (let i = 0; i < ns && !conflict; i++) {
        const r = sample[i]!;
        const b = bins[col + r]!;
        const s = w.state[i]!;
        if (s === NONE) continue;
        if (s === ALL_MISSING) conflict = b !== MISSING_BIN;
        else if (b !== d)
          conflict = !(
            b === MISSING_BIN &&
            size === 1 &&
            bins[w.members[0]! * numRows + r] === MISSING_BIN
          );
      }
      if (conflict) continue;
      for (let i = 0; i < ns; i++) {
        const b = bins[col + sample[i]!]!;
        const s = w.state[i]!;
        if (b === d) continue;
        if (s === NONE) w.state[i] = size;
        else if (s !== ALL_MISSING) w.state[i] = ALL_MISSING; // both missing (checked above)
      }
      w.members.push(f);
      w.defaults.push(d);
      w.hasMissing.push(hasMissing);
      w.nextCode += extra;
      placed = true;
      break;
    }
    if (!placed) {
      const state = new Int16Array(ns).fill(NONE);
      for (let i = 0; i < ns; i++) if (bins[col + sample[i]!] !== d) state[i] = 0;
      work.push({
        members: [f],
        defaults: [d],
        nextCode: 1 + extra,
        state,
        hasMissing: [hasMissing],
      });
    }
  }
  const bundles: Bundle[] = [];
  for (const w of work) {
    if (w.members.length < 2) continue;
    let next = 1;
    const code = w.members.map((f, j) => {
      const c = new Uint8Array(256);
      for (let b = 0; b < valueBinCount[f]!; b++) if (b !== w.defaults[j]) c[b] = next++;
      if (w.hasMissing[j]) c[MISSING_BIN] = next++;
      return c;
    });
    bundles.push({ members: w.members, defaultBin: w.defaults, code });
  }
  return bundles;
}

/**
 * A binned matrix with the bundle columns appended after the feature columns (column
 * numFeatures + i is bundle i of the returned list), in new shared memory. Every row is checked:
 * a bundle with a conflicting row (chosen on a sample, wrong on the full data) is left out, and
 * its members stay ordinary columns.
 */
export function appendBundleColumns(
  bins: Uint8Array,
  numRows: number,
  numFeatures: number,
  candidates: readonly Bundle[],
): { bins: Uint8Array; bundles: Bundle[] } {
  const columns: Uint8Array[] = [];
  const bundles: Bundle[] = [];
  for (const bd of candidates) {
    const m = bd.members.length;
    const col = new Uint8Array(numRows);
    let ok = true;
    for (let r = 0; r < numRows && ok; r++) {
      let v = 0;
      let nonDefault = 0;
      let missing = 0;
      for (let j = 0; j < m; j++) {
        const b = bins[bd.members[j]! * numRows + r]!;
        if (b === MISSING_BIN) missing++;
        if (b !== bd.defaultBin[j]) {
          nonDefault++;
          v = bd.code[j]![b]!;
        }
      }
      if (missing === m) col[r] = MISSING_BIN;
      else if (nonDefault <= 1) col[r] = v;
      else ok = false;
    }
    if (ok) {
      columns.push(col);
      bundles.push(bd);
    }
  }
  const out = new Uint8Array(new SharedArrayBuffer(numRows * (numFeatures + bundles.length)));
  out.set(bins.subarray(0, numRows * numFeatures));
  columns.forEach((c, i) => out.set(c, (numFeatures + i) * numRows));
  return { bins: out, bundles };
}
