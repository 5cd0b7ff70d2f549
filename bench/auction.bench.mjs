/**
 * auction: median time of one `runAuction` (src/core/auction) for 10/50/200/1000 candidates,
 * with 1 slot and 4 slots, against `Array.prototype.sort` of the same candidates' eCPM numbers
 * measured in the same run: the floor of any auction that sorts its candidates, without even
 * computing eCPM, pricing, or a loss reason per loser.
 *
 * Issue 3 item 10: a 200-candidate single-slot auction under 20 µs median on one core, and
 * linear-or-better growth in candidates for GSP.
 *
 * Candidates (seeded, identical for engine and baseline): 40 % CPM ($0.50–10 CPM), 40 % CPC
 * ($0.10–3 per click, pCTR 0.1–5 %), 20 % CPA ($5–50 per action, pCTR 0.1–5 %, pCVR 1–10 %),
 * all in the open tier, reserve $0.50 CPM, increment $0.01. POOL different auctions per size are
 * cycled so that no single input is learned by the branch predictor.
 *
 * Method: per (mechanism, slots, candidates): a warm-up, then ROUNDS rounds; each round times one
 * batch of the engine and one batch of the baseline, back to back, in alternating order, each
 * batch sized to take about BATCH_MS. Reported: the median per-auction time over rounds for
 * each, their ratio, and the median of the per-round ratios (a round's two batches are back to
 * back, so their ratio is less exposed to the machine's drift), the fastest round of each, and
 * the growth exponent from 200 to 1000 candidates.
 *
 * Env: BENCH_AUCTION_ROUNDS (31), BENCH_AUCTION_BATCH_MS (4), BENCH_AUCTION_POOL (32; 1 measures
 * one cache-hot auction per size, which separates the engine's own growth from its input's
 * memory footprint: 32 × 1000 bids are about 3 MB of objects, 32 × 200 about 0.6 MB).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envNumber, median, round } from './lib/util.mjs';

export const name = 'auction';
export const description =
  'runAuction (GSP/VCG, 1 and 4 slots, 10–1000 candidates) vs Array.prototype.sort of the same eCPMs';
export const timeoutMs = 10 * 60_000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = envNumber('BENCH_AUCTION_ROUNDS', 31, { integer: true });
const BATCH_MS = envNumber('BENCH_AUCTION_BATCH_MS', 4);
const SIZES = [10, 50, 200, 1000];
const CASES = [
  { mechanism: 'gsp', slots: [1] },
  { mechanism: 'gsp', slots: [1, 0.7, 0.5, 0.3] },
  { mechanism: 'vcg', slots: [1, 0.7, 0.5, 0.3] },
];
const POOL = envNumber('BENCH_AUCTION_POOL', 32, { integer: true });
const SEED = 20261125;
const GOAL_US = 20;
const WARMUP_MS = 500;

function makeBids(n, rand) {
  const between = (lo, hi) => lo + (hi - lo) * rand();
  const bids = [];
  for (let i = 0; i < n; i++) {
    const u = rand();
    const id = `cmp_${i.toString(36)}_${Math.floor(rand() * 1e6).toString(36)}`;
    if (u < 0.4) {
      bids.push({
        id,
        model: 'cpm',
        bid_micros: Math.round(between(0.5, 10) * 1e6),
        prediction: { ctr: 0.01, cvr: 0.05 },
      });
    } else if (u < 0.8) {
      bids.push({
        id,
        model: 'cpc',
        bid_micros: Math.round(between(0.1, 3) * 1e6),
        prediction: { ctr: between(0.001, 0.05), cvr: 0.05 },
      });
    } else {
      bids.push({
        id,
        model: 'cpa',
        bid_micros: Math.round(between(5, 50) * 1e6),
        prediction: { ctr: between(0.001, 0.05), cvr: between(0.01, 0.1) },
      });
    }
  }
  return bids;
}

/** Runs `fn(i)` for i = 0..iterations-1 and returns µs per call. */
function timeBatch(fn, iterations) {
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  return ((performance.now() - t0) * 1000) / iterations;
}

/** Iterations for a batch of about BATCH_MS, from a short probe. */
function calibrate(fn) {
  let n = 16;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    const ms = performance.now() - t0;
    if (ms > BATCH_MS / 4 || n > 1 << 24) return Math.max(16, Math.ceil((n * BATCH_MS) / ms));
    n *= 4;
  }
}

export async function run({ signal, log }) {
  const distFile = path.join(root, 'dist/core/auction/index.js');
  if (!existsSync(distFile)) throw new Error(`${distFile} is missing: run npm run build first`);
  const { runAuction, rankingEcpmMicros } = await import(pathToFileURL(distFile).href);
  // A seeded PRNG, so every run benchmarks the same auctions.
  const { mulberry32 } = await import(
    pathToFileURL(path.join(root, 'dist/core/seeded-random.js')).href
  );

  const rand = mulberry32(SEED);
  const pools = new Map(
    SIZES.map((n) => [n, Array.from({ length: POOL }, () => makeBids(n, rand))]),
  );
  // The baseline's input: each auction's eCPM numbers, computed once outside the timed loop.
  const ecpmPools = new Map(
    SIZES.map((n) => [
      n,
      pools
        .get(n)
        .map((bids) => bids.map((b) => rankingEcpmMicros(b.model, b.bid_micros, b.prediction))),
    ]),
  );

  let sink = 0; // consumed results, so the JIT cannot drop the work
  // Warm-up over every case and size first, so that the first case measured does not pay for
  // the JIT's first tiers and later cases do not run on code that was deoptimised by new shapes.
  const warmUntil = performance.now() + WARMUP_MS;
  while (performance.now() < warmUntil) {
    for (const { mechanism, slots } of CASES) {
      const config = {
        mechanism,
        slot_factors: slots,
        reserve_cpm_micros: 500_000,
        increment_micros: 10_000,
      };
      for (const n of SIZES) {
        for (const bids of pools.get(n)) sink += runAuction(bids, config).losers.length;
        for (const e of ecpmPools.get(n)) sink += e.slice().sort((a, b) => b - a)[0];
      }
    }
  }
  const rows = [];
  for (const { mechanism, slots } of CASES) {
    const config = {
      mechanism,
      slot_factors: slots,
      reserve_cpm_micros: 500_000,
      increment_micros: 10_000,
    };
    for (const n of SIZES) {
      signal.throwIfAborted();
      const auctions = pools.get(n);
      const ecpms = ecpmPools.get(n);
      const engine = (i) => {
        const out = runAuction(auctions[i % POOL], config);
        sink += out.winners.length + out.losers.length;
      };
      const baseline = (i) => {
        const sorted = ecpms[i % POOL].slice().sort((a, b) => b - a);
        sink += sorted[0];
      };
      // Warm-up: let both reach optimised code before anything is timed.
      const engineIters = calibrate(engine);
      const baselineIters = calibrate(baseline);
      timeBatch(engine, engineIters);
      timeBatch(baseline, baselineIters);

      const engineUs = [];
      const baselineUs = [];
      const roundRatios = [];
      for (let r = 0; r < ROUNDS; r++) {
        if (r % 4 === 0) await new Promise((res) => setImmediate(res)); // let an abort through
        signal.throwIfAborted();
        let e;
        let b;
        if (r % 2 === 0) {
          e = timeBatch(engine, engineIters);
          b = timeBatch(baseline, baselineIters);
        } else {
          b = timeBatch(baseline, baselineIters);
          e = timeBatch(engine, engineIters);
        }
        engineUs.push(e);
        baselineUs.push(b);
        roundRatios.push(e / b);
      }
      const row = {
        mechanism,
        slots: slots.length,
        candidates: n,
        median_us: round(median(engineUs), 3),
        baseline_sort_us: round(median(baselineUs), 3),
        ratio: round(median(engineUs) / median(baselineUs), 2),
        median_round_ratio: round(median(roundRatios), 2),
        ns_per_candidate: round((median(engineUs) * 1000) / n, 1),
        min_us: round(Math.min(...engineUs), 3),
        baseline_min_us: round(Math.min(...baselineUs), 3),
        p90_us: round(engineUs.sort((x, y) => x - y)[Math.floor(0.9 * ROUNDS)], 3),
      };
      rows.push(row);
      log(
        `${mechanism} ${slots.length} slot(s) ${String(n).padStart(4)} candidates: ` +
          `${row.median_us} µs (sort ${row.baseline_sort_us} µs, ratio ${row.ratio})`,
      );
    }
  }

  const at = (mechanism, slots, n) =>
    rows.find((r) => r.mechanism === mechanism && r.slots === slots && r.candidates === n);
  const goalRow = at('gsp', 1, 200);
  // Growth exponent between 200 and 1000 candidates: log(t1000/t200) / log(5); 1 = linear,
  // n log n ≈ 1.16 over this range. From medians and, less exposed to other processes on a
  // shared machine (noise only ever adds time), from the fastest round.
  const exponent = (t200, t1000) => round(Math.log(t1000 / t200) / Math.log(1000 / 200), 2);
  const growth = (mechanism, slots, key) =>
    exponent(at(mechanism, slots, 200)[key], at(mechanism, slots, 1000)[key]);
  return {
    config: { rounds: ROUNDS, batchMs: BATCH_MS, pool: POOL, seed: SEED, sizes: SIZES },
    rows,
    goal: {
      target_us: GOAL_US,
      gsp_1slot_200_median_us: goalRow.median_us,
      met: goalRow.median_us < GOAL_US,
    },
    growthExponent200to1000: {
      gsp_1slot: growth('gsp', 1, 'median_us'),
      gsp_4slots: growth('gsp', 4, 'median_us'),
      baseline_sort: growth('gsp', 1, 'baseline_sort_us'),
      fastestRound: {
        gsp_1slot: growth('gsp', 1, 'min_us'),
        gsp_4slots: growth('gsp', 4, 'min_us'),
        baseline_sort: growth('gsp', 1, 'baseline_min_us'),
      },
    },
    sink: sink % 1000,
  };
}

/** Rows and notes for the runner's human table. */
export function table(result) {
  return {
    rows: result.rows.map(({ p90_us: _p90, baseline_min_us: _bmin, ...r }) => r),
    notes: [
      `goal: 200-candidate single-slot GSP median ${result.goal.gsp_1slot_200_median_us} µs ` +
        `(< ${result.goal.target_us} µs: ${result.goal.met ? 'met' : 'NOT met'})`,
      `growth exponent 200→1000 candidates (1 = linear, n log n ≈ 1.16), medians: GSP 1 slot ` +
        `${result.growthExponent200to1000.gsp_1slot}, 4 slots ` +
        `${result.growthExponent200to1000.gsp_4slots}, baseline sort ` +
        `${result.growthExponent200to1000.baseline_sort}; fastest rounds: GSP 1 slot ` +
        `${result.growthExponent200to1000.fastestRound.gsp_1slot}, 4 slots ` +
        `${result.growthExponent200to1000.fastestRound.gsp_4slots}, baseline sort ` +
        `${result.growthExponent200to1000.fastestRound.baseline_sort}`,
    ],
  };
}
