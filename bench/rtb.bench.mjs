/**
 * rtb: POST /openrtb2/auction with 50 simulated DSPs on loopback (issue 4 benchmark).
 *
 * Three exchange processes are measured one after the other against the same simulator process:
 *   ours      src/exchange/rtb (shared bodies, dispatch-level undici pools, adaptive per-DSP
 *             timeouts inside one deadline, breakers, learned skipping of DSPs that do not bid)
 *   naive     one JSON.stringify and one undici.request per DSP per auction, 30 ms hard timeout
 *   wait_all  naive, but waiting up to 1 s for every DSP (the bid-value baseline)
 *
 * Phases (each bounded in time):
 *   1. value: the same number of auctions at low concurrency on `wait_all` and `ours` (and on
 *      ours with the progressive auction, and with the other skip rule); mean revenue per
 *      auction (sum of the BidResponse prices) and its ratio.
 *   2. naive at saturation (closed loop, BENCH_CONNECTIONS): its auctions/s sets the rates below.
 *   3. ours at fixed rates, ascending multiples of naive's saturation rate (RTB_SWEEP): the
 *      highest rate with ≤ 1 % answers after tmax and a full fan-out is its capacity.
 *   4. ours at saturation (closed loop), last: overload makes it shed DSPs, and that state
 *      lingers for seconds (breakers, latency windows), so it must not precede phase 3.
 *   Each reports auctions/s, p50/p99, the share after tmax, the fill share, DSPs called per
 *   auction (from /metrics) and exchange CPU ms per auction.
 *
 * The simulator (50 node:http servers in one process) shares the machine's two cores with the
 * exchange and autocannon: the report shows the CPU each used. Env: BENCH_DURATION_S (8),
 * BENCH_CONNECTIONS (32), BENCH_ROUNDS (2), BENCH_VALUE_REQUESTS (800), RTB_DSP_COUNT (50),
 * RTB_VALUE_RATE (0 = 4 closed-loop workers in the value phase; else auctions/s, open loop).
 */
import autocannon from 'autocannon';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import {
  cpuSeconds,
  envNumber,
  median,
  percentileSorted,
  round,
  startNode,
  stopNode,
  tail,
} from './lib/util.mjs';

export const name = 'rtb';
export const description =
  'POST /openrtb2/auction with 50 simulated DSPs: our fan-out vs a naive one, and bid value vs wait-for-all';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHILD = path.join(root, 'bench/lib/rtb-children.mjs');
const DURATION_S = envNumber('BENCH_DURATION_S', 8);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 32, { integer: true });
const ROUNDS = envNumber('BENCH_ROUNDS', 2, { integer: true });
const VALUE_REQUESTS = envNumber('BENCH_VALUE_REQUESTS', 800, { integer: true });
const DSP_COUNT = envNumber('RTB_DSP_COUNT', 50, { integer: true });
// 0 (default): the value phase runs 4 closed-loop workers; > 0: that many auctions/s, open loop.
const VALUE_RATE = envNumber('RTB_VALUE_RATE', 0);
// tmax 50 = DSP budget 30 (seed Part 3) + 5 ms safety + 15 ms for the auction and the way back.
const TMAX_MS = 50;
const STARTUP_MS = 120_000;
// The value phase also runs ours with the other "too slow to call" rule than the default
// (src/core/resilience/deadline.ts `skipOn`), same run, same simulator: the value it captures.
const ALT_SKIP_MODE = 'ours_p50';

export const timeoutMs = 4 * STARTUP_MS + ((ROUNDS * 2 + 6) * (DURATION_S + 10) + 120) * 1000;

const BODY = JSON.stringify({
  id: 'bench-auction',
  tmax: TMAX_MS,
  at: 2,
  // No tagid: the auction is DSP bids only, so the value compared is the fan-out's.
  imp: [{ id: '1', banner: { w: 300, h: 250 } }],
  site: { page: 'https://news.example/sport', keywords: 'running', publisher: { id: 'pub-1' } },
  device: { geo: { country: 'USA' }, devicetype: 2, ua: 'Mozilla/5.0 (bench)', ip: '192.0.2.1' },
  source: { tid: 'bench-tid' },
});

function waitForLine(proc, prefix, timeout, signal) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const hit = proc.output.lines.find((l) => l.stream === 'stdout' && l.line.startsWith(prefix));
      if (hit !== undefined) {
        clearInterval(poll);
        resolve(hit.line);
      } else if (proc.child.exitCode !== null || Date.now() - started > timeout || signal.aborted) {
        clearInterval(poll);
        reject(new Error(`${proc.label} did not start:\n${tail(proc.output)}`));
      }
    }, 50);
  });
}

async function startExchange(mode, dsps, signal) {
  const env = { ...process.env, RTB_DSPS: JSON.stringify(dsps) };
  for (const k of Object.keys(env)) if (k.startsWith('ADSTACK_')) delete env[k];
  const proc = startNode(`exchange-${mode}`, [CHILD, 'exchange', mode], { env, cwd: root });
  const line = await waitForLine(proc, 'READY ', STARTUP_MS, signal);
  const base = line.slice('READY '.length);
  return { proc, url: `${base}/openrtb2/auction`, metricsUrl: `${base}/metrics`, mode };
}

/** DSP outcomes counted by the exchange (adstack_rtb_bidder_requests_total), summed over DSPs. */
async function dspOutcomes(target) {
  const res = await request(target.metricsUrl);
  const text = await res.body.text();
  const out = {};
  const re =
    /^adstack_rtb_bidder_requests_total\{bidder="[^"]*",outcome="([^"]*)",reason="([^"]*)"\} (\d+)/gm;
  for (const m of text.matchAll(re)) {
    const key = m[2] === '' ? m[1] : `${m[1]}:${m[2]}`;
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

function perAuction(before, after, auctions) {
  const out = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = round(d / Math.max(1, auctions), 2);
  }
  return out;
}

const CALLED = ['bids', 'no_bid', 'timeout'];
const calledPerAuction = (o) =>
  round(
    Object.entries(o)
      .filter(([k]) => CALLED.includes(k) || k.startsWith('error'))
      .reduce((a, [, v]) => a + v, 0),
    1,
  );

/**
 * Sequential-ish auctions at low concurrency (4 closed-loop workers), or, with RTB_VALUE_RATE
 * set, at that fixed rate per second (evenly spaced, open loop: the offered load no longer
 * depends on how fast the exchange answers); revenue = sum of BidResponse prices.
 */
async function valuePhase(target, n, signal) {
  const m0 = await dspOutcomes(target);
  let revenue = 0;
  let bids = 0;
  let late = 0;
  let non2xx = 0;
  const latencies = [];
  let next = 0;
  const one = async () => {
    const t0 = performance.now();
    const res = await request(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
    const text = await res.body.text();
    const ms = performance.now() - t0;
    latencies.push(ms);
    if (ms > TMAX_MS) late++;
    if (res.statusCode === 200) {
      const j = JSON.parse(text);
      for (const sb of j.seatbid ?? []) for (const b of sb.bid) revenue += b.price;
      bids++;
    } else if (res.statusCode !== 204) non2xx++;
  };
  const worker = async () => {
    while (next < n && !signal.aborted) {
      next++;
      await one();
    }
  };
  if (VALUE_RATE > 0) {
    const pending = [];
    const t0 = performance.now();
    await new Promise((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * VALUE_RATE));
        while (next < due) {
          next++;
          pending.push(one());
        }
        if (next >= n || signal.aborted) {
          clearInterval(tick);
          resolve();
        }
      }, 5);
    });
    await Promise.all(pending);
  } else await Promise.all([worker(), worker(), worker(), worker()]);
  latencies.sort((a, b) => a - b);
  const dsp = perAuction(m0, await dspOutcomes(target), latencies.length);
  return {
    dsps_called_per_auction: calledPerAuction(dsp),
    dsp_outcomes_per_auction: dsp,
    auctions: latencies.length,
    filled: bids,
    revenue_per_auction: revenue / latencies.length,
    p50_ms: percentileSorted(latencies, 0.5),
    p99_ms: percentileSorted(latencies, 0.99),
    late_share: late / latencies.length,
    non_2xx: non2xx,
  };
}

/**
 * Open-loop load at a fixed rate, evenly spaced (a tick every 2 ms sends what is due), on an
 * undici Agent with enough connections that requests never queue client-side. autocannon's
 * `overallRate` is not used: it fires every connection's timer at the same moments, i.e. bursts
 * of BENCH_CONNECTIONS auctions, which is a different test (burst absorption).
 */
async function openLoop(target, seconds, sim, signal, rate) {
  const m0 = await dspOutcomes(target);
  const agent = new Agent({ connections: 512, pipelining: 1 });
  const latencies = [];
  const statuses = {};
  let errors = 0;
  const cpu0 = cpuSeconds(target.proc.child.pid);
  const sim0 = cpuSeconds(sim.child.pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const pending = new Set();
  let sent = 0;
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= seconds || signal.aborted) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor(elapsed * rate) - sent;
      for (let i = 0; i < due; i++) {
        sent++;
        const started = performance.now();
        const p = request(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: BODY,
          dispatcher: agent,
        })
          .then(async (res) => {
            await res.body.dump();
            latencies.push(performance.now() - started);
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          })
          .catch(() => {
            errors++;
          })
          .finally(() => pending.delete(p));
        pending.add(p);
      }
    }, 2);
  });
  await Promise.all(pending);
  const wall = (performance.now() - t0) / 1000;
  await agent.close();
  const cpu = cpuSeconds(target.proc.child.pid) - cpu0;
  const simCpu = cpuSeconds(sim.child.pid) - sim0;
  const self = process.cpuUsage(self0);
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  const late = latencies.filter((ms) => ms > TMAX_MS).length;
  const dsp = perAuction(m0, await dspOutcomes(target), n);
  return {
    auctions_per_s: n / wall,
    fill_share: n === 0 ? 0 : (statuses[200] ?? 0) / n,
    dsps_called_per_auction: calledPerAuction(dsp),
    dsp_outcomes_per_auction: dsp,
    p50_ms: percentileSorted(latencies, 0.5),
    p99_ms: percentileSorted(latencies, 0.99),
    late_share: n === 0 ? 0 : late / n,
    statuses,
    errors,
    timeouts: 0,
    exchange_cpu_ms_per_auction: n === 0 ? null : (cpu * 1000) / n,
    exchange_cores: cpu / wall,
    sim_cores: simCpu / wall,
    autocannon_cores: (self.user + self.system) / 1e6 / wall,
  };
}

async function saturate(target, seconds, sim, signal, rate = undefined) {
  const m0 = await dspOutcomes(target);
  const latencies = [];
  const statuses = {};
  const cpu0 = cpuSeconds(target.proc.child.pid);
  const sim0 = cpuSeconds(sim.child.pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const instance = autocannon({
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections: CONNECTIONS,
    duration: seconds,
    ...(rate !== undefined ? { overallRate: rate } : {}),
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const onAbort = () => instance.stop();
  signal.addEventListener('abort', onAbort);
  const result = await instance;
  signal.removeEventListener('abort', onAbort);
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(target.proc.child.pid) - cpu0;
  const simCpu = cpuSeconds(sim.child.pid) - sim0;
  const self = process.cpuUsage(self0);
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  const late = latencies.filter((ms) => ms > TMAX_MS).length;
  const dsp = perAuction(m0, await dspOutcomes(target), n);
  return {
    auctions_per_s: n / wall,
    fill_share: n === 0 ? 0 : (statuses[200] ?? 0) / n,
    dsps_called_per_auction: calledPerAuction(dsp),
    dsp_outcomes_per_auction: dsp,
    p50_ms: percentileSorted(latencies, 0.5),
    p99_ms: percentileSorted(latencies, 0.99),
    late_share: n === 0 ? 0 : late / n,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    exchange_cpu_ms_per_auction: n === 0 ? null : (cpu * 1000) / n,
    exchange_cores: cpu / wall,
    sim_cores: simCpu / wall,
    autocannon_cores: (self.user + self.system) / 1e6 / wall,
  };
}

const SWEEP = (process.env.RTB_SWEEP ?? '1,2,2.5,3,4').split(',').map(Number);

function fixedSummary(x) {
  return {
    auctions_per_s: round(x.auctions_per_s, 1),
    p50_ms: round(x.p50_ms, 2),
    p99_ms: round(x.p99_ms, 2),
    late_share: round(x.late_share, 4),
    fill_share: round(x.fill_share, 3),
    dsps_called_per_auction: x.dsps_called_per_auction,
    dsp_outcomes_per_auction: x.dsp_outcomes_per_auction,
    exchange_cpu_ms_per_auction: round(x.exchange_cpu_ms_per_auction, 3),
    exchange_cores: round(x.exchange_cores, 2),
    sim_cores: round(x.sim_cores, 2),
    autocannon_cores: round(x.autocannon_cores, 2),
  };
}

export async function run({ signal, log }) {
  if (!existsSync(path.join(root, 'dist/cli/dsp-sim.js')))
    throw new Error('dist/ is missing: run npm run build');
  let sim = null;
  const exchanges = [];
  try {
    sim = startNode('dsp-sim', [CHILD, 'sim'], {
      env: { ...process.env, RTB_DSP_COUNT: String(DSP_COUNT) },
      cwd: root,
    });
    const { dsps } = JSON.parse(await waitForLine(sim, '{', 30_000, signal));
    log(`${dsps.length} simulated DSPs on ports ${dsps[0].port}…${dsps.at(-1).port}`);

    // Phase 1: value, ours vs wait-for-every-DSP.
    const value = {};
    for (const mode of ['wait_all', 'ours_progressive', ALT_SKIP_MODE, 'ours']) {
      const ex = await startExchange(mode, dsps, signal);
      exchanges.push(ex);
      log(`value phase: ${mode} (${VALUE_REQUESTS} auctions, 4 at a time)`);
      await valuePhase(ex, 200, signal); // warm-up: pools, JIT, latency histograms
      value[mode] = await valuePhase(ex, VALUE_REQUESTS, signal);
      if (mode !== 'ours') {
        await stopNode(ex.proc);
        exchanges.pop();
      }
    }
    const ours = exchanges[0];

    // Phase 2: the naive fan-out at saturation (closed loop), which sets the sweep's rates.
    const naive = await startExchange('naive', dsps, signal);
    exchanges.push(naive);
    await saturate(naive, 2, sim, signal); // warm-up
    const rounds = { ours: [], naive: [] };
    for (let r = 0; r < ROUNDS && !signal.aborted; r++) {
      log(
        `saturation round ${r + 1}/${ROUNDS}: naive (${DURATION_S} s, ${CONNECTIONS} connections)`,
      );
      rounds.naive.push(await saturate(naive, DURATION_S, sim, signal));
    }
    await stopNode(naive.proc);
    exchanges.pop();
    const med = (mode, key) => median(rounds[mode].map((x) => x[key]));

    // Phase 3: ours at fixed rates, ascending multiples of the naive fan-out's saturation rate,
    // from the state the value phase left (warm, never overloaded): the highest rate it
    // sustains with (almost) no answer after tmax while calling as many DSPs as at low load is
    // its capacity.
    const naiveRate = med('naive', 'auctions_per_s');
    const fullFanOut = value.ours.dsps_called_per_auction;
    const sweep = [];
    // ours was idle during phase 2: the first seconds of load open new connections to every
    // DSP and inflate the latency estimates for a few seconds. Measured and reported, not counted.
    log(`sweep warm-up: ours at ${Math.round(SWEEP[0] * naiveRate)}/s (4 s)`);
    const sweepWarmup = fixedSummary(
      await openLoop(ours, 4, sim, signal, Math.max(10, Math.round(SWEEP[0] * naiveRate))),
    );
    for (const k of SWEEP) {
      if (signal.aborted) break;
      const rate = Math.max(10, Math.round(k * naiveRate));
      log(`fixed rate ${rate}/s (${k} × naive): ours (${DURATION_S} s)`);
      const x = await openLoop(ours, DURATION_S, sim, signal, rate);
      sweep.push({ multiple_of_naive: k, target_rate: rate, ...fixedSummary(x) });
    }
    const sustained = sweep.filter(
      (x) =>
        x.auctions_per_s >= 0.95 * x.target_rate &&
        x.late_share <= 0.01 &&
        x.dsps_called_per_auction >= 0.9 * fullFanOut,
    );
    const capacity =
      sustained.length === 0 ? null : Math.max(...sustained.map((x) => x.auctions_per_s));

    // Phase 4: ours at saturation (closed loop) last, because overload changes its state
    // (deadline skips, breakers): it then sheds DSPs rather than answering late.
    for (let r = 0; r < ROUNDS && !signal.aborted; r++) {
      log(
        `saturation round ${r + 1}/${ROUNDS}: ours (${DURATION_S} s, ${CONNECTIONS} connections)`,
      );
      rounds.ours.push(await saturate(ours, DURATION_S, sim, signal));
    }
    const summary = (mode) => ({
      auctions_per_s: round(med(mode, 'auctions_per_s'), 1),
      p50_ms: round(med(mode, 'p50_ms'), 2),
      p99_ms: round(med(mode, 'p99_ms'), 2),
      late_share: round(med(mode, 'late_share'), 4),
      fill_share: round(med(mode, 'fill_share'), 3),
      dsps_called_per_auction: med(mode, 'dsps_called_per_auction'),
      exchange_cpu_ms_per_auction: round(med(mode, 'exchange_cpu_ms_per_auction'), 3),
      exchange_cores: round(med(mode, 'exchange_cores'), 2),
      sim_cores: round(med(mode, 'sim_cores'), 2),
      autocannon_cores: round(med(mode, 'autocannon_cores'), 2),
    });
    return {
      dsps: dsps.length,
      tmax_ms: TMAX_MS,
      dsp_budget_ms: 30,
      connections: CONNECTIONS,
      duration_s: DURATION_S,
      rounds: ROUNDS,
      saturation: { ours: summary('ours'), naive: summary('naive') },
      saturation_throughput_ratio: round(
        med('ours', 'auctions_per_s') / med('naive', 'auctions_per_s'),
        2,
      ),
      ours_rate_sweep: sweep,
      ours_sweep_warmup: sweepWarmup,
      ours_capacity_auctions_per_s: capacity === null ? null : round(capacity, 1),
      capacity_ratio_vs_naive: capacity === null ? null : round(capacity / naiveRate, 2),
      value: {
        offered: VALUE_RATE > 0 ? `${VALUE_RATE} auctions/s, open loop` : '4 closed-loop workers',
        ours: value.ours,
        wait_all: value.wait_all,
        ours_progressive: value.ours_progressive,
        captured_share: round(
          value.ours.revenue_per_auction / value.wait_all.revenue_per_auction,
          3,
        ),
        alt_skip_mode: ALT_SKIP_MODE,
        alt_skip: value[ALT_SKIP_MODE],
        alt_skip_captured_share: round(
          value[ALT_SKIP_MODE].revenue_per_auction / value.wait_all.revenue_per_auction,
          3,
        ),
        progressive_captured_share: round(
          value.ours_progressive.revenue_per_auction / value.wait_all.revenue_per_auction,
          3,
        ),
      },
      raw_rounds: rounds,
    };
  } finally {
    for (const ex of exchanges) await stopNode(ex.proc);
    await stopNode(sim);
  }
}

export function table(r) {
  const row = (label, s) => ({
    target: label,
    'auctions/s': s.auctions_per_s,
    'p50 ms': s.p50_ms,
    'p99 ms': s.p99_ms,
    'late > tmax': s.late_share,
    fill: s.fill_share,
    'DSPs called': s.dsps_called_per_auction,
    'CPU ms/auction': s.exchange_cpu_ms_per_auction,
    'sim cores': s.sim_cores,
  });
  return {
    rows: [
      row('naive (saturation)', r.saturation.naive),
      row('ours (saturation)', r.saturation.ours),
      ...r.ours_rate_sweep.map((x) => row(`ours @ ${x.target_rate}/s`, x)),
    ],
    notes: [
      `ours sustained capacity (late ≤ 1 %, full fan-out): ${r.ours_capacity_auctions_per_s ?? 'none of the swept rates'} auctions/s = ${r.capacity_ratio_vs_naive ?? '–'} × naive saturation`,
      `value per auction (${r.value.offered}): ours ${round(r.value.ours.revenue_per_auction, 4)} vs wait-all ${round(r.value.wait_all.revenue_per_auction, 4)} → ${r.value.captured_share}; DSPs called per auction ${r.value.ours.dsps_called_per_auction}`,
      `progressive (checkpoint 60 %): value ${r.value.progressive_captured_share} of wait-all, p50 ${round(r.value.ours_progressive.p50_ms, 1)} / p99 ${round(r.value.ours_progressive.p99_ms, 1)} ms`,
      `${r.value.alt_skip_mode} (other skip rule): value ${r.value.alt_skip_captured_share} of wait-all, DSPs called ${r.value.alt_skip.dsps_called_per_auction}, p99 ${round(r.value.alt_skip.p99_ms, 1)} ms, late ${round(r.value.alt_skip.late_share, 4)}`,
      `value phase latency: ours p50 ${round(r.value.ours.p50_ms, 1)} / p99 ${round(r.value.ours.p99_ms, 1)} ms, late ${round(r.value.ours.late_share, 4)}; wait-all p50 ${round(r.value.wait_all.p50_ms, 1)} / p99 ${round(r.value.wait_all.p99_ms, 1)} ms`,
    ],
  };
}
