/**
 * overload: what happens to `POST /v1/decisions` at 3× and 10× its saturation rate.
 *
 * Phases, all against one adstack server (demo data, PGlite) in a child process:
 *   1. saturation: closed loop with BENCH_CONNECTIONS (10) connections → S, the saturation
 *      throughput of 200s, and its p99;
 *   2. unloaded: open loop at 50% of S → the unloaded p99 of admitted requests;
 *   3. 3× and 10× S offered with many connections → goodput (200s per second, as a share of S),
 *      p99 of admitted (200) requests as a multiple of the unloaded p99, 429s, errors, RSS.
 * The same-run baseline is the server itself at saturation (phase 1).
 *
 * Caveat printed with the results: autocannon runs in this process on the same 2 shared cores,
 * so the offered rate it reaches is reported next to the rate asked for; at 10× it cannot
 * generate the full rate here, and the server shares the CPU with the load generator.
 *
 * Env: BENCH_DURATION_S (8), BENCH_CONNECTIONS (10).
 */
import autocannon from 'autocannon';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  cpuSeconds,
  envNumber,
  percentileSorted,
  round,
  rssMiB,
  stopNode,
  tail,
} from './lib/util.mjs';
import { startAdstack } from './lib/adstack-server.mjs';

export const name = 'overload';
export const description =
  'POST /v1/decisions at 3× and 10× saturation: goodput, admitted p99, 429s';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DURATION_S = envNumber('BENCH_DURATION_S', 8);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10, { integer: true });
export const timeoutMs = 120_000 + 6 * (DURATION_S + 20) * 1000;

async function run1(url, body, { seconds, connections, rate, signal, serverPid }) {
  const okLatencies = [];
  const statuses = {};
  const started = performance.now();
  const genCpu0 = process.cpuUsage();
  const serverCpu0 = serverPid === undefined ? null : cpuSeconds(serverPid);
  const instance = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
    timeout: 10,
    ...(rate !== undefined ? { overallRate: Math.max(1, Math.round(rate)) } : {}),
  });
  instance.on('response', (_c, status, _bytes, ms) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === 200) okLatencies.push(ms);
  });
  const onAbort = () => instance.stop();
  signal.addEventListener('abort', onAbort, { once: true });
  let result;
  try {
    result = await instance;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  signal.throwIfAborted();
  const elapsed = (performance.now() - started) / 1000;
  const genCpu = process.cpuUsage(genCpu0);
  const serverCpu1 = serverPid === undefined ? null : cpuSeconds(serverPid);
  okLatencies.sort((a, b) => a - b);
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    offeredRps: total / elapsed,
    goodputRps: okLatencies.length / elapsed,
    p99OkMs: percentileSorted(okLatencies, 0.99),
    p50OkMs: percentileSorted(okLatencies, 0.5),
    statuses,
    okRps: (statuses[200] ?? 0) / elapsed,
    shedRps: (statuses[429] ?? 0) / elapsed,
    errors: result.errors,
    timeouts: result.timeouts,
    // Cores used over the phase: the load generator (this process) and the server (child).
    generatorCores: (genCpu.user + genCpu.system) / 1e6 / elapsed,
    serverCores:
      serverCpu0 === null || serverCpu1 === null ? null : (serverCpu1 - serverCpu0) / elapsed,
  };
}

/**
 * What a 200 and a 429 cost the server: least squares (no intercept) of the server's cores per
 * phase against its 200s and 429s per second, over all phases. Microseconds of CPU each.
 */
function costPerResponse(phases) {
  const pts = phases.filter((p) => p.serverCores !== null);
  let xx = 0;
  let xy = 0;
  let yy = 0;
  let xc = 0;
  let yc = 0;
  for (const p of pts) {
    xx += p.okRps * p.okRps;
    xy += p.okRps * p.shedRps;
    yy += p.shedRps * p.shedRps;
    xc += p.okRps * p.serverCores;
    yc += p.shedRps * p.serverCores;
  }
  const det = xx * yy - xy * xy;
  if (pts.length < 2 || det === 0) return null;
  return {
    okUs: round(((xc * yy - yc * xy) / det) * 1e6, 1),
    shedUs: round(((yc * xx - xc * xy) / det) * 1e6, 1),
  };
}

export async function run({ signal, log }) {
  const { DEMO_REQUEST } = await import(
    pathToFileURL(path.join(root, 'dist/wiring/demo-data.js')).href
  );
  const body = JSON.stringify(DEMO_REQUEST);
  const adstack = await startAdstack({
    signal,
    timeoutMs: 120_000,
    tmpPrefix: 'adstack-overload-',
  });
  const { proc, dataDir, base } = adstack;
  const url = `${base}/v1/decisions`;
  try {
    log('warm-up');
    await run1(url, body, { seconds: 2, connections: CONNECTIONS, signal });
    log('saturation');
    const pid = proc.child.pid;
    const sat = await run1(url, body, {
      seconds: DURATION_S,
      connections: CONNECTIONS,
      signal,
      serverPid: pid,
    });
    const S = sat.goodputRps;
    log(`unloaded (50% of ${Math.round(S)}/s)`);
    const unloaded = await run1(url, body, {
      seconds: DURATION_S,
      connections: CONNECTIONS,
      rate: 0.5 * S,
      signal,
      serverPid: pid,
    });
    const phases = {};
    const raw = [sat, unloaded];
    for (const [label, factor, connections] of [
      ['3x', 3, 300],
      ['10x', 10, 1000],
    ]) {
      log(`${label} (${Math.round(factor * S)}/s asked, ${connections} connections)`);
      const r = await run1(url, body, {
        seconds: DURATION_S,
        connections,
        rate: factor * S,
        signal,
        serverPid: pid,
      });
      raw.push(r);
      phases[label] = {
        askedRps: round(factor * S, 0),
        offeredRps: round(r.offeredRps, 0),
        goodputRps: round(r.goodputRps, 0),
        goodputShareOfSaturation: round(r.goodputRps / S, 3),
        admittedP99Ms: round(r.p99OkMs, 3),
        admittedP99VsUnloaded: round(r.p99OkMs / unloaded.p99OkMs, 2),
        statuses: r.statuses,
        errors: r.errors,
        timeouts: r.timeouts,
        serverCores: round(r.serverCores, 2),
        generatorCores: round(r.generatorCores, 2),
        serverRssMiB: rssMiB(proc.child.pid),
      };
    }
    const ready = await fetch(`${base}/readyz`)
      .then((r) => r.status)
      .catch(() => 'no answer');
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    const shed = [...metrics.matchAll(/^adstack_shed_total\{reason="(\w+)"\} (\d+)/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    const warnings = proc.output.lines.filter((l) => /"level":(40|50|60)/.test(l.line)).length;
    return {
      loadAverage: os.loadavg().map((x) => round(x, 2)),
      saturation: {
        rps: round(S, 0),
        p99Ms: round(sat.p99OkMs, 3),
        serverCores: round(sat.serverCores, 2),
        generatorCores: round(sat.generatorCores, 2),
      },
      unloaded: {
        rps: round(unloaded.goodputRps, 0),
        p99Ms: round(unloaded.p99OkMs, 3),
        serverCores: round(unloaded.serverCores, 2),
        generatorCores: round(unloaded.generatorCores, 2),
      },
      ...phases,
      serverCpuUsPerResponse: costPerResponse(raw),
      shedTotals: Object.fromEntries(shed),
      readyzAfter: ready,
      serverAlive: proc.child.exitCode === null,
      serverWarnOrWorseLines: warnings,
    };
  } catch (e) {
    log(tail(proc.output));
    throw e;
  } finally {
    await stopNode(proc);
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function table(r) {
  const rows = [
    { phase: 'saturation (baseline)', rps: r.saturation.rps, 'p99 ms (200s)': r.saturation.p99Ms },
    { phase: 'unloaded 50%', rps: r.unloaded.rps, 'p99 ms (200s)': r.unloaded.p99Ms },
  ];
  for (const k of ['3x', '10x']) {
    const p = r[k];
    rows.push({
      phase: `${k}: asked ${p.askedRps}/s, offered ${p.offeredRps}/s`,
      rps: p.goodputRps,
      'goodput/sat': p.goodputShareOfSaturation,
      'p99 ms (200s)': p.admittedP99Ms,
      'p99/unloaded': p.admittedP99VsUnloaded,
      statuses: JSON.stringify(p.statuses),
      rssMiB: p.serverRssMiB,
      'cores server/gen': `${p.serverCores}/${p.generatorCores}`,
    });
  }
  return {
    rows,
    notes: [
      `load average at the end: ${JSON.stringify(r.loadAverage)}; saturation cores server/gen: ${r.saturation.serverCores}/${r.saturation.generatorCores}`,
      `server CPU per response (least squares over the phases): ${JSON.stringify(r.serverCpuUsPerResponse)} µs`,
      `shed: ${JSON.stringify(r.shedTotals)}; readyz after: ${r.readyzAfter}; alive: ${r.serverAlive}`,
    ],
  };
}
