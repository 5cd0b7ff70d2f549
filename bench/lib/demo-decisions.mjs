/**
 * The in-process decision setup of the decide() benchmarks: the demo data on in-memory PGlite, a
 * refreshed serving index and the DecisionService dependencies with memory frequency counters
 * and the default priors. Used by the `budget`, `resilience` and `ml-featurelog` benchmarks.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Imports a module of the build (`dist/`). */
export const loadDist = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);

/**
 * Returns `{ storage, deps, DecisionService, DEMO_REQUEST, systemClock }`; close
 * `storage.driver` after. `prepare(store)` runs after the demo data is seeded and before the
 * serving index is built (e.g. to change the demo campaigns).
 */
export async function demoDecisionSetup({ prepare } = {}) {
  const { openStorage } = await loadDist('wiring/runtime.js');
  const { seedDemo, DEMO_REQUEST } = await loadDist('wiring/demo-data.js');
  const { ServingIndex } = await loadDist('exchange/serving-index.js');
  const { TrackingSigner } = await loadDist('exchange/tracking.js');
  const { DecisionService } = await loadDist('exchange/decision.js');
  const { createMemoryFrequencyCounters } = await loadDist('adapters/memory/frequency-counters.js');
  const { systemClock } = await loadDist('adapters/memory/clock.js');
  const storage = await openStorage({ databaseUrl: null, dataDir: 'memory://' });
  try {
    await seedDemo(storage.store);
    if (prepare !== undefined) await prepare(storage.store);
    const index = new ServingIndex({ store: storage.store, nowMs: () => systemClock.nowMs() });
    await index.refresh();
    const deps = {
      index,
      signer: new TrackingSigner('bench-tracking-secret-0123456789'),
      clock: systemClock,
      frequency: createMemoryFrequencyCounters(),
      config: {
        publicUrl: 'http://ads.bench',
        trackingTtlMs: 86_400_000,
        priors: { ctr: 0.01, cvr: 0.05 },
        incrementMicros: 0,
      },
    };
    return { storage, deps, DecisionService, DEMO_REQUEST, systemClock };
  } catch (e) {
    await storage.driver.close();
    throw e;
  }
}
