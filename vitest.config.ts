import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    // Generous: nothing here asserts on time (benchmarks do), and on a loaded 2-core machine a
    // PGlite start or a GBDT training run can take several times its quiet-machine duration.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // PGlite instances are heavy (WASM PostgreSQL); keep concurrency modest on 2-core machines.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    pool: 'forks',
  },
});
