/**
 * Histogram construction on several threads (node:worker_threads), feature-parallel: the tree's
 * histogram columns are cut into small chunks that the calling thread and the workers claim
 * from a shared counter (LightGBM's feature-parallel histogram step, Ke et al. NIPS 2017 §4, with
 * dynamic scheduling). All arrays live in SharedArrayBuffers and coordination is a few Atomics
 * operations on a shared control block, so starting a build costs microseconds, not a message.
 *
 * Why dynamic chunks: this machine's two cores are shared with other work. With a static half for
 * each thread, the calling thread waited for a descheduled worker and two threads ran slower
 * than one. Here the calling thread keeps claiming chunks until none are left, so a late worker
 * only ever takes work off its hands, and the result never waits on a thread that has not
 * started.
 *
 * Why feature-parallel rather than row-parallel: each column's histogram is summed by exactly
 * one thread in row order, so the model is bit-identical for any thread count (a row split would
 * add two partial float sums in a different order), and there is no reduction step.
 *
 * The workers run the source text of `buildHistograms` (histogram.ts), so the code is the same as
 * on the calling thread, from compiled JavaScript and under the test runner alike.
 */
import { Worker } from 'node:worker_threads';
import type { HistogramEngine } from './grow.js';
import { buildHistograms, gatherGradients, HIST_STRIDE, subtractHistograms } from './histogram.js';
import { unbundleAll, type BuildPlan } from './plan.js';

export interface ParallelEngineInit {
  bins: Uint8Array;
  numRows: number;
  slots: number;
  grad: Float64Array;
  hess: Float64Array;
  idx: Int32Array;
  og: Float64Array;
  oh: Float64Array;
  /** Current tree's features in feats[0..numFeatsRef()). */
  feats: Int32Array;
  /** Columns to build (plan.units, shared) and the bundles to unbundle afterwards. */
  units: Int32Array;
  plan: BuildPlan;
  numColumns: number;
  numFeatsRef: () => number;
  threads: number;
}

// Control block slots (Int32).
const GEN = 0; // bumped to start a build; workers sleep on it
const NEXT = 1; // next chunk to claim
const DONE = 2; // chunks finished
const TOTAL = 3; // chunks in this build
const BEGIN = 4;
const END = 5;
const BASE = 6; // histogram slot offset / HIST_STRIDE (fits an int32)
const NUM_UNITS = 7;
const STOP = 8;
/** Columns per chunk: two passes of the two-column kernel. */
const CHUNK = 4;
/** NEXT while a build's parameters are being written: no claim can succeed. */
const CLOSED = 1 << 30;

const WORKER_SOURCE = `
const { workerData: d } = require('node:worker_threads');
const buildHistograms = ${buildHistograms.toString()};
const bins = new Uint8Array(d.bins);
const idx = new Int32Array(d.idx);
const og = new Float64Array(d.og);
const oh = new Float64Array(d.oh);
const units = new Int32Array(d.units);
const hist = new Float64Array(d.hist);
const ctl = new Int32Array(d.ctl);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${GEN}, seen);
  seen = Atomics.load(ctl, ${GEN});
  if (Atomics.load(ctl, ${STOP}) === 1) break;
  for (;;) {
    const c = Atomics.add(ctl, ${NEXT}, 1);
    if (c >= Atomics.load(ctl, ${TOTAL})) break;
    // Parameters are read after the claim: they always belong to the build the chunk came from.
    const n = Atomics.load(ctl, ${NUM_UNITS});
    const from = c * ${CHUNK};
    const to = Math.min(n, from + ${CHUNK});
    buildHistograms(bins, d.numRows, idx, Atomics.load(ctl, ${BEGIN}), Atomics.load(ctl, ${END}), og, oh, units, from, to, hist, Atomics.load(ctl, ${BASE}) * ${HIST_STRIDE});
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

function sab(a: { buffer: ArrayBufferLike }): SharedArrayBuffer {
  if (!(a.buffer instanceof SharedArrayBuffer))
    throw new TypeError('parallel training needs shared arrays');
  return a.buffer;
}

export async function createParallelEngine(
  init: ParallelEngineInit,
): Promise<HistogramEngine & { close(): Promise<void> }> {
  const slotSize = init.numColumns * HIST_STRIDE;
  const hist = new Float64Array(new SharedArrayBuffer(init.slots * slotSize * 8));
  const ctl = new Int32Array(new SharedArrayBuffer(16 * 4));
  const workerData = {
    bins: sab(init.bins),
    numRows: init.numRows,
    idx: sab(init.idx),
    og: sab(init.og),
    oh: sab(init.oh),
    units: sab(init.units),
    hist: hist.buffer,
    ctl: ctl.buffer,
  };
  const workers = Array.from(
    { length: init.threads - 1 },
    () => new Worker(WORKER_SOURCE, { eval: true, workerData }),
  );
  let failure: unknown = null;
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve, reject) => {
          w.once('online', resolve);
          w.once('error', reject);
        }),
    ),
  );
  for (const w of workers)
    w.on('error', (e) => {
      failure = e;
    });

  return {
    hist,
    slotSize,
    build(
      slot: number,
      begin: number,
      end: number,
      g: number,
      h: number,
      c: number,
    ): Promise<void> {
      if (failure !== null) return Promise.reject(failure);
      gatherGradients(init.idx, begin, end, init.grad, init.hess, init.og, init.oh);
      const numUnits = init.plan.numUnits;
      const total = Math.ceil(numUnits / CHUNK);
      // Close claiming first, so a worker still looping from the previous build cannot take a
      // chunk while the parameters change; reopen it (NEXT = 0) only when they are all set.
      Atomics.store(ctl, NEXT, CLOSED);
      Atomics.store(ctl, BEGIN, begin);
      Atomics.store(ctl, END, end);
      Atomics.store(ctl, BASE, slot * init.numColumns);
      Atomics.store(ctl, NUM_UNITS, numUnits);
      Atomics.store(ctl, TOTAL, total);
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, NEXT, 0);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      const base = slot * slotSize;
      for (;;) {
        const k = Atomics.add(ctl, NEXT, 1);
        if (k >= total) break;
        const from = k * CHUNK;
        buildHistograms(
          init.bins,
          init.numRows,
          init.idx,
          begin,
          end,
          init.og,
          init.oh,
          init.units,
          from,
          Math.min(numUnits, from + CHUNK),
          hist,
          base,
        );
        Atomics.add(ctl, DONE, 1);
      }
      // Chunks a worker claimed are finishing; wait for them (bounded waits, to notice a dead worker).
      for (let d = Atomics.load(ctl, DONE); d < total; d = Atomics.load(ctl, DONE)) {
        Atomics.wait(ctl, DONE, d, 100);
        if (failure !== null) return Promise.reject(failure);
      }
      unbundleAll(init.plan, hist, base, g, h, c);
      return Promise.resolve();
    },
    subtract(big: number, small: number): void {
      subtractHistograms(hist, big * slotSize, small * slotSize, init.feats, 0, init.numFeatsRef());
    },
    async close(): Promise<void> {
      Atomics.store(ctl, STOP, 1);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
