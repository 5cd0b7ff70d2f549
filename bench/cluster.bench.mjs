/**
 * cluster: `POST /v1/decisions` with ADSTACK_WORKERS=2 (node:cluster, src/cli/cluster.ts) against
 * one worker, closed loop, in alternating rounds (1, 2, 1, 2 …). The same-run baseline is the
 * one-worker server. Several workers need PostgreSQL (PGlite is one process's database): each
 * round gets a fresh database `adstack_bench_cluster_<pid>` on BENCH_PG_ADMIN_URL's server,
 * dropped afterwards. Reported per round: 2xx/s, non-2xx, p99 and the cores the server's whole
 * process tree used (primary + workers, from /proc), so a "scaling" that the machine could not
 * give (other load on the cores) is visible as such.
 *
 * Env: BENCH_DURATION_S (8), BENCH_CONNECTIONS (10), BENCH_ROUNDS (2 pairs),
 * BENCH_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/test).
 */
import autocannon from 'autocannon';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { cpuSeconds, envNumber, median, round, stopNode } from './lib/util.mjs';
import { startAdstack } from './lib/adstack-server.mjs';

export const name = 'cluster';
export const description = 'POST /v1/decisions with 2 node:cluster workers vs 1 (PostgreSQL)';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DURATION_S = envNumber('BENCH_DURATION_S', 8);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10, { integer: true });
const ROUNDS = envNumber('BENCH_ROUNDS', 2, { integer: true });
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const timeoutMs = 60_000 + ROUNDS * 2 * (DURATION_S + 60) * 1000;

/** A process and all its descendants (the cluster primary forks the workers). */
function processTree(pid) {
  const children = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid)
        children.push(Number(d));
    } catch {
      // the process ended while listing
    }
  }
  return [pid, ...children.flatMap((c) => processTree(c))];
}

const treeCpu = (pid) => processTree(pid).reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0);

async function withAdminDb(fn) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function round1(workers, body, signal) {
  const db = `adstack_bench_cluster_${process.pid}`;
  await withAdminDb(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${db}`);
    await c.query(`CREATE DATABASE ${db}`);
  });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${db}`;
  const server = await startAdstack({
    signal,
    timeoutMs: 120_000,
    tmpPrefix: 'adstack-cluster-',
    env: { ADSTACK_WORKERS: String(workers), ADSTACK_DATABASE_URL: url.toString() },
  });
  try {
    const opts = {
      url: `${server.base}/v1/decisions`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections: CONNECTIONS,
    };
    await autocannon({ ...opts, duration: 2 });
    signal.throwIfAborted();
    const load0 = os.loadavg()[0];
    const cpu0 = treeCpu(server.proc.child.pid);
    const t0 = performance.now();
    const r = await autocannon({ ...opts, duration: DURATION_S });
    const elapsed = (performance.now() - t0) / 1000;
    const cores = (treeCpu(server.proc.child.pid) - cpu0) / elapsed;
    return {
      workers,
      rps2xx: round((r['2xx'] ?? 0) / elapsed, 0),
      non2xx: r.non2xx,
      p99Ms: r.latency.p99,
      serverCores: round(cores, 2),
      loadAverage: [round(load0, 1), round(os.loadavg()[0], 1)],
    };
  } finally {
    await stopNode(server.proc);
    await withAdminDb((c) => c.query(`DROP DATABASE IF EXISTS ${db}`));
  }
}

export async function run({ signal, log }) {
  const { DEMO_REQUEST } = await import(
    pathToFileURL(path.join(root, 'dist/wiring/demo-data.js')).href
  );
  const body = JSON.stringify(DEMO_REQUEST);
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const workers of [1, 2]) {
      log(`round ${i + 1}: ${workers} worker(s)`);
      rounds.push(await round1(workers, body, signal));
    }
  }
  const ratios = [];
  for (let i = 0; i + 1 < rounds.length; i += 2) {
    const one = rounds[i];
    const two = rounds[i + 1];
    if (one !== undefined && two !== undefined && one.rps2xx > 0)
      ratios.push(two.rps2xx / one.rps2xx);
  }
  return {
    rounds,
    scalingPerRound: ratios.map((r) => round(r, 2)),
    medianScaling: round(median(ratios), 2),
  };
}

export function table(r) {
  return {
    rows: r.rounds.map((x) => ({
      workers: x.workers,
      '2xx/s': x.rps2xx,
      non2xx: x.non2xx,
      'p99 ms': x.p99Ms,
      'server cores': x.serverCores,
      'load avg': x.loadAverage.join(' → '),
    })),
    notes: [
      `2 workers / 1 worker per round: ${r.scalingPerRound.join(', ')}; median ${r.medianScaling}`,
    ],
  };
}
