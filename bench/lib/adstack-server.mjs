/**
 * Starts the built adstack server (`dist/cli/main.js serve --demo`) in a child process on a free
 * port with a fresh PGlite data folder, and waits for /readyz. Shared by every benchmark that
 * measures the server, so they all measure the same documented configuration.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, startNode, stopNode, waitForHttp } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
// Budgets far above anything a run can spend ($1M a day): leases, reservations and the budget
// check stay on the decision path, but no run ends in `budget_exhausted` no-fills (the demo's
// $20–100 daily budgets are spent in seconds at saturation, after which every decision is a
// cheaper 204 and the benchmark would measure no-fills).
const BENCH_DAILY_BUDGET_MICROS = 1_000_000_000_000;

/**
 * Raises every demo campaign's budgets to BENCH_DAILY_BUDGET_MICROS (lifetime: 10×) with `asap`
 * pacing (even pacing would throttle a day's spend rate reached in seconds), then waits until
 * the demo request fills again (the leases are re-synced after the catalog change).
 */
async function unlimitDemoBudgets(base, signal) {
  const headers = { 'x-api-key': BENCH_ADMIN_KEY, 'content-type': 'application/json' };
  const list = await fetch(`${base}/v1/admin/campaigns?limit=100`, { headers, signal });
  if (!list.ok) throw new Error(`listing campaigns: HTTP ${list.status}`);
  const body = await list.json();
  const campaigns = Array.isArray(body) ? body : (body.data ?? body.items ?? []);
  for (const c of campaigns) {
    const patch = { pacing: 'asap' };
    if (c.daily_budget_micros !== null) patch.daily_budget_micros = BENCH_DAILY_BUDGET_MICROS;
    if (c.lifetime_budget_micros !== null)
      patch.lifetime_budget_micros = 10 * BENCH_DAILY_BUDGET_MICROS;
    const res = await fetch(`${base}/v1/admin/campaigns/${c.id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify(patch),
      signal,
    });
    if (!res.ok)
      throw new Error(`raising ${c.id}'s budget: HTTP ${res.status} ${await res.text()}`);
  }
  if (campaigns.length === 0) throw new Error('no demo campaigns listed');
  const { DEMO_REQUEST } = await import(
    pathToFileURL(path.join(root, 'dist/wiring/demo-data.js')).href
  );
  for (let i = 0; ; i++) {
    const res = await fetch(`${base}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(DEMO_REQUEST),
      signal,
    });
    await res.arrayBuffer();
    if (res.status === 200) return;
    if (i >= 100)
      throw new Error(`the demo request does not fill after raising budgets (${res.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Returns { proc, dataDir, base, startupS }; the caller stops `proc` and removes `dataDir`.
 * `env` adds ADSTACK_* settings on top of the documented configuration.
 * On failure it cleans up itself, since the caller never gets a handle.
 */
export async function startAdstack({ signal, timeoutMs, tmpPrefix = 'adstack-bench-', env = {} }) {
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), tmpPrefix));
  // BENCH_SERVER_NODE_ARGS: extra node flags for the server only, e.g. `--cpu-prof
  // --cpu-prof-dir=/tmp/prof` (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const main = path.join(root, 'dist/cli/main.js');
  const proc = startNode('adstack', [...nodeArgs, main, 'serve', '--demo'], {
    cwd: root,
    env: {
      // Inherited ADSTACK_* settings (a DATABASE_URL, a REDIS_URL…) would silently change what is
      // measured, so the server gets exactly the documented configuration.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ADSTACK_'))),
      ADSTACK_PORT: String(port),
      ADSTACK_DATA_DIR: dataDir,
      ADSTACK_LOG_LEVEL: 'warn',
      // `serve --demo` would also start simulated DSPs; the decision route does not use them.
      ADSTACK_DEMO_DSPS: '0',
      ADSTACK_ADMIN_KEY: BENCH_ADMIN_KEY,
      // Extra settings of a benchmark (e.g. ADSTACK_WORKERS with ADSTACK_DATABASE_URL).
      ...env,
    },
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    const startupS = await waitForHttp(`${base}/readyz`, { proc, timeoutMs, signal });
    await unlimitDemoBudgets(base, signal);
    return { proc, dataDir, base, startupS };
  } catch (e) {
    await stopNode(proc);
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}
