/**
 * `adstack dsp-sim`: N simulated OpenRTB DSPs on loopback ports (issue 4 item 7), for tests,
 * the benchmark and the demo. `startDspSimulator()` runs them in-process (tests);
 * `registerDspSimCommand()` adds the CLI subcommand (src/cli/main.ts).
 *
 * Implementation notes
 * - One `node:http` server per DSP, each on its own port, keep-alive on. A DSP parses the
 *   BidRequest, waits a latency drawn from a lognormal distribution (median × e^(σ·Z)), then
 *   answers 204 (no bid, with probability 1 − bidRate) or a BidResponse with one bid per imp
 *   at a lognormal CPM price, echoing the request id.
 * - Faults, each with its own probability per request: `timeout` (answers after `slowMs`),
 *   `hang` (never answers; the socket is closed only when the simulator stops), `error500`,
 *   `garbage` (an HTML body), `wrong_types` (price as a string, seatbid as an object), `huge_adm`
 *   (a 2 MiB adm), `trickle` (headers at once, then one byte every 20 ms).
 * - Behaviour can change at run time (`setBehaviour`), so a test can make a DSP start failing
 *   and recover (circuit-breaker tests).
 * - Randomness is a seeded PRNG (mulberry32), so a run is reproducible for a given seed and
 *   request order.
 * - Latency applies from when the body has been read; the simulator's own CPU is not part of
 *   it. Under load it adds its own queueing, like a real DSP.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { mulberry32 } from '../core/seeded-random.js';

export type FaultKind =
  'timeout' | 'hang' | 'error500' | 'garbage' | 'wrong_types' | 'huge_adm' | 'trickle';

export const FAULT_KINDS: readonly FaultKind[] = [
  'timeout',
  'hang',
  'error500',
  'garbage',
  'wrong_types',
  'huge_adm',
  'trickle',
];

export interface DspBehaviour {
  /** Median latency (ms) and lognormal σ: P(latency > median·e^(1.2816σ)) = 10 %. */
  medianMs: number;
  sigma: number;
  /** Probability of bidding (else 204). */
  bidRate: number;
  /** Median CPM price and its lognormal σ. */
  priceMedian: number;
  priceSigma: number;
  currency: string;
  /** Probability of each fault per request (checked before bidding). */
  faults: Partial<Record<FaultKind, number>>;
  /** How late a `timeout` fault answers. */
  slowMs: number;
}

export const DEFAULT_BEHAVIOUR: DspBehaviour = {
  medianMs: 15,
  // ln(30/15) / 1.2816: 10 % of answers over 30 ms (the benchmark setting).
  sigma: 0.541,
  bidRate: 0.7,
  priceMedian: 1.5,
  priceSigma: 0.5,
  currency: 'USD',
  faults: {},
  slowMs: 500,
};

export interface DspStats {
  requests: number;
  bids: number;
  noBids: number;
  faults: number;
}

export interface SimulatedDsp {
  name: string;
  url: string;
  port: number;
}

export interface DspSimulator {
  dsps: SimulatedDsp[];
  setBehaviour(index: number, change: Partial<DspBehaviour>): void;
  stats(index: number): DspStats;
  close(): Promise<void>;
}

export interface DspSimOptions {
  count: number;
  host?: string;
  /** First port; 0 = any free port for every DSP. */
  basePort?: number;
  seed?: number;
  behaviour?: Partial<DspBehaviour>;
  /** Per-DSP overrides, by index. */
  perDsp?: Partial<DspBehaviour>[];
}

function normal(rand: () => number): number {
  // Box–Muller; 1 − u keeps the log argument in (0, 1].
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

interface ParsedReq {
  id: string;
  imps: { id: string; type: number }[];
}

function readRequest(body: string): ParsedReq | null {
  try {
    const j = JSON.parse(body) as { id?: unknown; imp?: unknown };
    if (typeof j.id !== 'string' || !Array.isArray(j.imp)) return null;
    const imps = (j.imp as Record<string, unknown>[]).map((i) => ({
      id: String(i.id),
      type: i.banner ? 1 : i.video ? 2 : i.audio ? 3 : 4,
    }));
    return { id: j.id, imps };
  } catch {
    return null;
  }
}

const HUGE_ADM = `<div>${'x'.repeat(2 * 1024 * 1024)}</div>`;

function markupFor(type: number, name: string): string {
  if (type === 2 || type === 3) {
    return `<VAST version="4.0"><Ad id="${name}"><InLine><AdSystem>${name}</AdSystem></InLine></Ad></VAST>`;
  }
  if (type === 4) return JSON.stringify({ ver: '1.2', assets: [{ id: 1, title: { text: name } }] });
  return `<a href="https://${name}.example/click"><img src="https://${name}.example/ad.png"></a>`;
}

export async function startDspSimulator(opts: DspSimOptions): Promise<DspSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const rand = mulberry32(opts.seed ?? 42);
  const behaviours: DspBehaviour[] = [];
  const stats: DspStats[] = [];
  const servers: http.Server[] = [];
  const dsps: SimulatedDsp[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  for (let i = 0; i < opts.count; i++) {
    const name = `dsp${i + 1}`;
    behaviours.push({ ...DEFAULT_BEHAVIOUR, ...opts.behaviour, ...opts.perDsp?.[i] });
    stats.push({ requests: 0, bids: 0, noBids: 0, faults: 0 });
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const b = behaviours[i] as DspBehaviour;
        const st = stats[i] as DspStats;
        st.requests++;
        const parsed = readRequest(Buffer.concat(chunks).toString('utf8'));
        const latency = Math.max(0, b.medianMs * Math.exp(b.sigma * normal(rand)));
        let fault: FaultKind | null = null;
        for (const k of FAULT_KINDS) {
          const p = b.faults[k];
          if (p !== undefined && p > 0 && rand() < p) {
            fault = k;
            break;
          }
        }
        if (fault !== null) st.faults++;
        if (fault === 'hang') return; // never answers
        const send = (status: number, body: string): void => {
          if (res.destroyed) return;
          res.writeHead(status, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          });
          res.end(body);
        };
        const respond = (): void => {
          if (parsed === null) return send(400, '');
          if (fault === 'error500') return send(500, '{"error":"internal"}');
          if (fault === 'garbage')
            return send(200, '<html><body>Service temporarily unavailable</body></html>');
          if (fault === 'wrong_types') {
            return send(
              200,
              JSON.stringify({
                id: parsed.id,
                seatbid: { bid: [{ id: '1', impid: parsed.imps[0]?.id, price: '1.50' }] },
              }),
            );
          }
          if (fault !== 'huge_adm' && fault !== 'trickle' && rand() >= b.bidRate) {
            st.noBids++;
            res.writeHead(204).end();
            return;
          }
          st.bids++;
          const bids = parsed.imps.map((imp, k) => ({
            id: `${name}-${k}`,
            impid: imp.id,
            price: Math.round(b.priceMedian * Math.exp(b.priceSigma * normal(rand)) * 1e4) / 1e4,
            adm: fault === 'huge_adm' ? HUGE_ADM : markupFor(imp.type, name),
            crid: `${name}-creative-${imp.type}`,
            adomain: [`${name}.example`],
            mtype: imp.type,
          }));
          const body = JSON.stringify({
            id: parsed.id,
            cur: b.currency,
            seatbid: [{ seat: name, bid: bids }],
          });
          if (fault === 'trickle') {
            res.writeHead(200, {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            });
            let pos = 0;
            const drip = (): void => {
              if (res.destroyed || pos >= body.length) return void res.end();
              res.write(body[pos++] as string);
              later(20, drip);
            };
            return drip();
          }
          send(200, body);
        };
        later(fault === 'timeout' ? b.slowMs : latency, respond);
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.basePort ? opts.basePort + i : 0, host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    servers.push(server);
    dsps.push({ name, port, url: `http://${host}:${port}/openrtb2/bid` });
  }

  return {
    dsps,
    setBehaviour(index, change) {
      const b = behaviours[index];
      if (b === undefined) throw new RangeError(`no DSP ${index}`);
      behaviours[index] = { ...b, ...change };
    },
    stats: (index) => ({ ...(stats[index] as DspStats) }),
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections(); // hung requests included
            }),
        ),
      );
    },
  };
}

function parseFaults(spec: string | undefined): Partial<Record<FaultKind, number>> {
  const out: Partial<Record<FaultKind, number>> = {};
  if (spec === undefined || spec === '') return out;
  for (const part of spec.split(',')) {
    const [k, p] = part.split(':');
    if (!FAULT_KINDS.includes(k as FaultKind)) {
      throw new Error(`unknown fault '${k ?? ''}' (one of ${FAULT_KINDS.join(', ')})`);
    }
    const prob = Number(p ?? '1');
    if (!(prob >= 0 && prob <= 1))
      throw new Error(`fault probability for ${k ?? ''} must be in [0, 1]`);
    out[k as FaultKind] = prob;
  }
  return out;
}

interface CliOptions {
  count: string;
  host: string;
  basePort: string;
  medianMs: string;
  sigma: string;
  bidRate: string;
  price: string;
  faults?: string;
  seed: string;
}

/** Adds `adstack dsp-sim` to the CLI. */
export function registerDspSimCommand(program: Command): void {
  program
    .command('dsp-sim')
    .description('Serve N simulated OpenRTB DSPs on loopback ports (for tests, benchmarks, demos)')
    .option('--count <n>', 'number of DSPs', '5')
    .option('--host <host>', 'address to listen on (loopback only is intended)', '127.0.0.1')
    .option('--base-port <port>', 'first port (0 = any free port)', '9100')
    .option('--median-ms <ms>', 'median latency', String(DEFAULT_BEHAVIOUR.medianMs))
    .option('--sigma <s>', 'lognormal sigma of the latency', String(DEFAULT_BEHAVIOUR.sigma))
    .option('--bid-rate <p>', 'probability of bidding', String(DEFAULT_BEHAVIOUR.bidRate))
    .option('--price <cpm>', 'median CPM price', String(DEFAULT_BEHAVIOUR.priceMedian))
    .option('--faults <list>', 'faults with probabilities, e.g. hang:0.05,error500:0.1')
    .option('--seed <n>', 'PRNG seed', '42')
    .action(async (o: CliOptions) => {
      const num = (name: string, v: string): number => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) {
          process.stderr.write(`adstack dsp-sim: --${name} must be a number ≥ 0\n`);
          process.exit(2);
        }
        return n;
      };
      let faults: Partial<Record<FaultKind, number>>;
      try {
        faults = parseFaults(o.faults);
      } catch (e) {
        process.stderr.write(`adstack dsp-sim: ${(e as Error).message}\n`);
        process.exit(2);
      }
      const sim = await startDspSimulator({
        count: Math.floor(num('count', o.count)),
        host: o.host,
        basePort: Math.floor(num('base-port', o.basePort)),
        seed: Math.floor(num('seed', o.seed)),
        behaviour: {
          medianMs: num('median-ms', o.medianMs),
          sigma: num('sigma', o.sigma),
          bidRate: Math.min(1, num('bid-rate', o.bidRate)),
          priceMedian: num('price', o.price),
          faults,
        },
      });
      process.stdout.write(`${JSON.stringify({ dsps: sim.dsps })}\n`);
      const stop = (): void => {
        void sim.close().then(() => process.exit(0));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
