/**
 * Child processes of the `rtb` benchmark (bench/rtb.bench.mjs), one script with two roles:
 *
 *   node bench/lib/rtb-children.mjs sim        → 50 simulated DSPs (dist/cli/dsp-sim.js);
 *                                                prints one JSON line {dsps: [...]}
 *   node bench/lib/rtb-children.mjs exchange M → the adstack server (dist/, in-memory PGlite,
 *                                                demo data) with fan-out mode M; prints READY <url>
 *
 * Modes: `ours` (src/exchange/rtb/fan-out.ts), `ours_progressive` (the same with the
 * progressive auction, checkpoint at 60 % of the DSP budget), `ours_p50` / `ours_p25` (ours with
 * that "too slow to call" percentile), `naive` (one JSON.stringify and one
 * undici.request per DSP, 30 ms hard timeout: the baseline), `wait_all` (naive, but
 * waiting up to 1 s for every DSP: the bid-value baseline).
 * Settings come from env: RTB_DSPS (JSON, for exchange), RTB_SEED, RTB_DSP_COUNT.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request } from 'undici';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;

/** Bid rates of the simulated DSPs: most bid often, a tail rarely (as in real RTB traffic). */
export function simBehaviour(i) {
  const rare = i % 10 >= 7; // 30 % of DSPs bid on 2 % of requests
  return { bidRate: rare ? 0.02 : 0.6, priceMedian: 0.8 + (i % 7) * 0.15, priceSigma: 0.5 };
}

async function sim() {
  const { startDspSimulator } = await import(dist('cli/dsp-sim.js'));
  const count = Number(process.env.RTB_DSP_COUNT ?? 50);
  const s = await startDspSimulator({
    count,
    seed: Number(process.env.RTB_SEED ?? 42),
    // Issue 4 benchmark: latency median 15 ms, 10 % over 30 ms (σ = ln 2 / 1.2816).
    behaviour: { medianMs: 15, sigma: Math.log(2) / 1.2816 },
    perDsp: Array.from({ length: count }, (_, i) => simBehaviour(i)),
  });
  process.stdout.write(`${JSON.stringify({ dsps: s.dsps })}\n`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The baseline fan-out: per DSP, its own serialisation and its own undici.request. */
class NaiveFanOut {
  constructor(bidders, timeoutMs) {
    this.bidders = bidders;
    this.timeoutMs = timeoutMs;
  }
  async run(req) {
    const result = { bids: [], rejected: [], nonBids: [], outcomes: [], sent: new Map() };
    await Promise.all(
      this.bidders.map(async (bidder) => {
        const id = bidder.config.id;
        const built = bidder.buildRequests(req, { tmaxMs: 30, bodies: new Map() });
        if (built.kind !== 'requests') return;
        const http = built.requests[0];
        const started = performance.now();
        try {
          const res = await request(http.uri, {
            method: 'POST',
            headers: http.headers,
            body: JSON.stringify(built.sent),
            signal: AbortSignal.timeout(this.timeoutMs),
          });
          const body = await res.body.text();
          const parsed = bidder.parseBids(built.sent, http, { status: res.statusCode, body });
          for (const b of parsed.bids) result.bids.push({ ...b, bidder: id });
          result.outcomes.push({
            bidder: id,
            kind: parsed.bids.length > 0 ? 'bids' : 'no_bid',
            nbr: null,
            bids: parsed.bids.length,
            rejected: 0,
            latencyMs: performance.now() - started,
          });
        } catch {
          result.outcomes.push({
            bidder: id,
            kind: 'timeout',
            latencyMs: performance.now() - started,
          });
          result.nonBids.push({ seat: id, impids: http.impIds, status: 101, reason: 'timeout' });
        }
      }),
    );
    return result;
  }
}

async function exchange(mode) {
  const { loadConfig } = await import(dist('config/config.js'));
  const { createRuntime } = await import(dist('wiring/runtime.js'));
  const { createOpenRtbBidder } = await import(dist('bidders/openrtb/bidder.js'));
  const { DSP_DEFAULTS } = await import(dist('bidders/types.js'));
  const dsps = JSON.parse(process.env.RTB_DSPS ?? '[]').map((d) => ({
    id: d.name,
    endpoint: d.url,
  }));
  const rtb = {
    dsps,
    // DSP budget 30 ms (seed Part 3) for tmax 50: 15 ms response margin + 5 ms safety.
    auction: { responseMarginMs: 15 },
    timeouts: {
      marginMs: 5,
      safetyMs: 5,
      minTimeoutMs: 3,
      coldTimeoutMs: 30,
      minSamples: 10,
      skipOn: 'p25',
    },
    notices: false,
  };
  if (mode === 'ours_progressive') rtb.progressive = { checkpointFraction: 0.6 };
  if (mode === 'ours_p25') rtb.timeouts = { ...rtb.timeouts, skipOn: 'p25' };
  if (mode === 'ours_p50') rtb.timeouts = { ...rtb.timeouts, skipOn: 'p50' };
  if (mode === 'naive' || mode === 'wait_all') {
    const bidders = dsps.map((d) => createOpenRtbBidder({ ...DSP_DEFAULTS, ...d }));
    rtb.fanOut = new NaiveFanOut(bidders, mode === 'naive' ? 30 : 1000);
  }
  const config = loadConfig({
    ADSTACK_DATA_DIR: 'memory://',
    ADSTACK_PORT: '0',
    ADSTACK_HOST: '127.0.0.1',
    ADSTACK_PUBLIC_URL: 'http://ads.bench',
    ADSTACK_ADMIN_KEY: 'bench-admin-key-0123456789',
    ADSTACK_TRACKING_SECRET: 'bench-tracking-secret-0123456789',
    ADSTACK_LOG_LEVEL: 'warn',
  });
  const rt = await createRuntime(config, { demo: true, rtb });
  const url = await rt.app.listen({ port: 0, host: '127.0.0.1' });
  if (process.env.RTB_DEBUG_LAG === '1') {
    const { monitorEventLoopDelay } = await import('node:perf_hooks');
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    setInterval(() => {
      process.stderr.write(
        `lag p50 ${(h.percentile(50) / 1e6).toFixed(1)} p99 ${(h.percentile(99) / 1e6).toFixed(1)} max ${(h.max / 1e6).toFixed(1)} ms\n`,
      );
      h.reset();
    }, 1000).unref();
  }
  process.stdout.write(`READY ${url}\n`);
  const stop = () => void rt.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const [role, mode] = process.argv.slice(2);
  if (role === 'sim') await sim();
  else if (role === 'exchange') await exchange(mode ?? 'ours');
  else {
    process.stderr.write('usage: rtb-children.mjs sim | exchange ours|naive|wait_all\n');
    process.exit(2);
  }
}
