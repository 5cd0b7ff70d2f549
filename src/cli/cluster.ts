/**
 * `serve` with ADSTACK_WORKERS > 1: a node:cluster primary prepares the database once
 * (migrations, demo data), then forks the workers, which share the listening port. Ad servers
 * are stateless processes sharing PostgreSQL (DESIGN.md §2, scale-out story), so this needs
 * ADSTACK_DATABASE_URL: PGlite is one process's private database.
 *
 * The primary forwards SIGTERM/SIGINT to every worker, each of which drains and closes as a
 * single server does, and exits when all have exited. A worker that dies unexpectedly is
 * replaced (at most once a second), so one crash does not halve capacity for good.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/config.js';
import { seedDemo } from '../wiring/demo-data.js';
import { openStorage } from '../wiring/runtime.js';

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** Tells the primary this worker is listening. */
export function reportWorkerReady(address: string): void {
  process.send?.({ type: 'adstack:ready', address });
}

export async function runPrimary(
  cfg: Config,
  opts: { demo: boolean },
  say: (msg: string) => void,
): Promise<void> {
  const storage = await openStorage(cfg, say);
  if (opts.demo) {
    const n = await seedDemo(storage.store);
    if (n > 0) say(`Loaded the demo data set (${n} objects).`);
  }
  await storage.driver.close();
  if (cfg.adminKeyIsDefault)
    say(`WARNING: using the development admin key '${cfg.adminKey}'; set ADSTACK_ADMIN_KEY.`);
  if (cfg.trackingSecretIsDefault)
    say('WARNING: using the development tracking secret; set ADSTACK_TRACKING_SECRET.');

  let stopping = false;
  let lastRestartMs = 0;
  let ready = 0;
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('message', (m: { type?: string; address?: string }) => {
      if (m.type === 'adstack:ready' && ++ready === cfg.workers) {
        say(
          `adstack is ready: ${cfg.workers} workers on ${m.address ?? cfg.publicUrl} (storage: ${storage.describe})`,
        );
      }
    });
    return w;
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    say(`worker ${worker.process.pid} exited (${signal ?? code}); starting a replacement`);
    const wait = Math.max(0, lastRestartMs + 1000 - Date.now());
    setTimeout(() => {
      lastRestartMs = Date.now();
      fork();
    }, wait);
  });
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    say(`${signal} received: stopping ${cfg.workers} workers…`);
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < cfg.workers; i++) fork();
}
