/**
 * cache: hit rate and throughput of our L1 cache (W-TinyLFU, src/core/cache/w-tinylfu.ts) against
 * `lru-cache` (the npm LRU most Node code uses) on the same traces, in the same process and run.
 *
 * Traces (seeded, generated once per run, identical for both caches):
 * - `zipf`: REQUESTS requests drawn from Zipf(α = 1.0) over KEYS keys (issue 7's Done-when).
 *   Ranks are mapped to keys through a seeded permutation so popularity is not key order.
 * - `zipf+scan`: the same kind of Zipf traffic, cut into 10 segments; each segment ends with a
 *   sequential scan of never-seen keys taking 20% of the segment's requests (with 10M requests:
 *   10 scans of 200,000 one-hit keys, twice the larger cache). Scan keys can never hit, so the
 *   best possible hit rate is at most 80%. The scan is what flushes an LRU.
 *
 * Each (trace, cache size) pair runs both caches on a fresh instance: `get`, and on a miss
 * `set` (a read-through cache with an instant loader). Keys are integers for both caches.
 * ROUNDS rounds alternate which cache runs first; hit rates are deterministic (checked equal
 * across rounds), ops/s are the median over rounds. No TTL is used (neither cache reads a clock).
 *
 * Env: BENCH_CACHE_REQUESTS (10,000,000), BENCH_CACHE_KEYS (1,000,000), BENCH_CACHE_ROUNDS (3),
 * BENCH_CACHE_SIZES (percent of KEYS, comma separated; "1,10").
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LRUCache } from 'lru-cache';
import v8 from 'node:v8';
import vm from 'node:vm';
import { envNumber, median, round } from './lib/util.mjs';

export const name = 'cache';
export const description =
  'L1 cache: W-TinyLFU vs lru-cache, hit rate and ops/s on Zipf(1.0) and Zipf+scan traces';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REQUESTS = envNumber('BENCH_CACHE_REQUESTS', 10_000_000, { integer: true });
const KEYS = envNumber('BENCH_CACHE_KEYS', 1_000_000, { integer: true });
const ROUNDS = envNumber('BENCH_CACHE_ROUNDS', 3, { integer: true });
const SIZES_PCT = (process.env.BENCH_CACHE_SIZES ?? '1,10')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isFinite(n) && n > 0);
const ALPHA = 1.0;
const SEED = 20261125;

export const timeoutMs = 15 * 60_000;

/** Seeded xorshift32 in [0, 1) (the same generator family the cache uses for its jitter). */
function rng(seed) {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

/** Zipf(α) sampler over ranks 0..n-1 by inverse CDF with binary search. */
function zipfSampler(n, alpha, random) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.pow(i + 1, alpha);
    cdf[i] = sum;
  }
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function permutation(n, random) {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

function makeTraces() {
  const random = rng(SEED);
  const sample = zipfSampler(KEYS, ALPHA, random);
  const perm = permutation(KEYS, random);
  const zipf = new Int32Array(REQUESTS);
  for (let i = 0; i < REQUESTS; i++) zipf[i] = perm[sample()];

  const mixed = new Int32Array(REQUESTS);
  const segments = 10;
  const segLen = Math.floor(REQUESTS / segments);
  const scanLen = Math.floor(segLen * 0.2);
  let nextScanKey = KEYS; // scan keys are disjoint from the Zipf key space
  let scanRequests = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const inSeg = i % segLen;
    const isScan = i < segments * segLen && inSeg >= segLen - scanLen;
    if (isScan) {
      mixed[i] = nextScanKey++;
      scanRequests++;
    } else {
      mixed[i] = perm[sample()];
    }
  }
  return [
    { name: 'zipf', keys: zipf, scanShare: 0 },
    { name: 'zipf+scan', keys: mixed, scanShare: scanRequests / REQUESTS },
  ];
}

function lruCacheVersion() {
  try {
    const file = path.join(root, 'node_modules/lru-cache/package.json');
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * A full GC before each timed run, so one cache's garbage (the previous run's millions of
 * entries) is not collected on the other cache's clock. `--expose-gc` cannot be passed through
 * the runner, so it is enabled at run time (a documented V8 flag, read by a fresh context).
 */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

const YIELD_EVERY = 1 << 20;

/** Runs a trace through one cache; returns hits and seconds (yields to honour the signal). */
async function drive(kind, maxEntries, trace, signal, WTinyLfuCache) {
  const keys = trace.keys;
  const n = keys.length;
  let hits = 0;
  let busy = 0;
  collectGarbage();
  if (kind === 'w-tinylfu') {
    const c = new WTinyLfuCache({ maxEntries });
    for (let start = 0; start < n; start += YIELD_EVERY) {
      const end = Math.min(n, start + YIELD_EVERY);
      const t0 = performance.now();
      for (let i = start; i < end; i++) {
        const k = keys[i];
        if (c.get(k, 0) !== undefined) hits++;
        else c.set(k, k, 0);
      }
      busy += performance.now() - t0;
      await new Promise((r) => setImmediate(r));
      signal.throwIfAborted();
    }
    return { hits, seconds: busy / 1000, size: c.size, stats: c.stats() };
  }
  const c = new LRUCache({ max: maxEntries });
  for (let start = 0; start < n; start += YIELD_EVERY) {
    const end = Math.min(n, start + YIELD_EVERY);
    const t0 = performance.now();
    for (let i = start; i < end; i++) {
      const k = keys[i];
      if (c.get(k) !== undefined) hits++;
      else c.set(k, k);
    }
    busy += performance.now() - t0;
    await new Promise((r) => setImmediate(r));
    signal.throwIfAborted();
  }
  return { hits, seconds: busy / 1000, size: c.size };
}

export async function run({ signal, log }) {
  const distFile = path.join(root, 'dist/core/cache/w-tinylfu.js');
  if (!existsSync(distFile)) throw new Error(`${distFile} is missing: run npm run build first`);
  const { WTinyLfuCache } = await import(pathToFileURL(distFile).href);

  const t0 = performance.now();
  const traces = makeTraces();
  log(
    `traces: ${REQUESTS.toLocaleString('en')} requests over ${KEYS.toLocaleString('en')} keys, ` +
      `generated in ${round((performance.now() - t0) / 1000, 1)} s`,
  );

  const cases = [];
  for (const trace of traces) {
    for (const pct of SIZES_PCT) {
      const maxEntries = Math.max(1, Math.round((KEYS * pct) / 100));
      const runs = { 'w-tinylfu': [], 'lru-cache': [] };
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? ['w-tinylfu', 'lru-cache'] : ['lru-cache', 'w-tinylfu'];
        for (const kind of order) {
          signal.throwIfAborted();
          const res = await drive(kind, maxEntries, trace, signal, WTinyLfuCache);
          runs[kind].push(res);
          log(
            `${trace.name} ${pct}% (${maxEntries}) round ${r + 1} ${kind}: hit ${round(
              (100 * res.hits) / REQUESTS,
              2,
            )}%, ${Math.round(REQUESTS / res.seconds).toLocaleString('en')} ops/s`,
          );
        }
      }
      const summarise = (list) => {
        const hitSet = new Set(list.map((x) => x.hits));
        return {
          hitRate: round(list[0].hits / REQUESTS, 4),
          deterministic: hitSet.size === 1,
          opsPerSec: Math.round(median(list.map((x) => REQUESTS / x.seconds))),
          roundsOpsPerSec: list.map((x) => Math.round(REQUESTS / x.seconds)),
          finalSize: list[0].size,
        };
      };
      const ours = summarise(runs['w-tinylfu']);
      const lru = summarise(runs['lru-cache']);
      const st = runs['w-tinylfu'][0].stats;
      cases.push({
        trace: trace.name,
        scanShare: round(trace.scanShare, 3),
        cachePct: pct,
        maxEntries,
        ours: {
          ...ours,
          admitted: st.admitted,
          rejected: st.rejected,
          sketchResets: st.sketchResets,
        },
        lru,
        hitRateGainPp: round(100 * (ours.hitRate - lru.hitRate), 2),
        opsRatio: round(ours.opsPerSec / lru.opsPerSec, 3),
      });
    }
  }
  return {
    requests: REQUESTS,
    keys: KEYS,
    alpha: ALPHA,
    rounds: ROUNDS,
    seed: SEED,
    lruCacheVersion: lruCacheVersion(),
    cases,
    doneWhen: {
      hitRateHigherOnEveryTrace: cases.every((c) => c.ours.hitRate > c.lru.hitRate),
      opsAtLeastHalfOfLruEverywhere: cases.every((c) => c.opsRatio >= 0.5),
    },
  };
}

export function table(result) {
  return {
    rows: result.cases.map((c) => ({
      trace: c.trace,
      size: `${c.cachePct}% (${c.maxEntries})`,
      'ours hit %': round(100 * c.ours.hitRate, 2),
      'lru hit %': round(100 * c.lru.hitRate, 2),
      'gain pp': c.hitRateGainPp,
      'ours Mops/s': round(c.ours.opsPerSec / 1e6, 2),
      'lru Mops/s': round(c.lru.opsPerSec / 1e6, 2),
      'ops ratio': c.opsRatio,
    })),
    notes: [
      `${result.requests.toLocaleString('en')} requests, ${result.keys.toLocaleString('en')} keys, ` +
        `Zipf α=${result.alpha}, ${result.rounds} rounds (ops/s: median), lru-cache ${result.lruCacheVersion}`,
      `Done-when: higher hit rate everywhere: ${result.doneWhen.hitRateHigherOnEveryTrace}; ` +
        `ops/s ≥ 0.5× lru-cache everywhere: ${result.doneWhen.opsAtLeastHalfOfLruEverywhere}`,
    ],
  };
}
