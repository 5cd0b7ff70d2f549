/** The real composition root on an in-memory PGlite with the demo data and a fake clock. */
import { loadConfig } from '../../src/config/config.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/wiring/runtime.js';
import { FakeClock } from './fake-clock.js';

export const ADMIN_KEY = 'test-admin-key-0123456789';

export interface TestRuntime extends Runtime {
  clock: FakeClock;
}

export async function startTestRuntime(
  env: Record<string, string> = {},
  opts: Pick<RuntimeOptions, 'loadShed' | 'tracing' | 'rtb'> = {},
): Promise<TestRuntime> {
  const clock = new FakeClock();
  const config = loadConfig({
    ADSTACK_DATA_DIR: 'memory://',
    ADSTACK_PORT: '0',
    ADSTACK_PUBLIC_URL: 'http://ads.test',
    ADSTACK_ADMIN_KEY: ADMIN_KEY,
    ADSTACK_TRACKING_SECRET: 'test-tracking-secret-0123456789',
    // The decision deadline cuts a slow Redis read after 10 ms in production; on a shared test
    // machine a round trip can take longer, so tests not about deadlines get generous budgets
    // (test/http/resilience.test.ts sets its own).
    ADSTACK_DECISION_BUDGET_MS: '10000',
    ADSTACK_FREQUENCY_BUDGET_MS: '10000',
    ADSTACK_PROFILE_BUDGET_MS: '10000',
    ...env,
  });
  // Test files run in parallel on small shared machines: CPU contention between them must not
  // make the load shedder refuse requests in tests that are not about shedding, so utilisation
  // is pinned at 0 unless a test sets it (test/http/load-shed.test.ts does).
  const rt = await createRuntime(config, {
    demo: true,
    clock,
    loadShed: { utilization: () => 0 },
    ...opts,
  });
  return Object.assign(rt, { clock });
}

/** Path and query of an absolute tracking URL, for app.inject(). */
export function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}
